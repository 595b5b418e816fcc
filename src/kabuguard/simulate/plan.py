"""One day of legitimate activity as time-sorted numpy arrays, before any text.

Login steps, orders, fills, cancellations, logouts, withdrawals and the rare actions (payout,
credential and contact changes) each form a track sorted by time. The renderer takes each
track's slice for the current five-minute window, so the day's events never all exist as
text at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from kabuguard.simulate.accounts import Accounts
from kabuguard.simulate.clock import Calendar
from kabuguard.simulate.episodes import Episodes, SessionKind
from kabuguard.simulate.ids import Space, mix_array
from kabuguard.simulate.market import DayPrices
from kabuguard.simulate.population import LoginFactor, Population
from kabuguard.simulate.sessions import LOGIN_STEPS_SECONDS, SessionPlanner, Sessions
from kabuguard.simulate.trading import NOT_YET, OrderPlanner, Orders

WITHDRAWAL_SHARE = 0.01  # of ordinary sessions
CONTACT_CHANGE_SHARE = 0.002
LOGOUT_SHARE = 0.7  # the rest time out
TYPO_PER_256 = 13  # about 5 % of logins start with a mistyped password

I64 = npt.NDArray[np.int64]


class LoginStep(IntEnum):
    MISTYPED = 0  # password, failure
    PASSWORD = 1
    PASSKEY = 2
    SECOND_FACTOR = 3


class Item(IntEnum):
    """Rare customer actions, rendered one by one."""

    PAYOUT = 0
    CREDENTIAL = 1
    CONTACT = 2


@dataclass(frozen=True, slots=True)
class Track:
    """Things of one kind to render, sorted by time; `ref` points into sessions or orders."""

    time: I64
    ref: I64
    kind: npt.NDArray[np.uint8]


def _track(time: I64, ref: I64, kind: npt.NDArray[np.uint8] | None = None) -> Track:
    order = np.argsort(time, kind="stable")
    kinds = np.zeros(len(time), dtype=np.uint8) if kind is None else kind[order]
    return Track(time[order], ref[order].astype(np.int64), kinds)


@dataclass(frozen=True, slots=True)
class Withdrawals:
    session: I64
    amount: I64
    key: npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True)
class DayPlan:
    sessions: Sessions
    orders: Orders
    withdrawals: Withdrawals
    logins: Track  # LoginStep kinds
    order_times: Track
    fills: Track  # executions, by fill time
    cancels: Track
    logouts: Track
    withdrawal_times: Track
    rare: Track  # Item kinds


@dataclass(frozen=True, slots=True)
class DayPlanner:
    calendar: Calendar
    population: Population
    accounts: Accounts
    orders: OrderPlanner
    seed: int

    def plan(self, day: int, prices: DayPrices, holdings_yen: npt.NDArray[np.float64]) -> DayPlan:
        rng = np.random.default_rng([self.seed, 4, day])
        trading = self.calendar.is_trading_day(day)
        forced = Episodes(day, trading, self.population, self.accounts, rng).live(holdings_yen)
        sessions = SessionPlanner(day, trading, self.population, self.accounts, rng).plan(forced)
        orders = self.orders.plan(day, sessions, prices, rng)
        withdrawals, withdrawal_times = self._withdrawals(day, sessions, rng)
        everyone = np.arange(len(sessions.start))
        filled = orders.fill_at != NOT_YET
        leaving = everyone[rng.random(len(everyone)) < LOGOUT_SHARE]
        return DayPlan(
            sessions=sessions,
            orders=orders,
            withdrawals=withdrawals,
            logins=_login_steps(sessions, self.population.factor[sessions.customer]),
            order_times=_track(orders.time, np.arange(len(orders.time))),
            fills=_track(orders.fill_at[filled], np.flatnonzero(filled)),
            cancels=_track(orders.cancel_at[~filled], np.flatnonzero(~filled)),
            logouts=_track(sessions.end[leaving], leaving),
            withdrawal_times=_track(withdrawal_times, np.arange(len(withdrawal_times))),
            rare=self._rare(sessions, rng),
        )

    def _withdrawals(
        self, day: int, sessions: Sessions, rng: np.random.Generator
    ) -> tuple[Withdrawals, I64]:
        """Occasional withdrawals to the registered account, and the episodes' follow-ups."""
        cash = self.accounts.cash
        kind, customer = sessions.kind, sessions.customer
        moving_today = np.isin(customer, customer[kind == SessionKind.BANK_MOVE])
        regular = (kind == SessionKind.REGULAR) & ~moving_today
        ordinary = regular & (rng.random(len(kind)) < WITHDRAWAL_SHARE)
        follow_up = (kind == SessionKind.BANK_MOVE_WITHDRAWAL) | (
            kind == SessionKind.HOUSE_SALE_WITHDRAWAL
        )
        share = rng.uniform(0.1, 0.5, len(kind))
        wanted = np.where(follow_up, sessions.amount, cash[customer] * share)
        session = np.flatnonzero(ordinary | follow_up)
        amount = np.minimum(wanted[session], cash[customer[session]]) // 1000 * 1000
        session, amount = session[amount >= 1000], amount[amount >= 1000].astype(np.int64)
        np.subtract.at(cash, customer[session], amount)
        np.maximum(cash, 0, out=cash)
        counters = (day << 32) + np.arange(len(session), dtype=np.int64)
        withdrawals = Withdrawals(session, amount, mix_array(Space.WITHDRAWAL, counters))
        return withdrawals, _during(sessions, session, 0.7)

    def _rare(self, sessions: Sessions, rng: np.random.Generator) -> Track:
        """A bank move's payout change, a new phone's passkey or TOTP, an e-mail change."""
        factor = self.population.factor[sessions.customer]
        moving = np.flatnonzero(sessions.kind == SessionKind.BANK_MOVE)
        enrolling = np.flatnonzero(
            (sessions.kind == SessionKind.NEW_PHONE)
            & np.isin(factor, (LoginFactor.PASSKEY, LoginFactor.TOTP))
        )
        regular = sessions.kind == SessionKind.REGULAR
        changing = np.flatnonzero(regular & (rng.random(len(regular)) < CONTACT_CHANGE_SHARE))
        parts = (
            (moving, Item.PAYOUT, 0.5),
            (enrolling, Item.CREDENTIAL, 0.4),
            (changing, Item.CONTACT, 0.6),
        )
        return _track(
            np.concatenate([_during(sessions, who, share) for who, _, share in parts]),
            np.concatenate([who for who, _, _ in parts]),
            np.concatenate([np.full(len(who), kind, dtype=np.uint8) for who, kind, _ in parts]),
        )


def _login_steps(sessions: Sessions, factor: npt.NDArray[np.uint8]) -> Track:
    """Every login step of the day; the session id's bits decide typos and delays."""
    key, start = sessions.key, sessions.start
    everyone = np.arange(len(start))
    passkey = factor == LoginFactor.PASSKEY
    typo = ((key & np.uint64(0xFF)) < TYPO_PER_256) & ~passkey
    retyped = 4 + (key >> np.uint64(8) & np.uint64(0xF)).astype(np.int64)
    entered = start + np.where(typo, retyped, 0)
    second = (factor != LoginFactor.NONE) & ~passkey
    coded = entered + 8 + (key >> np.uint64(12) & np.uint64(0xF)).astype(np.int64)
    steps = (
        (typo, start, LoginStep.MISTYPED),
        (~passkey, entered, LoginStep.PASSWORD),
        (passkey, entered, LoginStep.PASSKEY),
        (second, coded, LoginStep.SECOND_FACTOR),
    )
    return _track(
        np.concatenate([times[chosen] for chosen, times, _ in steps]),
        np.concatenate([everyone[chosen] for chosen, _, _ in steps]),
        np.concatenate(
            [np.full(int(chosen.sum()), step, dtype=np.uint8) for chosen, _, step in steps]
        ),
    )


def _during(sessions: Sessions, which: I64, share: float) -> I64:
    """A time `share` of the way through each session, once the login is done."""
    start, end = sessions.start[which], sessions.end[which]
    offset = LOGIN_STEPS_SECONDS + ((end - start) * share).astype(np.int64)
    during: I64 = np.minimum(start + offset, end - 1)
    return during

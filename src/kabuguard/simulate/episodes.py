"""Legitimate life events that look like an attack and must not be flagged.

Each day, per customer, with small probabilities: a trip abroad starts, a new phone arrives,
the customer moves banks (payout change, then a withdrawal days later) or sells everything to
buy a house (large sells, then a withdrawal of the proceeds once settled). The day's forced
sessions are returned; the state lives in Accounts. Rates are assumptions, stated in
docs/simulation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from kabuguard.simulate.accounts import NO_DAY, Accounts, FollowUp
from kabuguard.simulate.devices import user_agents
from kabuguard.simulate.ippools import pools
from kabuguard.simulate.networks import TRAVEL
from kabuguard.simulate.population import Population, bank_accounts

TRIP_PER_DAY = 1 / 730  # a trip abroad every two years
TRIP_DAYS = (3, 14)
NEW_PHONE_PER_DAY = 1 / (3 * 365)
NEW_PHONE_DAYS = 7  # sessions on the new phone count as "new_phone" for a week
BANK_MOVE_PER_DAY = 1 / (10 * 365)
BANK_MOVE_WAIT_DAYS = (3, 10)
HOUSE_SALE_PER_DAY = 1 / (30 * 365)
HOUSE_SALE_MIN_YEN = 5_000_000
SETTLEMENT_WAIT_DAYS = (3, 7)
HOME_ADDRESS_CHANGE_PER_DAY = 1 / 45  # fixed-line addresses are leased, not static

I64 = npt.NDArray[np.int64]


class SessionKind(IntEnum):
    REGULAR = 0
    DAY_OPEN = 1  # a day trader's session from before the open to the lunch break
    DAY_AFTERNOON = 2
    NEW_PHONE = 3
    BANK_MOVE = 4
    HOUSE_SALE = 5
    BANK_MOVE_WITHDRAWAL = 6
    HOUSE_SALE_WITHDRAWAL = 7


@dataclass(frozen=True, slots=True)
class Forced:
    """Sessions that today's episodes require, one per entry."""

    customer: I64
    kind: npt.NDArray[np.uint8]
    amount: I64  # withdrawals only


@dataclass(frozen=True, slots=True)
class Episodes:
    day: int
    trading: bool
    population: Population
    accounts: Accounts
    rng: np.random.Generator

    def live(self, holdings_yen: npt.NDArray[np.float64]) -> Forced:
        """Start and finish today's episodes; return the sessions they need."""
        draw = self.rng.random((5, self.population.size))
        self._start_trips(draw[0] < TRIP_PER_DAY)
        new_phone = np.flatnonzero(draw[1] < NEW_PHONE_PER_DAY)
        self._new_phones(new_phone)
        idle = self.accounts.follow_up_day == NO_DAY
        moving = np.flatnonzero(idle & (draw[2] < BANK_MOVE_PER_DAY))
        self._move_banks(moving)
        idle = self.accounts.follow_up_day == NO_DAY  # not moving banks today either
        rich = holdings_yen >= HOUSE_SALE_MIN_YEN
        selling = np.flatnonzero(self.trading & idle & rich & (draw[3] < HOUSE_SALE_PER_DAY))
        self._sell_houses(selling, holdings_yen)
        due = np.flatnonzero(self.accounts.follow_up_day == self.day)
        banks = self.accounts.follow_up[due] == FollowUp.BANK_MOVE_WITHDRAWAL
        due_kind = np.where(
            banks, SessionKind.BANK_MOVE_WITHDRAWAL, SessionKind.HOUSE_SALE_WITHDRAWAL
        )
        amount = self.accounts.follow_up_amount[due].copy()
        self.accounts.follow_up_day[due] = NO_DAY
        self._relocate_homes(draw[4] < HOME_ADDRESS_CHANGE_PER_DAY)
        started = (
            (new_phone, SessionKind.NEW_PHONE),
            (moving, SessionKind.BANK_MOVE),
            (selling, SessionKind.HOUSE_SALE),
        )
        kinds = [np.full(len(who), kind, dtype=np.uint8) for who, kind in started]
        return Forced(
            customer=np.concatenate([who for who, _ in started] + [due]).astype(np.int64),
            kind=np.concatenate([*kinds, due_kind.astype(np.uint8)]),
            amount=np.concatenate([np.zeros(sum(len(k) for k in kinds), dtype=np.int64), amount]),
        )

    def _start_trips(self, starting: npt.NDArray[np.bool_]) -> None:
        leaving = np.flatnonzero(starting & (self.accounts.travel_until < self.day))
        length = self.rng.integers(TRIP_DAYS[0], TRIP_DAYS[1] + 1, len(leaving))
        self.accounts.travel_until[leaving] = self.day + length
        self.accounts.travel_network[leaving] = self.rng.choice(TRAVEL, len(leaving))

    def _new_phones(self, who: I64) -> None:
        agents = len(user_agents().mobile)
        step = self.rng.integers(1, agents, len(who))  # a different model or browser version
        self.accounts.phone_agent[who] = (self.accounts.phone_agent[who] + step) % agents
        self.accounts.phone_generation[who] += 1
        self.accounts.new_phone_until[who] = self.day + NEW_PHONE_DAYS - 1

    def _move_banks(self, who: I64) -> None:
        accounts = self.accounts
        accounts.bank[who], accounts.branch[who], accounts.account_number[who] = bank_accounts(
            self.rng, len(who)
        )
        accounts.payout_generation[who] += 1
        self._follow_up(who, FollowUp.BANK_MOVE_WITHDRAWAL, BANK_MOVE_WAIT_DAYS)
        share = self.rng.uniform(0.3, 0.9, len(who))
        withdrawn = (accounts.cash[who] * share // 1000 * 1000).astype(np.int64)
        accounts.follow_up_amount[who] = np.maximum(1000, withdrawn)

    def _sell_houses(self, who: I64, holdings_yen: npt.NDArray[np.float64]) -> None:
        self._follow_up(who, FollowUp.HOUSE_SALE_WITHDRAWAL, SETTLEMENT_WAIT_DAYS)
        proceeds = holdings_yen[who] + self.accounts.cash[who] // 2
        self.accounts.follow_up_amount[who] = proceeds.astype(np.int64)

    def _follow_up(self, who: I64, follow_up: FollowUp, wait: tuple[int, int]) -> None:
        self.accounts.follow_up_day[who] = self.day + self.rng.integers(
            wait[0], wait[1] + 1, len(who)
        )
        self.accounts.follow_up[who] = follow_up

    def _relocate_homes(self, changing: npt.NDArray[np.bool_]) -> None:
        who = np.flatnonzero(changing)
        networks = self.population.home_network[who]
        self.accounts.home_address[who] = pools().sample(networks, self.rng.random(len(who)))

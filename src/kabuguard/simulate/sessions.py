"""Which customers log in today, when, on which device and from which network address.

Vectorised over the whole population: a day's sessions are a handful of numpy arrays. The
network rules carry the legitimate behaviours: travellers connect from abroad, office workers
through their employer's shared proxy, VPN users through VPN exits, phones on mobile data get
a fresh carrier address per session (and sometimes a second one mid-session), everyone else
comes from their leased home address.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kabuguard.labels import LegitTag
from kabuguard.simulate.accounts import Accounts
from kabuguard.simulate.clock import DAY, HOUR, MINUTE
from kabuguard.simulate.episodes import Forced, SessionKind
from kabuguard.simulate.ids import Space, mix_array
from kabuguard.simulate.ippools import pools
from kabuguard.simulate.labels import TAG_CODE
from kabuguard.simulate.population import Population, Style

# Relative login activity by hour of day (JST): commute, market hours, lunch, evening.
_WEEKDAY_HOURS = (0.5, 0.3, 0.2, 0.1, 0.1, 0.3, 1.2, 2.2, 2.5, 3.0, 2.5, 2.5,
                  3.2, 2.3, 2.2, 2.2, 1.5, 1.5, 2.5, 3.5, 4.0, 4.0, 3.2, 1.5)  # fmt: skip
_WEEKEND_HOURS = (0.6, 0.4, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.8, 2.5, 2.8, 2.8,
                  2.5, 2.5, 2.5, 2.5, 2.2, 2.0, 2.2, 3.0, 3.5, 3.5, 2.8, 1.5)  # fmt: skip
WEEKDAY_FACTOR, WEEKEND_FACTOR = 1.2, 0.5  # 5 x 1.2 + 2 x 0.5 = 7: the yearly rate holds
TRAVEL_ACTIVITY = 0.6
DAY_TRADER_AFTERNOON = 0.6
DAY_TRADER_WEEKEND_SESSIONS = 0.3
SESSION_MEDIAN_SECONDS, SESSION_SIGMA = 300, 0.8
PHONE_IF_MOBILE_FIRST, PHONE_OTHERWISE, PHONE_DAY_TRADER = 0.85, 0.2, 0.15
ON_MOBILE_DATA = 0.55  # a phone session not on home Wi-Fi
CARRIER_CHURN = 0.25  # of mobile-data sessions: the carrier moves the address mid-session
OFFICE_HOURS = (9, 18)
OFFICE_USE, VPN_USE = 0.7, 0.7
LOGIN_STEPS_SECONDS = 45  # nothing else happens in a session before its login is done
NEVER = np.iinfo(np.int64).max

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Sessions:
    customer: I64
    kind: npt.NDArray[np.uint8]
    start: I64
    end: I64
    phone: Mask
    app: Mask
    address: npt.NDArray[np.uint32]
    churn_address: npt.NDArray[np.uint32]  # 0: the address does not change
    churn_at: I64  # NEVER without churn
    tag: npt.NDArray[np.uint8]  # labels.TAG_CODES
    key: npt.NDArray[np.uint64]
    amount: I64  # follow-up withdrawals only


@dataclass(frozen=True, slots=True)
class SessionPlanner:
    day: int
    trading: bool
    population: Population
    accounts: Accounts
    rng: np.random.Generator

    def plan(self, forced: Forced) -> Sessions:
        customer, kind = self._who(forced)
        count = len(customer)
        amount = np.zeros(count, dtype=np.int64)
        amount[count - len(forced.customer) :] = forced.amount
        start_of_day = self._start_times(kind)
        start = self.day * DAY + start_of_day
        duration = self._durations(kind, start_of_day)
        phone = self._phones(kind, self.population.mobile_first[customer])
        address, churn_address, churn_after, network_tag = self._networks(
            customer, phone, start_of_day // HOUR, duration
        )
        return Sessions(
            customer=customer,
            kind=kind,
            start=start,
            end=start + duration,
            phone=phone,
            app=phone & self.population.app_user[customer],
            address=address,
            churn_address=churn_address,
            churn_at=np.where(churn_address > 0, start + churn_after, NEVER),
            tag=self._tags(kind, phone, customer, network_tag),
            key=mix_array(Space.SESSION, (self.day << 32) + np.arange(count, dtype=np.int64)),
            amount=amount,
        )

    def _who(self, forced: Forced) -> tuple[I64, npt.NDArray[np.uint8]]:
        """Regular sessions by each customer's login rate, day traders', the episodes'."""
        population, rng = self.population, self.rng
        factor = WEEKDAY_FACTOR if self.trading else WEEKEND_FACTOR
        rate = population.logins_per_year / 365 * factor
        rate = np.where(self.accounts.travel_until >= self.day, rate * TRAVEL_ACTIVITY, rate)
        day_trader = population.style == Style.DAY_TRADER
        rate = np.where(day_trader, 0.0 if self.trading else DAY_TRADER_WEEKEND_SESSIONS, rate)
        regular = np.repeat(np.arange(population.size), rng.poisson(rate))
        traders = np.flatnonzero(day_trader) if self.trading else np.empty(0, dtype=np.int64)
        afternoon = traders[rng.random(len(traders)) < DAY_TRADER_AFTERNOON]
        parts = (
            (regular, SessionKind.REGULAR),
            (traders, SessionKind.DAY_OPEN),
            (afternoon, SessionKind.DAY_AFTERNOON),
        )
        customer = np.concatenate([p for p, _ in parts] + [forced.customer]).astype(np.int64)
        kinds = [np.full(len(p), k, dtype=np.uint8) for p, k in parts]
        return customer, np.concatenate([*kinds, forced.kind])

    def _start_times(self, kind: npt.NDArray[np.uint8]) -> I64:
        rng, count = self.rng, len(kind)
        weights = np.array(_WEEKDAY_HOURS if self.trading else _WEEKEND_HOURS)
        hour = rng.choice(24, count, p=weights / weights.sum())
        start = hour * HOUR + rng.integers(0, HOUR, count)
        opening = 8 * HOUR + 40 * MINUTE + rng.integers(0, 25 * MINUTE, count)
        afternoon = 12 * HOUR + 20 * MINUTE + rng.integers(0, 20 * MINUTE, count)
        # A house sale happens while TSE is open, morning or afternoon session.
        in_market = np.where(
            rng.random(count) < 0.5,
            9 * HOUR + 5 * MINUTE + rng.integers(0, 135 * MINUTE, count),
            12 * HOUR + 35 * MINUTE + rng.integers(0, 160 * MINUTE, count),
        )
        start = np.where(kind == SessionKind.DAY_OPEN, opening, start)
        start = np.where(kind == SessionKind.DAY_AFTERNOON, afternoon, start)
        return np.where(kind == SessionKind.HOUSE_SALE, in_market, start).astype(np.int64)

    def _durations(self, kind: npt.NDArray[np.uint8], start_of_day: I64) -> I64:
        """Minutes for most; day traders stay until the lunch break or the close."""
        rng, count = self.rng, len(kind)
        duration = rng.lognormal(np.log(SESSION_MEDIAN_SECONDS), SESSION_SIGMA, count)
        duration = duration.clip(2 * LOGIN_STEPS_SECONDS, 2 * HOUR)
        morning_end = 11 * HOUR + 30 * MINUTE + rng.integers(0, 10 * MINUTE, count)
        afternoon_end = 15 * HOUR + 30 * MINUTE + rng.integers(0, 5 * MINUTE, count)
        duration = np.where(kind == SessionKind.DAY_OPEN, morning_end - start_of_day, duration)
        duration = np.where(
            kind == SessionKind.DAY_AFTERNOON, afternoon_end - start_of_day, duration
        )
        return duration.astype(np.int64)

    def _phones(self, kind: npt.NDArray[np.uint8], mobile_first: Mask) -> Mask:
        share = np.where(mobile_first, PHONE_IF_MOBILE_FIRST, PHONE_OTHERWISE)
        desk = (kind == SessionKind.DAY_OPEN) | (kind == SessionKind.DAY_AFTERNOON)
        share = np.where(desk, PHONE_DAY_TRADER, share)
        on_phone: Mask = (self.rng.random(len(kind)) < share) | (kind == SessionKind.NEW_PHONE)
        return on_phone

    def _networks(
        self, customer: I64, phone: Mask, hour: I64, duration: I64
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], I64, npt.NDArray[np.uint8]]:
        """Address, churn address (0: none), seconds into the session of the churn, tag."""
        population, accounts = self.population, self.accounts
        draw = self.rng.random((6, len(customer)))
        travelling = accounts.travel_until[customer] >= self.day
        proxy = population.proxy[customer]
        in_office = self.trading & (hour >= OFFICE_HOURS[0]) & (hour < OFFICE_HOURS[1])
        office = ~travelling & (proxy >= 0) & in_office & (draw[0] < OFFICE_USE)
        vpn_network = population.vpn_network[customer]
        vpn = ~travelling & ~office & (vpn_network >= 0) & (draw[1] < VPN_USE)
        mobile_data = ~travelling & ~office & ~vpn & phone & (draw[2] < ON_MOBILE_DATA)
        churn = mobile_data & (draw[3] < CARRIER_CHURN)
        network = np.select(
            [travelling, vpn, mobile_data],
            [accounts.travel_network[customer], vpn_network, population.mobile_network[customer]],
            population.home_network[customer],
        )
        sampled = pools().sample(network, draw[4])
        fixed = np.where(
            office,
            population.proxy_addresses[np.maximum(proxy, 0)],
            accounts.home_address[customer],
        )
        address = np.where(travelling | vpn | mobile_data, sampled, fixed).astype(np.uint32)
        second = pools().sample(population.mobile_network[customer], draw[5])
        churn_address = np.where(churn, second, 0).astype(np.uint32)
        churn_after = (duration * (0.2 + 0.6 * draw[3] / CARRIER_CHURN)).astype(np.int64)
        tag = np.select(
            [travelling, office, vpn, churn],
            [TAG_CODE[LegitTag.TRAVEL], TAG_CODE[LegitTag.CORPORATE_PROXY], TAG_CODE[LegitTag.VPN],
             TAG_CODE[LegitTag.CARRIER_CHURN]],
            0,
        ).astype(np.uint8)  # fmt: skip
        return address, churn_address, churn_after, tag

    def _tags(
        self,
        kind: npt.NDArray[np.uint8],
        phone: Mask,
        customer: I64,
        network_tag: npt.NDArray[np.uint8],
    ) -> npt.NDArray[np.uint8]:
        """One tag per session: the first that applies in labels.TAG_CODES order."""
        new_phone = (kind == SessionKind.NEW_PHONE) | (
            phone & (self.accounts.new_phone_until[customer] >= self.day)
        )
        moving = (kind == SessionKind.BANK_MOVE) | (kind == SessionKind.BANK_MOVE_WITHDRAWAL)
        selling = (kind == SessionKind.HOUSE_SALE) | (kind == SessionKind.HOUSE_SALE_WITHDRAWAL)
        travel = network_tag == TAG_CODE[LegitTag.TRAVEL]
        episode = np.select(
            [travel, new_phone, moving, selling],
            [TAG_CODE[LegitTag.TRAVEL], TAG_CODE[LegitTag.NEW_PHONE], TAG_CODE[LegitTag.BANK_MOVE],
             TAG_CODE[LegitTag.HOUSE_SALE]],
            0,
        )  # fmt: skip
        tag = np.where(episode > 0, episode, network_tag)
        senior = self.population.senior[customer] & (tag == 0)
        return np.where(senior, TAG_CODE[LegitTag.SENIOR], tag).astype(np.uint8)

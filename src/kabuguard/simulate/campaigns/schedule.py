"""From a preset to a time-sorted list of attacks: how many, on whom, when.

Counts are the preset's expected hijacks, rounded stochastically. Victims are drawn without
replacement (nobody is hijacked twice) from the customers each campaign can work on: password
holders without a second factor for takeovers, pumps, stuffing and payout fraud; anyone but
passkey users for relays; long-unused accounts for e-mail rewrites. Trading hijacks favour
larger portfolios (weight: square root of the TSE holdings) and happen while TSE is open.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kabuguard.labels import Campaign
from kabuguard.simulate.accounts import Accounts
from kabuguard.simulate.campaigns import stuffing
from kabuguard.simulate.campaigns.payout import Mule, PayoutFraud
from kabuguard.simulate.campaigns.pump import GangPosition, PumpWave
from kabuguard.simulate.campaigns.scene import Attack, seeded
from kabuguard.simulate.campaigns.takeover import DormantRewrite, Takeover
from kabuguard.simulate.clock import DAY, HOUR, MINUTE, Calendar, Market
from kabuguard.simulate.instruments import Tier
from kabuguard.simulate.market import PriceBook, PumpPath
from kabuguard.simulate.population import LoginFactor, Population, Style
from kabuguard.simulate.presets import BACKGROUND_STUFFING_PER_20K, Preset

MIN_TRADING_VICTIM_YEN = 300_000
MIN_PAYOUT_VICTIM_YEN = 1_000_000
DORMANT_LOGINS_PER_YEAR = 1.0
PUMP_WAVE_SIZE = 15
STUFFING_HITS_PER_BURST = 30
SHARED_MULE = 0.3
_TSE_WINDOWS = (
    (9 * HOUR + 5 * MINUTE, 11 * HOUR),
    (12 * HOUR + 35 * MINUTE, 14 * HOUR + 50 * MINUTE),
)
# Waves start on a five-minute step and are over before the lunch break or the close.
_WAVE_STARTS = tuple(9 * HOUR + m * MINUTE for m in (5, 10)) + tuple(
    12 * HOUR + m * MINUTE for m in (35, 40, 45)
)

Mask = npt.NDArray[np.bool_]
Weights = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Schedule:
    attacks: tuple[Attack, ...]  # sorted by start
    expected: dict[Campaign, float]


class _Planner:
    def __init__(
        self,
        population: Population,
        accounts: Accounts,
        book: PriceBook,
        calendar: Calendar,
        seed: int,
    ) -> None:
        self.population, self.book, self.calendar = population, book, calendar
        self.rng = np.random.default_rng([seed, 5])
        self.random = seeded("schedule", seed)
        self.taken = np.zeros(population.size, dtype=bool)
        self.attacks: list[Attack] = []
        self.trading_days = calendar.trading_days()
        self.run_end = calendar.days * DAY
        self._numbers = 0
        self._bursts = 0
        on_tse = np.array([i.market is Market.TSE for i in book.instruments])
        yen = np.array([i.price * i.yen for i in book.instruments])
        held = np.maximum(accounts.held, 0)
        value = np.where((accounts.held >= 0) & on_tse[held], yen[held] * accounts.quantity, 0)
        self.tse_yen: Weights = value.sum(axis=1)
        self.cash = accounts.cash.copy()

    def attack_number(self) -> int:
        """A run-wide number per attack: keys its session, order and device ids."""
        self._numbers += 1
        return self._numbers

    def burst_number(self) -> int:
        self._bursts += 1
        return self._bursts

    def victims(self, count: int, eligible: Mask, weight: Weights) -> list[int]:
        candidates = np.flatnonzero(eligible & ~self.taken)
        count = min(count, len(candidates))
        if count == 0:
            return []
        chosen = self.rng.choice(
            candidates, count, replace=False, p=weight[candidates] / weight[candidates].sum()
        )
        self.taken[chosen] = True
        return sorted(chosen.tolist())

    def market_time(self) -> int:
        begin, end = self.random.choice(_TSE_WINDOWS)
        return self.random.choice(self.trading_days) * DAY + self.random.randrange(begin, end)

    def any_time(self, first_hour: int = 0) -> int:
        day = self.random.randrange(self.calendar.days)
        return day * DAY + self.random.randrange(first_hour * HOUR, DAY)


def plan_attacks(
    preset: Preset,
    population: Population,
    accounts: Accounts,
    book: PriceBook,
    *,
    calendar: Calendar,
    seed: int,
) -> Schedule:
    """Every attack of the run; registers the pumps' price paths with the book."""
    planner = _Planner(population, accounts, book, calendar, seed)
    expected = preset.expected_hijacks(population.size, calendar.days)
    counts = {c: int(e) + (planner.random.random() < e - int(e)) for c, e in expected.items()}
    password_only = population.factor == LoginFactor.NONE
    rich = planner.tse_yen >= MIN_TRADING_VICTIM_YEN
    by_portfolio = np.sqrt(planner.tse_yen) + 1.0
    if planner.trading_days:
        for campaign in (Campaign.ATO_NAIVE, Campaign.ATO_VPN, Campaign.ATO_TARGETED):
            _takeovers(
                planner,
                campaign,
                planner.victims(counts[campaign], password_only & rich, by_portfolio),
            )
        _pumps(planner, planner.victims(counts[Campaign.PUMP], password_only & rich, by_portfolio))
        wealth = planner.tse_yen + planner.cash
        payable = password_only & (wealth >= MIN_PAYOUT_VICTIM_YEN)
        _payouts(planner, planner.victims(counts[Campaign.PAYOUT], payable, wealth))
        relayable = (population.factor != LoginFactor.PASSKEY) & rich
        _takeovers(
            planner,
            Campaign.RELAY,
            planner.victims(counts[Campaign.RELAY], relayable, by_portfolio),
        )
    dormant = (population.style == Style.LONG_TERM) & (
        population.logins_per_year < DORMANT_LOGINS_PER_YEAR
    )
    uniform = np.ones(population.size)
    _dormant(
        planner, planner.victims(counts[Campaign.DORMANT_EMAIL], password_only & dormant, uniform)
    )
    _stuffing(
        planner, planner.victims(counts[Campaign.STUFFING], password_only, uniform), password_only
    )
    return Schedule(tuple(sorted(planner.attacks, key=lambda attack: attack.start)), expected)


def _takeovers(planner: _Planner, campaign: Campaign, victims: list[int]) -> None:
    for number, victim in enumerate(victims, start=1):
        planner.attacks.append(
            Takeover(planner.market_time(), campaign, number, planner.attack_number(), victim)
        )


def _pumps(planner: _Planner, victims: list[int]) -> None:
    """Waves of about PUMP_WAVE_SIZE hijacks, each on its own thin symbol."""
    if not victims:
        return
    book, random = planner.book, planner.random
    symbols = [
        index
        for index, instrument in enumerate(book.instruments)
        if instrument.tier is Tier.TSE_LOW_PRICED and 50 <= instrument.price <= 300
    ]
    random.shuffle(symbols)
    waves = max(1, round(len(victims) / PUMP_WAVE_SIZE))
    first = planner.trading_days[0]
    gang = planner.population.size  # the gang's accounts are numbered after the customers
    number = 0
    for wave in range(waves):
        day = random.choice(planner.trading_days[1:] or planner.trading_days)
        if day == first:  # no trading day before it in the run: the gang buys that morning
            position_at, start = day * DAY + 9 * HOUR, day * DAY + _WAVE_STARTS[-1]
        else:
            previous = max(d for d in planner.trading_days if d < day)
            position_at = previous * DAY + 9 * HOUR + 30 * MINUTE
            start = day * DAY + random.choice(_WAVE_STARTS)
        rise = random.randrange(75, 96) * MINUTE
        path = PumpPath(symbols[wave % len(symbols)], start, rise, random.uniform(1.25, 1.35))
        book.pumps.append(path)
        members = tuple(range(gang, gang + random.randint(1, 2)))
        gang += len(members)
        shares = random.randrange(300_000, 800_000, 100_000)
        planner.attacks.append(
            GangPosition(position_at, planner.attack_number(), path.instrument, members, shares)
        )
        planner.attacks.append(PumpWave(start, planner.attack_number(), path, members, shares))
        for victim in victims[wave::waves]:
            number += 1
            begin = start + random.randrange(60, int(rise * 0.8))
            planner.attacks.append(
                Takeover(begin, Campaign.PUMP, number, planner.attack_number(), victim)
            )


def _payouts(planner: _Planner, victims: list[int]) -> None:
    """Same-name mule accounts, sometimes reused for a later victim."""
    mules: list[Mule] = []
    population, random = planner.population, planner.random
    for number, victim in enumerate(victims, start=1):
        if mules and random.random() < SHARED_MULE:
            mule = random.choice(mules)
        else:
            mule = Mule.opened(
                random, int(population.family_name[victim]), int(population.given_name[victim])
            )
            mules.append(mule)
        fraud = PayoutFraud(
            planner.market_time(), number, planner.attack_number(), victim, mule, planner.run_end
        )
        planner.attacks.append(fraud)


def _dormant(planner: _Planner, victims: list[int]) -> None:
    for number, victim in enumerate(victims, start=1):
        planner.attacks.append(
            DormantRewrite(planner.any_time(first_hour=8), number, planner.attack_number(), victim)
        )


def _stuffing(planner: _Planner, victims: list[int], password_only: Mask) -> None:
    """Bursts that carry the hijacks, plus background bursts that never succeed."""
    # The lists also hold valid passwords of customers with a second factor: they get no further.
    share = max(float(password_only.mean()), 0.01)
    guarded = np.flatnonzero(~password_only)
    extra = min(len(guarded), round(len(victims) * (1 - share) / share))
    blocked = planner.rng.choice(guarded, extra, replace=False).tolist() if extra else []
    hits = [stuffing.Hit(v, n, planner.attack_number()) for n, v in enumerate(victims, start=1)]
    hits += [stuffing.Hit(v, stuffing.NO_ENTRY, 0) for v in blocked]
    planner.random.shuffle(hits)
    bursts = math.ceil(len(hits) / STUFFING_HITS_PER_BURST)
    for burst in range(bursts):
        mine = tuple(hits[burst::bursts])
        tries = round(len(mine) / planner.random.uniform(0.003, 0.015)) - len(mine)
        _burst(planner, tries, mine)
    size, days = planner.population.size, planner.calendar.days
    background = round(BACKGROUND_STUFFING_PER_20K * size / 20_000 * days / 30)
    while background > 0:
        tries = min(background, planner.random.randint(500, 2000))
        background -= tries
        _burst(planner, tries, ())


def _burst(planner: _Planner, tries: int, hits: tuple[stuffing.Hit, ...]) -> None:
    """One to six hours of tries, half of the bursts at night, in hour-long slices."""
    random, burst = planner.random, planner.burst_number()
    at_night = random.randrange(planner.calendar.days) * DAY + random.randrange(0, 6 * HOUR)
    start = at_night if random.random() < 0.5 else planner.any_time()
    hours = max(1, min(random.randint(1, 6), (planner.run_end - start) // HOUR))
    datacentre, rotating = random.random() < 0.4, random.random() < 0.5
    for hour in range(hours):
        planner.attacks.append(
            stuffing.StuffingSlice(
                start=start + hour * HOUR,
                end=start + (hour + 1) * HOUR,
                burst=burst,
                tries=tries // hours + (hour < tries % hours),
                hits=hits[hour::hours],
                known_customers=planner.population.size,
                datacentre=datacentre,
                rotating_agents=rotating,
            )
        )

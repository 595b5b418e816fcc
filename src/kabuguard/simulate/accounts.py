"""What changes during a run, per customer: money, holdings, phone, trips, payout account.

Arrays again, so a million customers cost tens of megabytes. Holdings are four slots of
(instrument, quantity); -1 marks an empty slot. Money is whole yen; foreign holdings are
valued at the fixed rates in instruments.YEN_PER.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from kabuguard.simulate.devices import user_agents
from kabuguard.simulate.instruments import Instrument, Tier
from kabuguard.simulate.ippools import pools
from kabuguard.simulate.population import Population, Style, bank_accounts

SLOTS = 4
NO_DAY = -32_768

# Per style: tier weights for held and watched instruments, median portfolio and cash (yen).
_TIER_MIX = {
    Style.LONG_TERM: {Tier.TSE_LARGE: 0.55, Tier.US_LARGE: 0.2, Tier.TSE_SMALL: 0.12,
                      Tier.CHINA_LARGE: 0.05, Tier.TSE_LOW_PRICED: 0.08},
    Style.SWING: {Tier.TSE_LARGE: 0.4, Tier.TSE_SMALL: 0.3, Tier.TSE_LOW_PRICED: 0.1,
                  Tier.US_LARGE: 0.1, Tier.US_SMALL: 0.05, Tier.CHINA_SMALL: 0.05},
    Style.DAY_TRADER: {Tier.TSE_LARGE: 0.35, Tier.TSE_SMALL: 0.4, Tier.TSE_LOW_PRICED: 0.25},
}  # fmt: skip
_PORTFOLIO_MEDIAN = {
    Style.LONG_TERM: 3_000_000,
    Style.SWING: 2_000_000,
    Style.DAY_TRADER: 1_000_000,
}
_CASH_MEDIAN = {Style.LONG_TERM: 300_000, Style.SWING: 800_000, Style.DAY_TRADER: 5_000_000}
_MAX_POSITIONS = {Style.LONG_TERM: 4, Style.SWING: 3, Style.DAY_TRADER: 2}


class FollowUp(IntEnum):
    NONE = 0
    BANK_MOVE_WITHDRAWAL = 1  # withdraw to the new bank some days after changing it
    HOUSE_SALE_WITHDRAWAL = 2  # withdraw the proceeds once the sale has settled


@dataclass(slots=True)
class Accounts:
    home_address: npt.NDArray[np.uint32]
    cash: npt.NDArray[np.int64]
    held: npt.NDArray[np.int16]  # [customer, slot] instrument, -1 empty
    quantity: npt.NDArray[np.int64]  # [customer, slot]
    watched: npt.NDArray[np.int16]  # [customer, 3] instruments traded besides holdings
    phone_agent: npt.NDArray[np.uint16]
    phone_generation: npt.NDArray[np.uint8]
    new_phone_until: npt.NDArray[np.int16]  # last day the new phone counts as new
    travel_until: npt.NDArray[np.int16]
    travel_network: npt.NDArray[np.uint8]
    bank: npt.NDArray[np.uint8]
    branch: npt.NDArray[np.uint16]
    account_number: npt.NDArray[np.uint32]
    payout_generation: npt.NDArray[np.uint8]
    follow_up_day: npt.NDArray[np.int16]
    follow_up: npt.NDArray[np.uint8]
    follow_up_amount: npt.NDArray[np.int64]

    def add_holding(self, customer: int, instrument: int, quantity: int) -> None:
        """Add to the slot holding `instrument`, else to an empty slot (if none, it is dropped)."""
        slots = self.held[customer]
        same = np.flatnonzero(slots == instrument)
        free = np.flatnonzero(slots < 0)
        if len(same):
            self.quantity[customer, same[0]] += quantity
        elif len(free):
            self.held[customer, free[0]] = instrument
            self.quantity[customer, free[0]] = quantity

    def holdings_yen(self, prices: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Market value of every customer's holdings at the given yen prices."""
        value = np.where(self.held >= 0, prices[np.maximum(self.held, 0)] * self.quantity, 0.0)
        total: npt.NDArray[np.float64] = value.sum(axis=1)
        return total


def open_accounts(
    population: Population, instruments: tuple[Instrument, ...], seed: int
) -> Accounts:
    rng = np.random.default_rng([seed, 2])
    size = population.size
    held = np.full((size, SLOTS), -1, dtype=np.int16)
    quantity = np.zeros((size, SLOTS), dtype=np.int64)
    watched = np.empty((size, 3), dtype=np.int16)
    cash = np.empty(size, dtype=np.int64)
    members = _tier_members(instruments)
    yen_price = np.array([i.price * i.yen for i in instruments])
    lots = np.array([i.lot for i in instruments])
    for style in Style:
        who = np.flatnonzero(population.style == style)
        count = len(who)
        positions = rng.integers(
            1 if style != Style.DAY_TRADER else 0, _MAX_POSITIONS[style] + 1, count
        )
        value = rng.lognormal(np.log(_PORTFOLIO_MEDIAN[style]), 1.1, count).clip(50_000, 3e8)
        for slot in range(SLOTS):
            has = slot < positions
            chosen = _choose(rng, members, _TIER_MIX[style], count)
            per_lot = yen_price[chosen] * lots[chosen]
            lots_held = np.maximum(1, np.round(value / np.maximum(positions, 1) / per_lot))
            held[who[has], slot] = chosen[has]
            quantity[who[has], slot] = (lots_held * lots[chosen])[has]
        for column in range(3):
            watched[who, column] = _choose(rng, members, _TIER_MIX[style], count)
        cash[who] = rng.lognormal(np.log(_CASH_MEDIAN[style]), 1.2, count).clip(1_000, 5e8)
    bank, branch, number = bank_accounts(rng, size)
    return Accounts(
        home_address=pools().sample(population.home_network, rng.random(size)),
        cash=cash,
        held=held,
        quantity=quantity,
        watched=watched,
        phone_agent=rng.integers(0, len(user_agents().mobile), size).astype(np.uint16),
        phone_generation=np.zeros(size, dtype=np.uint8),
        new_phone_until=np.full(size, NO_DAY, dtype=np.int16),
        travel_until=np.full(size, NO_DAY, dtype=np.int16),
        travel_network=np.zeros(size, dtype=np.uint8),
        bank=bank,
        branch=branch,
        account_number=number,
        payout_generation=np.zeros(size, dtype=np.uint8),
        follow_up_day=np.full(size, NO_DAY, dtype=np.int16),
        follow_up=np.zeros(size, dtype=np.uint8),
        follow_up_amount=np.zeros(size, dtype=np.int64),
    )


def _tier_members(instruments: tuple[Instrument, ...]) -> dict[Tier, npt.NDArray[np.int64]]:
    return {
        tier: np.array([i for i, inst in enumerate(instruments) if inst.tier is tier])
        for tier in Tier
    }


def _choose(
    rng: np.random.Generator,
    members: dict[Tier, npt.NDArray[np.int64]],
    mix: dict[Tier, float],
    count: int,
) -> npt.NDArray[np.int64]:
    """`count` instruments: a tier by the mix, then a member of it uniformly."""
    tiers = list(mix)
    tier_of = rng.choice(len(tiers), count, p=list(mix.values()))
    chosen = np.empty(count, dtype=np.int64)
    for position, tier in enumerate(tiers):
        where = tier_of == position
        chosen[where] = rng.choice(members[tier], int(where.sum()))
    return chosen

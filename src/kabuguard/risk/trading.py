"""Typed facts the order rules read: the instrument, the customer's trading, the symbol's buyers.

The state layer (`kabuguard.state.trading`, `kabuguard.state.coordination`) fetches and keeps
them; the rules only read what arrives here. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# The currency a market trades in, when the instrument's own reference data is missing.
MARKET_CURRENCY = {
    "TSE": "JPY",
    "NASDAQ": "USD",
    "NYSE": "USD",
    "HKEX": "HKD",
    "SSE": "CNY",  # Shanghai
    "SZSE": "CNY",
}
# Rough yen per unit, only to compare an order's size with volumes and the customer's habits.
YEN_PER_UNIT = {"JPY": 1.0, "USD": 150.0, "HKD": 19.0, "CNY": 20.5}


@dataclass(frozen=True, slots=True)
class InstrumentFacts:
    """Reference data and the latest quote of one symbol, as of the event."""

    symbol: str
    market: str
    currency: str
    lot_size: int | None
    listed_shares: int | None
    average_daily_volume: int | None
    limit_up: Decimal | None
    limit_down: Decimal | None
    last: Decimal | None
    last_at: datetime | None
    previous_close: Decimal | None

    def yen(self, price: Decimal | None) -> float:
        if price is None:
            return 0.0
        return float(price) * YEN_PER_UNIT.get(self.currency, 1.0)

    @property
    def adv_yen(self) -> float | None:
        if self.average_daily_volume is None or self.last is None:
            return None
        return self.average_daily_volume * self.yen(self.last)


@dataclass(frozen=True, slots=True)
class TradingProfile:
    """A customer's trading so far: bounded (capped symbol set), updated on each order."""

    orders: int
    largest_yen: int  # the largest order value they placed
    symbols: frozenset[str]  # "MARKET:SYMBOL", the most recent few dozen
    markets: frozenset[str]
    thin_buys: int  # buys of low-priced or thin names

    def knows_symbol(self, market: str, symbol: str) -> bool:
        return f"{market}:{symbol}" in self.symbols


@dataclass(frozen=True, slots=True)
class Coordination:
    """Buyers of one symbol in the sliding window, before this order, and its usual number."""

    weighted_buyers: float  # distinct buying accounts, each weighted by its session's risk
    buyer_already_counted: bool  # this customer already bought it inside the window
    normal_buyers: float  # the symbol's usual distinct buyers per window
    alert_until: datetime | None  # an alert on the symbol holds risky buys until then


@dataclass(frozen=True, slots=True)
class TradingSignals:
    """Everything the order rules consult about one order."""

    instrument: InstrumentFacts | None = None  # None: the symbol is not in the reference data
    profile: TradingProfile | None = None
    sold_recently_yen: int = 0  # the customer's sells inside the liquidation window
    sold_symbols: frozenset[str] = frozenset()
    restricted_markets: frozenset[str] = frozenset()  # customer-requested (TRADE-2)
    coordination: Coordination | None = None
    pivoted_until: datetime | None = None  # touched by an attacker's IP or device (DET-3)
    # The state looked the symbol up (False: no trading facts were fetched at all, so a
    # missing instrument says nothing about the symbol).
    fetched: bool = False


NO_TRADING = TradingSignals()


def log_interpolate(value: float, low: float, high: float, at_low: float, at_high: float) -> float:
    """`at_low` at or below `low`, `at_high` at or above `high`, log-linear in between."""
    if value <= low or high <= low:
        return at_low
    if value >= high:
        return at_high
    share = (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return at_low + (at_high - at_low) * share


def buyer_weight(session_score: int | None, risky_score: int, calm_weight: float) -> float:
    """How much one buyer counts towards coordination: 1 from a risky session, less if calm."""
    if session_score is None or risky_score <= 0:
        return calm_weight
    return min(1.0, max(calm_weight, session_score / risky_score))

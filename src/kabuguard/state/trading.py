"""Order-guard state per customer and per symbol: reference data, trading profiles, recent sells.

Bounded: one profile per customer (at most `SYMBOL_CAP` symbols; allowed orders only), recent
sells (whatever their outcome) only inside `SELL_WINDOW_SECONDS`, one reference entry per
symbol.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from kabuguard.risk.events import Instrument, Order, Price, Side
from kabuguard.risk.guard_policy import MAX_WINDOW_MINUTES, OrderPolicy
from kabuguard.risk.rules.orders import is_thin
from kabuguard.risk.trading import InstrumentFacts, TradingProfile

SYMBOL_CAP = 48  # symbols remembered per customer: a swing trader's universe, not a history
SELL_WINDOW_SECONDS = MAX_WINDOW_MINUTES * 60
EMPTY_PROFILE = TradingProfile(0, 0, frozenset(), frozenset(), 0)


def symbol_key(market: str, symbol: str) -> str:
    return f"{market}:{symbol}"


@dataclass(frozen=True, slots=True)
class Sell:
    at: int  # epoch seconds
    yen: int
    symbol: str  # "MARKET:SYMBOL"


def reference_from(event: Instrument | Price, before: InstrumentFacts | None) -> InstrumentFacts:
    """Merge a reference event into what was known: a field the event lacks keeps its value."""
    facts = before or InstrumentFacts(
        event.symbol, event.market, "JPY", None, None, None, None, None, None, None, None
    )
    if isinstance(event, Instrument):
        return replace(
            facts,
            currency=event.currency,
            lot_size=event.lot_size,
            listed_shares=event.listed_shares,
            average_daily_volume=event.average_daily_volume,
            limit_up=event.limit_up or facts.limit_up,
            limit_down=event.limit_down or facts.limit_down,
        )
    if event.last == 0:
        return facts  # a zero quote is reasoned about (reference:price:zero), never trusted
    return replace(
        facts,
        last=event.last,
        last_at=event.occurred_at,
        previous_close=event.previous_close or facts.previous_close,
        limit_up=event.limit_up or facts.limit_up,
        limit_down=event.limit_down or facts.limit_down,
    )


def learn_order(
    profile: TradingProfile | None,
    order: Order,
    instrument: InstrumentFacts | None,
    knobs: OrderPolicy,
) -> TradingProfile:
    """The profile after an order that was allowed (a challenged one is not learned: the
    challenge may have been failed, and an attacker's resubmission must not look usual)."""
    found = profile or EMPTY_PROFILE
    key = symbol_key(order.market, order.symbol)
    symbols = found.symbols if key in found.symbols else _capped(found.symbols, key)
    value = order_value(order, instrument)
    thin = order.side is Side.BUY and instrument is not None and is_thin(instrument, knobs)
    return TradingProfile(
        orders=found.orders + 1,
        largest_yen=max(found.largest_yen, value),
        symbols=symbols,
        markets=found.markets | {order.market},
        thin_buys=found.thin_buys + thin,
    )


# Stored yen values saturate at the largest 64-bit integer: the schema allows quantity x price
# beyond it, and state is serialised as JSON numbers.
MAX_YEN = 2**63 - 1


def order_value(order: Order, instrument: InstrumentFacts | None) -> int:
    if instrument is None:
        return 0
    price = order.limit_price or instrument.last or Decimal(0)
    return min(MAX_YEN, int(instrument.yen(price) * order.quantity))


def recent_sells(sells: list[Sell], at: int) -> list[Sell]:
    return [sell for sell in sells if sell.at > at - SELL_WINDOW_SECONDS]


def sold_within(sells: list[Sell], at: datetime, minutes: int) -> tuple[int, frozenset[str]]:
    since = int(at.timestamp()) - minutes * 60
    inside = [sell for sell in sells if sell.at > since]
    return sum(sell.yen for sell in inside), frozenset(sell.symbol for sell in inside)


def _capped(symbols: frozenset[str], key: str) -> frozenset[str]:
    # Past the cap one arbitrary symbol goes: first-trade reasons only score, so an
    # occasional forgotten symbol costs a few points, never a hold.
    kept = sorted(symbols)[: SYMBOL_CAP - 1] if len(symbols) >= SYMBOL_CAP else symbols
    return frozenset(kept) | {key}

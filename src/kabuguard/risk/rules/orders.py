"""Order rules: malformed orders, prices far from the market, size, thin names (domain §4.4).

A buy limit far above the last price is what a hijacked account's pump buy looks like: the
customer's own limits sit within a fraction of a percent of the market. The band is scaled by
liquidity (a thin name's book is walked up by a high limit; a liquid one's is not) and widened
when the last price is stale, in which case the previous close and limit-up are consulted too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, Order, Price, Side
from kabuguard.risk.guard_policy import OrderPolicy
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.signals import Signals
from kabuguard.risk.trading import MARKET_CURRENCY, InstrumentFacts, log_interpolate


def malformed(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Bad input gets a clear reason; the event is recorded all the same."""
    if isinstance(event, Price) and event.last == 0:
        yield hit(ReasonCode.REFERENCE_PRICE_ZERO, policy, symbol=event.symbol)
    if not isinstance(event, Order):
        return
    instrument = signals.trading.instrument
    if instrument is None and signals.trading.fetched:
        yield hit(ReasonCode.ORDER_SYMBOL_UNKNOWN, policy, Outcome.HOLD, **_where(event))
    if event.limit_price == 0:
        yield hit(ReasonCode.ORDER_PRICE_ZERO, policy, Outcome.DENY)
    lot = instrument.lot_size if instrument is not None else None
    if lot and event.quantity % lot:
        yield hit(
            ReasonCode.ORDER_QUANTITY_ODD_LOT,
            policy,
            Outcome.DENY,
            quantity=event.quantity,
            lot=lot,
        )
    expected = instrument.currency if instrument is not None else MARKET_CURRENCY.get(event.market)
    if expected is not None and event.currency != expected:
        yield hit(
            ReasonCode.ORDER_CURRENCY_MISMATCH,
            policy,
            Outcome.DENY,
            currency=event.currency,
            market=event.market,
            expected=expected,
        )


def price_band(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """A buy limit far above the last price, the previous close or at limit-up."""
    order, instrument = _buy(event), signals.trading.instrument
    if order is None or instrument is None or not order.limit_price or not instrument.last:
        return  # no quote yet: nothing to compare the limit with
    knobs = policy.guard.orders
    limit = order.limit_price
    stale = _stale(order, instrument, knobs)
    if stale:
        yield hit(
            ReasonCode.ORDER_PRICE_STALE, policy, symbol=order.symbol, minutes=knobs.stale_minutes
        )
    widen = knobs.stale_widening if stale else 1.0
    band = premium(instrument, knobs) * widen
    for reference in _references(instrument, stale):
        if limit > reference * Decimal(1 + band):
            yield hit(
                ReasonCode.ORDER_PRICE_FAR_ABOVE_LAST,
                policy,
                Outcome.HOLD,
                limit=limit,
                last=reference,
                percent=_percent(limit / reference - 1),
            )
            break
    up = instrument.limit_up
    if up is not None and limit >= up * Decimal(knobs.near_limit_up):
        yield hit(ReasonCode.ORDER_PRICE_NEAR_LIMIT_UP, policy, limit=limit, limit_up=up)


def running_up(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Buying a name that already trades far above yesterday's close: a pump in progress."""
    order, instrument = _buy(event), signals.trading.instrument
    if order is None or instrument is None:
        return
    last, close = instrument.last, instrument.previous_close
    if last and close and last > close * Decimal(1 + policy.guard.orders.close_premium):
        yield hit(
            ReasonCode.ORDER_PRICE_FAR_ABOVE_CLOSE,
            policy,
            symbol=order.symbol,
            percent=_percent(last / close - 1),
        )


def size(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Quantity against average daily volume and listed shares (exchange: >30 % rejected)."""
    instrument = signals.trading.instrument
    if not isinstance(event, Order) or instrument is None:
        return
    knobs = policy.guard.orders
    listed = instrument.listed_shares
    if listed:
        share = event.quantity / listed
        if share > knobs.listed_share_flag:
            outcome = Outcome.DENY if share > knobs.listed_share_reject else Outcome.ALLOW
            yield hit(
                ReasonCode.ORDER_QUANTITY_LISTED_SHARES, policy, outcome, percent=_percent(share)
            )
    volume = instrument.average_daily_volume
    if event.side is Side.BUY and volume and event.quantity > volume * knobs.adv_share:
        yield hit(
            ReasonCode.ORDER_QUANTITY_VOLUME,
            policy,
            symbol=event.symbol,
            percent=_percent(event.quantity / volume),
        )


def thin_name(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Low-priced or thinly traded names are what pumps are made of (TSE Standard, HK small)."""
    order, instrument = _buy(event), signals.trading.instrument
    if order is not None and instrument is not None and is_thin(instrument, policy.guard.orders):
        yield hit(ReasonCode.ORDER_SYMBOL_LOW_PRICED, policy, symbol=order.symbol)


def far_above(order: Order, instrument: InstrumentFacts | None, knobs: OrderPolicy) -> bool:
    """Whether a buy's limit is beyond the band `price_band` holds (fresh or stale price)."""
    if instrument is None or not order.limit_price or not instrument.last:
        return False
    stale = _stale(order, instrument, knobs)
    band = premium(instrument, knobs) * (knobs.stale_widening if stale else 1.0)
    return any(order.limit_price > p * Decimal(1 + band) for p in _references(instrument, stale))


def is_thin(instrument: InstrumentFacts, knobs: OrderPolicy) -> bool:
    yen = instrument.yen(instrument.last)
    adv = instrument.adv_yen
    return (0 < yen < knobs.low_price_yen) or (adv is not None and adv <= knobs.thin_adv_yen)


def premium(instrument: InstrumentFacts, knobs: OrderPolicy) -> float:
    """How far above the last price a buy limit may go for this name's liquidity."""
    adv = instrument.adv_yen or 0.0
    return log_interpolate(
        adv, knobs.thin_adv_yen, knobs.liquid_adv_yen, knobs.premium_thin, knobs.premium_liquid
    )


def _stale(order: Order, instrument: InstrumentFacts, knobs: OrderPolicy) -> bool:
    at = instrument.last_at
    return at is None or order.occurred_at - at > timedelta(minutes=knobs.stale_minutes)


def _references(instrument: InstrumentFacts, stale: bool) -> list[Decimal]:
    """The last price; when it is stale, the previous close as well (whichever is higher)."""
    found = [p for p in (instrument.last,) if p]
    if stale and instrument.previous_close:
        found.append(instrument.previous_close)
    return sorted(found, reverse=True)[:1]


def _buy(event: Event) -> Order | None:
    return event if isinstance(event, Order) and event.side is Side.BUY else None


def _where(order: Order) -> dict[str, object]:
    return {"symbol": order.symbol, "market": order.market}


def _percent(share: object) -> str:
    return f"{float(share) * 100:.1f}"  # type: ignore[arg-type]

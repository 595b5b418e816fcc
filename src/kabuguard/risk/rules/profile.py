"""Orders against the customer's own trading: first symbol or market, unusual size, thin names,
liquidate-then-buy, the session's login risk, and the customer's own product restrictions.

`order:profile:*` reasons are "far from the customer's usual trading" and are notified
(NOTIF-2); the `order:first:*` reasons only score.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, Order, Side
from kabuguard.risk.login import SessionFacts
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.rules.orders import is_thin
from kabuguard.risk.signals import Signals


def product_restriction(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """The customer asked not to trade this market (TRADE-2): refused, sells included."""
    if isinstance(event, Order) and event.market in signals.trading.restricted_markets:
        yield hit(ReasonCode.ORDER_PRODUCT_RESTRICTED, policy, Outcome.DENY, market=event.market)


def first_trade(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    profile = signals.trading.profile
    if not isinstance(event, Order) or event.side is not Side.BUY or profile is None:
        return
    if event.market not in profile.markets:
        yield hit(ReasonCode.ORDER_FIRST_MARKET, policy, market=event.market)
    elif not profile.knows_symbol(event.market, event.symbol):
        yield hit(ReasonCode.ORDER_FIRST_SYMBOL, policy, symbol=event.symbol)


def unusual(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """A buy far larger than the customer's largest, or of a thin name they never buy."""
    trading = signals.trading
    profile, instrument = trading.profile, trading.instrument
    if not isinstance(event, Order) or event.side is not Side.BUY or instrument is None:
        return
    knobs = policy.guard.orders
    if profile is None or profile.orders < knobs.profile_min_orders:
        return
    value = order_yen(event, signals)
    if value > max(
        profile.largest_yen * knobs.profile_value_multiple, knobs.profile_value_floor_yen
    ):
        yield hit(
            ReasonCode.ORDER_PROFILE_VALUE,
            policy,
            value=f"{value:,.0f}",
            largest=f"{profile.largest_yen:,}",
        )
    if is_thin(instrument, knobs) and profile.thin_buys == 0:
        yield hit(ReasonCode.ORDER_PROFILE_THIN_SYMBOL, policy, symbol=event.symbol)


def liquidate_then_buy(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """Holdings sold minutes ago and the proceeds put into one unrelated thin name."""
    trading, knobs = signals.trading, policy.guard.orders
    instrument = trading.instrument
    if not isinstance(event, Order) or event.side is not Side.BUY or instrument is None:
        return
    if trading.sold_recently_yen < knobs.liquidate_yen or not is_thin(instrument, knobs):
        return
    if f"{event.market}:{event.symbol}" in trading.sold_symbols:
        return  # buying back what was sold is a switch of mind, not a liquidation
    yield hit(
        ReasonCode.ORDER_PROFILE_LIQUIDATE_THEN_BUY,
        policy,
        sold=f"{trading.sold_recently_yen:,}",
        symbol=event.symbol,
    )


def session_risk(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """The session's login risk carried into its buys."""
    if not isinstance(event, Order) or event.side is not Side.BUY:
        return
    session = live_session(event, signals, policy)
    if session is not None and session.risk_score >= policy.guard.orders.session_risky_score:
        yield hit(ReasonCode.ORDER_SESSION_RISKY, policy, score=session.risk_score)


def live_session(event: Event, signals: Signals, policy: Policy) -> SessionFacts | None:
    """The login facts of the event's session, when they belong to it and are recent."""
    session = signals.login.session if signals.login is not None else None
    return session_of(event, session, policy.login.session_hours)


def session_of(event: Event, session: SessionFacts | None, hours: int) -> SessionFacts | None:
    """`session` if it is this customer's and no older than `hours` (the state weighs buyers
    with it too, so that the window and the rule agree)."""
    if session is None or session.customer_id != event.customer_id:
        return None
    if event.occurred_at - session.login_at > timedelta(hours=hours):
        return None
    return session


def order_yen(order: Order, signals: Signals) -> float:
    instrument = signals.trading.instrument
    if instrument is None:
        return 0.0
    price = order.limit_price or instrument.last
    return instrument.yen(price) * order.quantity

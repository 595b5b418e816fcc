"""Cross-account coordination: many accounts buying one symbol within minutes (domain §4.4).

Each distinct buyer in the sliding window counts by how risky its session was; the sum is
compared with the symbol's normal number of distinct buyers. When it fires, or while an alert
on the symbol is open, buys from risky sessions are held and calm ones scored. The state layer
turns the first firing into a case, a proposed or applied buy-halt and a pivot to every
account the buyers' IPs, networks and devices touched (DET-3).
"""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, Order, Side
from kabuguard.risk.guard_policy import CoordinationPolicy
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit
from kabuguard.risk.rules.orders import far_above
from kabuguard.risk.rules.profile import live_session
from kabuguard.risk.signals import Signals
from kabuguard.risk.trading import buyer_weight


def coordinated(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    found = signals.trading.coordination
    if not isinstance(event, Order) or event.side is not Side.BUY or found is None:
        return
    knobs = policy.guard.coordination
    weight = weight_of(event, signals, policy)
    buyers = found.weighted_buyers + (0.0 if found.buyer_already_counted else weight)
    alert = found.alert_until is not None and found.alert_until > event.occurred_at
    if not alert and buyers < threshold(found.normal_buyers, knobs):
        return
    outcome = Outcome.HOLD if weight >= 1.0 else Outcome.ALLOW
    yield hit(
        ReasonCode.ORDER_COORDINATION_SYMBOL,
        policy,
        outcome,
        symbol=event.symbol,
        buyers=f"{buyers:.1f}",
        normal=f"{found.normal_buyers:.1f}",
    )


def pivoted(event: Event, signals: Signals, policy: Policy) -> Iterator[Hit]:
    """An account reached from an IP, network or device of a coordinated campaign: buys held."""
    until = signals.trading.pivoted_until
    if isinstance(event, Order) and event.side is Side.BUY and until and until > event.occurred_at:
        yield hit(ReasonCode.ORDER_COORDINATION_PIVOT, policy, Outcome.HOLD, symbol=event.symbol)


def threshold(normal_buyers: float, knobs: CoordinationPolicy) -> float:
    """Normal buyers come from calm sessions and weigh as such: the weighted sum a symbol
    normally sees is about `normal_buyers * calm_weight`."""
    return max(knobs.min_accounts, knobs.normal_multiple * normal_buyers * knobs.calm_weight)


def weight_of(order: Order, signals: Signals, policy: Policy) -> float:
    """The session's login risk; a buy far above the market weighs as a risky session (the
    session is doing what hijacked sessions do, whatever its login looked like)."""
    if far_above(order, signals.trading.instrument, policy.guard.orders):
        return 1.0
    session = live_session(order, signals, policy)
    knobs = policy.guard.coordination
    score = session.risk_score if session is not None else None
    return buyer_weight(score, knobs.risky_session_score, knobs.calm_weight)

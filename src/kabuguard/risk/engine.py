"""The engine: run every rule, let the highest outcome win, and state what follows from it."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

from kabuguard.risk.actions import action_of
from kabuguard.risk.codes import FactorClass, Outcome, ReasonCode
from kabuguard.risk.decisions import Decision, Hit, Restriction, Verdict
from kabuguard.risk.events import (
    ContactChange,
    CustomerUnlock,
    Event,
    LoginAttempt,
    Order,
    PayoutChange,
    Price,
    Withdrawal,
)
from kabuguard.risk.history import ripen
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import Rule
from kabuguard.risk.rules.access import (
    blocked_network,
    customer_locked,
    lock_not_own,
    restricted_capability,
    unparseable_ip,
)
from kabuguard.risk.rules.contacts import dormant
from kabuguard.risk.rules.coordination import coordinated, pivoted
from kabuguard.risk.rules.credentials import exposed
from kabuguard.risk.rules.destinations import approval, holder, mule
from kabuguard.risk.rules.guard import GUARD_RULES
from kabuguard.risk.rules.login_device import automation, device, unknown_software
from kabuguard.risk.rules.login_history import history
from kabuguard.risk.rules.login_network import (
    anonymising_network,
    foreign_network,
    impossible_travel,
    unknown_network,
)
from kabuguard.risk.rules.orders import malformed, price_band, running_up, size, thin_name
from kabuguard.risk.rules.payout import cooling_off
from kabuguard.risk.rules.profile import (
    first_trade,
    liquidate_then_buy,
    product_restriction,
    session_risk,
    unusual,
)
from kabuguard.risk.rules.relay import concurrent_login, factor_network
from kabuguard.risk.rules.session import mark_risky, session_actions
from kabuguard.risk.rules.stuffing import lock, stuffing
from kabuguard.risk.rules.trading import halted_symbol
from kabuguard.risk.rules.withdrawals import destination, risky_login, unusual_amount
from kabuguard.risk.signals import Signals

RULES: tuple[Rule, ...] = (
    customer_locked,
    lock_not_own,
    restricted_capability,
    blocked_network,
    halted_symbol,
    unparseable_ip,
    exposed,
    stuffing,
    automation,
    unknown_software,
    device,
    unknown_network,
    anonymising_network,
    foreign_network,
    impossible_travel,
    history,
    concurrent_login,
    factor_network,
    session_actions,
    *GUARD_RULES,
)

# Rules that can fire on some event types only (each checks its type first; a test holds them
# to it). Judging an event runs just the rules for its type: most events are orders and
# prices, and they skip the login rules' calls. Every other rule runs on every event.
_LOGIN_RULES = (
    exposed, stuffing, automation, unknown_software, device, unknown_network,
    anonymising_network, foreign_network, impossible_travel, history, concurrent_login,
    factor_network,
)  # fmt: skip
_ORDER_RULES = (
    halted_symbol, product_restriction, price_band, running_up, size, thin_name, first_trade,
    unusual, liquidate_then_buy, session_risk, coordinated, pivoted,
)  # fmt: skip
ONLY_FOR: dict[Rule, tuple[type, ...]] = {
    **dict.fromkeys(_LOGIN_RULES, (LoginAttempt,)),
    **dict.fromkeys(_ORDER_RULES, (Order,)),
    malformed: (Order, Price),
    **dict.fromkeys((approval, holder, mule), (PayoutChange,)),
    **dict.fromkeys((destination, risky_login, unusual_amount), (Withdrawal,)),
    dormant: (ContactChange,),
    lock_not_own: (CustomerUnlock,),
}
EVENT_TYPES: tuple[type, ...] = get_args(get_args(Event)[0])
RULES_FOR: dict[type, tuple[Rule, ...]] = {
    kind: tuple(rule for rule in RULES if kind in ONLY_FOR.get(rule, (kind,)))
    for kind in EVENT_TYPES
}

# Reasons a one-time code cannot answer: a relay passes codes on, a leaked password is known.
PASSKEY_ONLY = frozenset(
    {
        ReasonCode.LOGIN_CREDENTIALS_EXPOSED,
        ReasonCode.LOGIN_RELAY_CONCURRENT,
        ReasonCode.LOGIN_RELAY_FACTOR_NETWORK,
        ReasonCode.LOGIN_RELAY_HOSTING,
        ReasonCode.LOGIN_STUFFING_SUCCESS,
    }
)

MAX_SCORE = 100


def judge(event: Event, signals: Signals, policy: Policy) -> Verdict:
    """One policy's verdict on one event."""
    signals = _history_as_of(event, signals, policy)
    rules = RULES_FOR[type(event)]
    hits: list[Hit] = [found for rule in rules for found in rule(event, signals, policy)]
    score = min(MAX_SCORE, sum(found.score for found in hits))
    action = action_of(event)
    # Scores escalate customer actions only: a logout or a price report has nothing to
    # challenge or hold, though a rule may still demand an outcome for it.
    by_score = policy.thresholds.outcome_for(score) if action is not None else Outcome.ALLOW
    outcome = Outcome.highest([by_score, *(found.outcome for found in hits)])
    hits += mark_risky(event, outcome, score, policy)
    required_factor = (
        _factor(policy.required_factor[action], hits)
        if outcome is Outcome.CHALLENGE and action is not None
        else None
    )
    imposed: tuple[Restriction, ...] = (
        *cooling_off(event, outcome, policy, signals),
        *lock(event, hits, policy),
    )
    return Verdict(
        outcome=outcome,
        risk_score=score,
        required_factor=required_factor,
        hits=tuple(hits),
        restrictions=imposed,
        policy_version=policy.version,
    )


def _history_as_of(event: Event, signals: Signals, policy: Policy) -> Signals:
    """The customer's history with the sell-only logins whose session is over learned; the
    ones still in their session are not history yet (a stranger logging in again must not
    look familiar). Each policy ripens with its own `session_hours`."""
    facts = signals.login
    if facts is None or facts.profile is None or not facts.profile.pending:
        return signals
    at = int(event.occurred_at.timestamp())
    profile = ripen(facts.profile, at, policy.login.session_hours * 3600)
    return replace(signals, login=replace(facts, profile=profile))


def _factor(required: FactorClass, hits: list[Hit]) -> FactorClass:
    if any(found.code in PASSKEY_ONLY for found in hits):
        return FactorClass.PHISHING_RESISTANT
    return required


def decide(event: Event, signals: Signals, live: Policy, shadow: Policy | None = None) -> Decision:
    """The live verdict acts; the shadow verdict, when a shadow policy is set, is only kept."""
    return Decision(
        event_id=event.event_id,
        live=judge(event, signals, live),
        shadow=judge(event, signals, shadow) if shadow is not None else None,
    )

"""The engine: run every rule, let the highest outcome win, and state what follows from it."""

from __future__ import annotations

from kabuguard.risk.actions import action_of
from kabuguard.risk.codes import Outcome
from kabuguard.risk.decisions import Decision, Hit, Restriction, Verdict
from kabuguard.risk.events import Event
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import Rule
from kabuguard.risk.rules.access import (
    blocked_network,
    customer_locked,
    restricted_capability,
    unparseable_ip,
)
from kabuguard.risk.rules.payout import cooling_off
from kabuguard.risk.rules.trading import halted_symbol
from kabuguard.risk.signals import Signals

RULES: tuple[Rule, ...] = (
    customer_locked,
    restricted_capability,
    blocked_network,
    halted_symbol,
    unparseable_ip,
)

MAX_SCORE = 100


def judge(event: Event, signals: Signals, policy: Policy) -> Verdict:
    """One policy's verdict on one event."""
    hits: list[Hit] = [found for rule in RULES for found in rule(event, signals, policy)]
    score = min(MAX_SCORE, sum(found.score for found in hits))
    action = action_of(event)
    # Scores escalate customer actions only: a logout or a price report has nothing to
    # challenge or hold, though a rule may still demand an outcome for it.
    by_score = policy.thresholds.outcome_for(score) if action is not None else Outcome.ALLOW
    outcome = Outcome.highest([by_score, *(found.outcome for found in hits)])
    required_factor = (
        policy.required_factor[action]
        if outcome is Outcome.CHALLENGE and action is not None
        else None
    )
    imposed: tuple[Restriction, ...] = tuple(cooling_off(event, outcome, policy, signals))
    return Verdict(
        outcome=outcome,
        risk_score=score,
        required_factor=required_factor,
        hits=tuple(hits),
        restrictions=imposed,
        policy_version=policy.version,
    )


def decide(event: Event, signals: Signals, live: Policy, shadow: Policy | None = None) -> Decision:
    """The live verdict acts; the shadow verdict, when a shadow policy is set, is only kept."""
    return Decision(
        event_id=event.event_id,
        live=judge(event, signals, live),
        shadow=judge(event, signals, shadow) if shadow is not None else None,
    )

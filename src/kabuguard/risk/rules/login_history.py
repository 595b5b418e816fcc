"""Login rules on the customer's history: none to compare with, dormancy, the LR model."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event
from kabuguard.risk.history import log10_risk
from kabuguard.risk.login import LoginSignals
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit, login_rule, password_step

DAY = 86_400


@login_rule
def history(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    login = password_step(event)
    if login is None or login.customer_id is None:
        return
    profile = facts.profile
    if profile is not None:
        days = int((login.occurred_at.timestamp() - profile.last) // DAY)
        if days >= policy.login.dormant_days:
            yield hit(ReasonCode.LOGIN_HISTORY_DORMANT, policy, days=days)
    if profile is None or not profile.logins or facts.population is None:
        yield hit(ReasonCode.LOGIN_HISTORY_NONE, policy)
        return
    risk = log10_risk(profile, facts.population, facts.values)
    if risk >= policy.login.very_unfamiliar_at:
        yield hit(ReasonCode.LOGIN_HISTORY_VERY_UNFAMILIAR, policy)
    elif risk >= policy.login.unfamiliar_at:
        yield hit(ReasonCode.LOGIN_HISTORY_UNFAMILIAR, policy)

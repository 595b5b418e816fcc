"""Exposed credentials: a customer on the imported leak list signs in with a passkey only."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event
from kabuguard.risk.login import LoginSignals
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit, login_rule, password_step


@login_rule
def exposed(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """Listed customers meet a passkey challenge at every password step until they reset."""
    login = password_step(event)
    since = facts.exposed_since
    if login is not None and since is not None and since <= login.occurred_at:
        yield hit(ReasonCode.LOGIN_CREDENTIALS_EXPOSED, policy, Outcome.CHALLENGE)

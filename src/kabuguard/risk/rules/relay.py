"""Real-time phishing relay (domain §4.3): the proxy logs in seconds after the victim, from
another network, and enters the relayed code from its own network, not the victim's."""

from __future__ import annotations

from collections.abc import Iterator

from kabuguard.risk.codes import ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import Event, LoginAttempt, LoginStep
from kabuguard.risk.history import Level
from kabuguard.risk.login import LoginSignals
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit, login_rule, password_step


@login_rule
def concurrent_login(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """A password step seconds after the customer's last successful login, elsewhere."""
    login = password_step(event)
    profile, network = facts.profile, facts.network
    if login is None or profile is None or network.asn is None:
        return
    seconds = int(login.occurred_at.timestamp()) - profile.latest_at
    if not 0 <= seconds <= policy.login.relay_concurrent_seconds:
        return
    previous = profile.latest(Level.ASN), profile.latest(Level.PREFIX)
    if None not in previous and network.asn != previous[0] and network.prefix != previous[1]:
        yield hit(ReasonCode.LOGIN_RELAY_CONCURRENT, policy, seconds=seconds)


@login_rule
def factor_network(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    """The second factor entered from another AS than the session's password step."""
    if not isinstance(event, LoginAttempt) or event.step is not LoginStep.SECOND_FACTOR:
        return
    session, network = facts.session, facts.network
    if session is None or session.customer_id != event.customer_id:
        return
    if network.asn is not None and session.network.asn not in {None, network.asn}:
        yield hit(ReasonCode.LOGIN_RELAY_FACTOR_NETWORK, policy)

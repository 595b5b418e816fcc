"""Session rules: a login's risk carried to the later events of its session.

A login that is allowed but scores at least `session_risky_score` marks its session sell-only
(`session:login:risky` on the login): the session may sell, but buys, withdrawals, payout and
contact changes meet the restriction's enforcement, and its first sale, withdrawal or payout
change within `sensitive_action_seconds` of the login is held (liquidation within seconds is
how hijacks begin). Any session event from another AS than its login scores
`session:network:changed`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from kabuguard.risk.actions import action_of, capability_of
from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Hit
from kabuguard.risk.events import (
    CredentialChange,
    Event,
    Factor,
    LoginAttempt,
    Order,
    PayoutChange,
    Side,
)
from kabuguard.risk.login import AsnClass, LoginSignals, SessionFacts
from kabuguard.risk.policy import Policy
from kabuguard.risk.rules import hit, login_rule, password_step

# Withdrawals are not on the list: money paid out to the customer's long-standing account is not
# the attacker's, and one going to a destination registered lately is held by the withdrawal
# rules (`withdrawal:login:risky`), which read this session's risk.
SELL_ONLY = (
    Capability.BUY,
    Capability.CHANGE_CONTACT,
    Capability.CHANGE_PAYOUT,
)
_SELL_ONLY_TEXT = ", ".join(capability.value for capability in SELL_ONLY)


def mark_risky(event: Event, outcome: Outcome, score: int, policy: Policy) -> Iterator[Hit]:
    """On an allowed but risky login: the session it opens is sell-only."""
    login = password_step(event)
    if login is None or login.customer_id is None or outcome is not Outcome.ALLOW:
        return
    if score >= policy.login.session_risky_score:
        yield hit(ReasonCode.SESSION_LOGIN_RISKY, policy, capability=_SELL_ONLY_TEXT)


@login_rule
def session_actions(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    session = _live_session(event, facts, policy)
    if session is None:
        return
    network = facts.network
    # Another network than the latest login's is only telling within one known session.
    if not facts.session_inferred and _changed_network(session, facts):
        yield hit(ReasonCode.SESSION_NETWORK_CHANGED, policy, asn=network.asn)
    if not session.restricted or _approved_with_passkey(event):
        return
    capability = capability_of(event)
    if capability in SELL_ONLY or isinstance(event, CredentialChange):
        outcome = policy.enforcement[capability] if capability else Outcome.CHALLENGE
        yield hit(ReasonCode.SESSION_LOGIN_RISKY, policy, outcome, capability=_SELL_ONLY_TEXT)
    if is_sensitive(event) and session.first_sensitive_at is None:
        seconds = int((event.occurred_at - session.login_at).total_seconds())
        if seconds <= policy.login.sensitive_action_seconds:
            yield hit(ReasonCode.SESSION_ACTION_FAST, policy, Outcome.HOLD, seconds=seconds)


def is_sensitive(event: Event) -> bool:
    """Liquidation and payout change: what hijacks do first. A withdrawal is not: to the
    customer's long-standing account it moves nothing the attacker can reach, and to a
    destination registered lately the withdrawal rules hold it after any risky login."""
    if isinstance(event, Order):
        return event.side is Side.SELL
    return isinstance(event, PayoutChange)


def _approved_with_passkey(event: Event) -> bool:
    """A change the customer signed with a passkey: the step-up a risky session lacked, and one
    a relay or a password thief cannot give."""
    return isinstance(event, PayoutChange) and event.approved_with is Factor.PASSKEY


def _live_session(event: Event, facts: LoginSignals, policy: Policy) -> SessionFacts | None:
    session = facts.session
    if session is None or action_of(event) is None or isinstance(event, LoginAttempt):
        return None
    if session.customer_id != event.customer_id:
        return None
    if event.occurred_at - session.login_at > timedelta(hours=policy.login.session_hours):
        return None
    return session


def _changed_network(session: SessionFacts, facts: LoginSignals) -> bool:
    now, then = facts.network, session.network
    if now.asn is None or then.asn is None or now.asn == then.asn:
        return False
    # A phone hands over between its carrier's networks and Wi-Fi: not a different person.
    return not {now.asn_class, then.asn_class} & {AsnClass.MOBILE}

"""Credential stuffing (OWASP OAT-008, domain §4.2): windows per IP, /24, ASN and user agent.

A key is in a burst when, over the policy's window, it saw many failures on many usernames and
the failures look like a list being tried (many unknown usernames, or almost nothing but
failures). Inside a burst, an attempt the customer's own device did not make is judged:
- a failure is recognised (`login:stuffing:burst`, scored): the source can be blocked;
- a success means the password is on the list: a passkey is demanded, or, for a customer who
  has none, logins are locked until the password is reset (`login:stuffing:success`).
Narrow keys (an IP, a /24) judge every attempt but the customer's own known device. Broad keys
(an ASN, a user agent shared by many real customers) judge only attempts that look scripted:
no device id, or an automation or unparseable client. A burst through a big ISP's residential
proxies therefore never locks that ISP's customers out (per-key counters must not become a
lockout tool, domain §4.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Hit, Restriction
from kabuguard.risk.events import AttemptResult, Event, LoginAttempt
from kabuguard.risk.history import Level
from kabuguard.risk.login import LoginSignals, Window, WindowKind
from kabuguard.risk.policy import LoginPolicy, Policy
from kabuguard.risk.rules import hit, login_rule, password_step

NARROW = frozenset({WindowKind.IP, WindowKind.PREFIX})


@login_rule
def stuffing(event: Event, facts: LoginSignals, policy: Policy) -> Iterator[Hit]:
    login = password_step(event)
    if login is None or _own_device(login, facts):
        return
    judged = [w for w in facts.windows if w.kind in NARROW or _scripted(login, facts)]
    burst = next((w for w in judged if in_burst(w, login, policy.login)), None)
    if burst is None:
        return
    key = f"{burst.kind.value} {burst.key[:60]}"
    if login.result is AttemptResult.SUCCESS and login.customer_id is not None:
        profile = facts.profile
        passkey = profile is not None and profile.passkey
        outcome = Outcome.CHALLENGE if passkey else Outcome.DENY
        yield hit(ReasonCode.LOGIN_STUFFING_SUCCESS, policy, outcome, key=key)
    else:
        yield hit(ReasonCode.LOGIN_STUFFING_BURST, policy, key=key)


def in_burst(window: Window, login: LoginAttempt, policy: LoginPolicy) -> bool:
    since = login.occurred_at.timestamp() - policy.stuffing_window_minutes * 60
    buckets = [bucket for bucket in window.buckets if bucket.start >= since]
    failures = sum(bucket.failures for bucket in buckets)
    if failures < policy.stuffing_failures:
        return False
    usernames: set[int] = set().union(*(bucket.usernames for bucket in buckets))
    if len(usernames) < policy.stuffing_usernames:
        return False
    attempts = sum(bucket.attempts for bucket in buckets)
    unknown = sum(bucket.unknown_usernames for bucket in buckets)
    return (
        unknown >= policy.stuffing_unknown_share * failures
        or failures >= policy.stuffing_failure_share * attempts
    )


def lock(event: Event, hits: Iterable[Hit], policy: Policy) -> Iterator[Restriction]:
    """A stuffed password without a passkey to fall back on locks logins for a while."""
    for found in hits:
        if found.code is ReasonCode.LOGIN_STUFFING_SUCCESS and found.outcome is Outcome.DENY:
            yield Restriction(
                capability=Capability.LOGIN,
                until=event.occurred_at + timedelta(hours=policy.login.stuffing_lock_hours),
                enforcement=policy.enforcement[Capability.LOGIN],
                reason=ReasonCode.LOGIN_STUFFING_SUCCESS,
            )
            return


def _scripted(login: LoginAttempt, facts: LoginSignals) -> bool:
    software = facts.software
    return login.device_id is None or software.automation or software.unknown is not None


def _own_device(login: LoginAttempt, facts: LoginSignals) -> bool:
    profile = facts.profile
    return (
        login.device_id is not None
        and profile is not None
        and profile.has(Level.DEVICE_ID, login.device_id)
    )

"""What to tell the customer about a decided event: a pure function, no I/O, no clock.

(event, decision document, what we know of the customer) → notices. Each notice carries the
facts its templates show; which channels and addresses it goes to is the planner's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kabuguard.notifications.contacts import mask_email, mask_tail, normalise_email, normalise_phone
from kabuguard.notifications.interfaces import InvalidContact
from kabuguard.notifications.kinds import NoticeKind
from kabuguard.risk.codes import Outcome
from kabuguard.risk.events import (
    AttemptResult,
    Cancellation,
    ContactChange,
    ContactKind,
    CredentialChange,
    CustomerLock,
    CustomerUnlock,
    Event,
    Execution,
    LoginAttempt,
    Order,
    PayoutChange,
    Withdrawal,
)

UNUSUAL_ORDER_PREFIX = "order:profile:"  # reason codes of the order guard (NOTIF-2)


@dataclass(frozen=True, slots=True)
class CustomerView:
    known_devices: frozenset[str] = frozenset()
    login_session: str | None = None
    optional: frozenset[NoticeKind] = frozenset()  # optional kinds this customer receives


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    facts: Mapping[str, Any] = field(default_factory=dict)
    # Also tell the value this contact had before the event (ACCT-3, NOTIF-3).
    previous: ContactKind | None = None


def device_key(event: Event) -> str | None:
    """What identifies the customer's device: the broker's device id, else the user agent."""
    if event.device_id is not None:
        source = "device:" + event.device_id
    elif event.user_agent:
        source = "ua:" + event.user_agent
    else:
        return None
    return hashlib.sha256(source.encode()).hexdigest()[:32]


def notices_for(
    event: Event, decision: Mapping[str, Any], customer: CustomerView
) -> tuple[Notice, ...]:
    if event.customer_id is None:
        return ()
    found = _notices(event, decision, customer)
    return tuple(n for n in found if not n.kind.optional or n.kind in customer.optional)


def _notices(
    event: Event, decision: Mapping[str, Any], customer: CustomerView
) -> tuple[Notice, ...]:
    facts = _common(event, decision)
    match event:
        case LoginAttempt():
            kind = _login_kind(event, Outcome(decision["outcome"]), customer)
            return (Notice(kind, facts | _present(factor=event.factor)),) if kind else ()
        case Order():
            return (_order(event, decision, facts),)
        case Execution():
            details = _trade(event) | {"price": str(event.price)}
            return (Notice(NoticeKind.ORDER_EXECUTED, facts | details),)
        case Cancellation():
            return (Notice(NoticeKind.ORDER_CANCELLED, facts | {"order_id": event.order_id}),)
        case Withdrawal():
            details = {"amount": str(event.amount), "currency": event.currency}
            return (Notice(NoticeKind.WITHDRAWAL_REQUESTED, facts | details),)
        case PayoutChange():
            return (Notice(NoticeKind.PAYOUT_DESTINATION_CHANGED, facts | _payout(event)),)
        case ContactChange():
            return (_contact(event, facts),)
        case CredentialChange():
            details = {"credential": event.credential.value, "action": event.action.value}
            return (Notice(NoticeKind.CREDENTIAL_FACTOR_CHANGED, facts | details),)
        case CustomerLock():
            details = {"initiated_by": event.initiated_by.value}
            return (Notice(NoticeKind.ACCOUNT_LOCK_SET, facts | details),)
        case CustomerUnlock():
            details = {"initiated_by": event.initiated_by.value}
            return (Notice(NoticeKind.ACCOUNT_LOCK_LIFTED, facts | details),)
        case _:
            return ()


def _login_kind(event: LoginAttempt, outcome: Outcome, customer: CustomerView) -> NoticeKind | None:
    """Successful steps only: failures are what credential stuffing looks like, not news."""
    if event.result is not AttemptResult.SUCCESS:
        return None
    if outcome is Outcome.CHALLENGE:
        # "A code was requested although I did not log in": the relay-phishing tell (§1.1).
        return NoticeKind.LOGIN_STEP_UP_REQUESTED
    if outcome is not Outcome.ALLOW:
        return NoticeKind.LOGIN_ATTEMPT_REFUSED
    if event.session_id is not None and event.session_id == customer.login_session:
        return None  # a later step of a login already notified
    if device_key(event) in customer.known_devices:
        return NoticeKind.LOGIN_DEVICE_KNOWN
    return NoticeKind.LOGIN_DEVICE_NEW


def _order(event: Order, decision: Mapping[str, Any], facts: dict[str, Any]) -> Notice:
    details = _trade(event) | _present(limit_price=event.limit_price)
    details["order_type"] = event.order_type.value
    unusual = [r for r in decision["reasons"] if r["code"].startswith(UNUSUAL_ORDER_PREFIX)]
    if unusual:
        reasons = [{"ja": r["message"]["ja"], "en": r["message"]["en"]} for r in unusual]
        return Notice(NoticeKind.ORDER_PROFILE_UNUSUAL, facts | details | {"reasons": reasons})
    return Notice(NoticeKind.ORDER_PLACED, facts | details)


def _trade(event: Order | Execution) -> dict[str, Any]:
    return {
        "order_id": event.order_id,
        "side": event.side.value,
        "symbol": event.symbol,
        "market": event.market,
        "quantity": event.quantity,
        "currency": event.currency,
    }


def _payout(event: PayoutChange) -> dict[str, Any]:
    return {
        "bank_code": event.bank_code,
        "branch_code": event.branch_code,
        "account_type": event.account_type.value,
        "account_number": mask_tail(event.account_number),  # last four digits only
    }


def _contact(event: ContactChange, facts: dict[str, Any]) -> Notice:
    details: dict[str, Any] = {"contact": event.contact.value}
    if event.new_value is not None:
        details["new_value"] = _masked(event.contact, event.new_value)
    previous = event.contact if event.contact is not ContactKind.ADDRESS else None
    return Notice(NoticeKind.CONTACT_DETAILS_CHANGED, facts | details, previous=previous)


def _masked(contact: ContactKind, value: str) -> str:
    try:
        if contact is ContactKind.EMAIL:
            return mask_email(normalise_email(value))
        if contact is ContactKind.PHONE:
            return mask_tail(normalise_phone(value))
    except InvalidContact:
        pass
    return value[:1] + "***"  # a postal address, or a value we could not read


def _common(event: Event, decision: Mapping[str, Any]) -> dict[str, Any]:
    return {"occurred_at": event.occurred_at.isoformat(), "outcome": decision["outcome"]} | (
        _present(ip=event.ip, user_agent=event.user_agent)
    )


def _present(**values: Any) -> dict[str, Any]:
    """JSON-ready facts, leaving out what the event did not carry."""
    return {name: str(value) for name, value in values.items() if value not in (None, "")}

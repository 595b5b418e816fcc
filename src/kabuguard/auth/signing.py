"""Transaction signing (FSA III-2-8 ⑤ト): the customer approves exact details with a passkey.

The broker creates a request with the action's details. The WebAuthn challenge is
SHA-256(random nonce || canonical JSON of the details), so the authenticator signs over those
details: an assertion for ¥10,000 cannot verify against a request for ¥1,000,000 (another
challenge), and since the challenge is consumed at its first use, not twice. The approval is
then spent by the action itself: the broker submits the withdrawal (or payout or contact
change) event through POST /v1/signing/requests/{id}/submit; the event's details must equal
the approved ones, the approval is marked used in the same conditional UPDATE that checks it,
and the decision is recorded with the request (event id and outcome) and in the audit chain.
A payout change decided this way carries `approved_with: passkey`: the approval is the passkey
signature. An event that may not have been stored gives the approval back to a retry of that
same event only (same event_id, hence the same decision), never to another event; one that was
certainly not stored (its event_id belongs to another event: an idempotency conflict) gives it
back unbound, to the approved action under a new event_id.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import or_, update

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind, canonical
from kabuguard.auth.interfaces import Conflict, InvalidInput, NotFound, PasskeyRejected, Purpose
from kabuguard.auth.models import SigningRequestRow, changed
from kabuguard.auth.passkeys import Issued, Passkeys
from kabuguard.db import Database
from kabuguard.decisions.interfaces import is_idempotency_conflict
from kabuguard.risk.codes import Action
from kabuguard.risk.events import ContactChange, Event, Factor, PayoutChange, Withdrawal
from kabuguard.risk.money import decimal_text

SIGNED_ACTIONS: dict[Action, tuple[type[BaseModel], tuple[str, ...]]] = {
    Action.WITHDRAWAL: (Withdrawal, ("withdrawal_id", "amount", "currency", "destination_id")),
    Action.PAYOUT_CHANGE: (
        PayoutChange,
        (
            "destination_id",
            "bank_code",
            "branch_code",
            "account_type",
            "account_number",
            "holder_name_kana",
        ),
    ),
    Action.CONTACT_CHANGE: (ContactChange, ("contact", "new_value")),
}


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    USED = "used"


@dataclass(frozen=True, slots=True)
class SigningRequest:
    id: str
    customer_id: str
    action: Action
    details: dict[str, str]
    status: Status
    created_at: datetime
    expires_at: datetime
    approved_at: datetime | None
    credential_id: str | None
    event_id: str | None
    outcome: str | None

    @classmethod
    def of(cls, row: SigningRequestRow) -> SigningRequest:
        return cls(
            row.id,
            row.customer_id,
            Action(row.action),
            orjson.loads(row.details),
            Status(row.status),
            row.created_at,
            row.expires_at,
            row.approved_at,
            row.credential_id,
            row.event_id,
            row.outcome,
        )

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def details_of(action: Action, source: Any) -> dict[str, str]:
    """The signed fields of an event (or of the broker's request), as canonical strings."""
    model, fields = SIGNED_ACTIONS[action]
    values = source if isinstance(source, dict) else source.model_dump(mode="python")
    if isinstance(source, dict):
        probe = {"event_id": "x", "occurred_at": "2026-01-01T00:00:00+00:00", "customer_id": "x"}
        try:
            values = model.model_validate(probe | source).model_dump(mode="python")
        except ValueError as error:
            raise InvalidInput(f"details: {error}", field="details") from None
    return {field: _text(values.get(field)) for field in fields if values.get(field) is not None}


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    return str(value.value if isinstance(value, StrEnum) else value)


def challenge_for(nonce: str, details: dict[str, str]) -> bytes:
    return hashlib.sha256(bytes.fromhex(nonce) + canonical(details)).digest()


class Signing:
    def __init__(self, database: Database, passkeys: Passkeys, ttl: timedelta) -> None:
        self._db = database
        self._passkeys = passkeys
        self._ttl = ttl

    def create(
        self,
        customer_id: str,
        action: Action,
        details: dict[str, Any],
        *,
        actor: str,
        now: datetime,
    ) -> SigningRequest:
        if action not in SIGNED_ACTIONS:
            raise InvalidInput(
                f"{action.value} is not signed; use withdrawal, payout_change or contact_change",
                field="action",
            )
        if not self._passkeys.credential_ids(customer_id):
            raise Conflict("the customer has no passkey to sign with", field="customer_id")
        canonical_details = details_of(action, details)
        row = SigningRequestRow(
            id=secrets.token_urlsafe(18),
            customer_id=customer_id,
            action=action.value,
            details=canonical(canonical_details).decode(),
            nonce=secrets.token_hex(32),
            status=Status.PENDING.value,
            created_by=actor[:200],
            created_at=now,
            expires_at=now + self._ttl,
        )
        with self._db.write() as session:
            session.add(row)
            audit.append(
                session,
                kind=AuditKind.AUTH_SIGNING_CREATED,
                actor=actor,
                subject=customer_id,
                payload={"request": row.id, "action": action.value, "details": canonical_details},
                at=now,
            )
        return SigningRequest.of(row)

    def get(self, request_id: str) -> SigningRequest:
        with self._db.read() as session:
            row = session.get(SigningRequestRow, request_id[:64])
        if row is None:
            raise NotFound("no such signing request")
        return SigningRequest.of(row)

    def options(self, request_id: str, now: datetime) -> Issued:
        request = self._pending(request_id, now)
        with self._db.read() as session:
            row = session.get(SigningRequestRow, request.id)
            nonce = row.nonce if row else ""
        return self._passkeys.assertion(
            Purpose.SIGN,
            now,
            customer_id=request.customer_id,
            subject=request.id,
            challenge=challenge_for(nonce, request.details),
        )

    def approve(
        self, request_id: str, challenge_id: str, credential: Any, *, actor: str, now: datetime
    ) -> SigningRequest:
        request = self._pending(request_id, now)
        asserted = self._passkeys.verify(challenge_id, Purpose.SIGN, credential, now)
        if asserted.subject != request.id or asserted.customer_id != request.customer_id:
            raise PasskeyRejected("this approval was made for another signing request")
        R = SigningRequestRow
        with self._db.write() as session:
            done = changed(
                session,
                update(R)
                .where(R.id == request.id, R.status == Status.PENDING.value, R.expires_at > now)
                .values(
                    status=Status.APPROVED.value,
                    approved_at=now,
                    credential_id=asserted.credential_id,
                ),
            )
            if not done:
                raise Conflict("this signing request is no longer waiting for approval")
            audit.append(
                session,
                kind=AuditKind.AUTH_SIGNING_APPROVED,
                actor=actor,
                subject=request.customer_id,
                payload={
                    "request": request.id,
                    "credential_id": asserted.credential_id,
                    "details_sha256": _details_digest(request.details),
                },
                at=now,
            )
        return self.get(request.id)

    def spend(self, request_id: str, event: Event, *, now: datetime) -> SigningRequest:
        """Check the event against the approval and mark the approval used (once only)."""
        request = self.get(request_id)
        if request.status is not Status.APPROVED or request.expired(now):
            raise Conflict(
                f"this signing request is {request.status.value}, not approved and "
                "unused within its validity"
            )
        if request.event_id not in (None, event.event_id):
            raise Conflict(
                f"this approval is kept for a retry of event {request.event_id}; "
                "submit that event again",
                field="event",
            )
        _matches(request, event)
        R = SigningRequestRow
        retry = or_(R.event_id.is_(None), R.event_id == event.event_id)
        with self._db.write() as session:
            done = changed(
                session,
                update(R)
                .where(R.id == request.id, R.status == Status.APPROVED.value, retry)
                .values(status=Status.USED.value, event_id=event.event_id),
            )
        if not done:
            raise Conflict("this approval was already used")
        return request

    def record_outcome(
        self, request: SigningRequest, event: Event, outcome: str, *, actor: str, now: datetime
    ) -> SigningRequest:
        with self._db.write() as session:
            session.execute(
                update(SigningRequestRow)
                .where(SigningRequestRow.id == request.id)
                .values(outcome=outcome)
            )
            audit.append(
                session,
                kind=AuditKind.AUTH_SIGNING_USED,
                actor=actor,
                subject=request.customer_id,
                payload={
                    "request": request.id,
                    "event_id": event.event_id,
                    "outcome": outcome,
                    "details_sha256": _details_digest(request.details),
                },
                at=now,
            )
        return self.get(request.id)

    def release(self, request: SigningRequest, event_id: str | None) -> None:
        """Give the approval back when its submission failed: to a retry of `event_id`, or to
        any matching event when `event_id` is None.

        An event that may have been stored all the same (a 503 after the commit) keeps the
        approval: a retry with the same event_id gets that decision back, whereas another
        event_id with the same details would be a second decision on one approval. None is
        for an event certainly not stored (see `certainly_unstored`).
        """
        with self._db.write() as session:
            session.execute(
                update(SigningRequestRow)
                .where(SigningRequestRow.id == request.id)
                .values(status=Status.APPROVED.value, event_id=event_id)
            )

    def _pending(self, request_id: str, now: datetime) -> SigningRequest:
        request = self.get(request_id)
        if request.status is not Status.PENDING or request.expired(now):
            raise Conflict("this signing request has expired or was already answered")
        return request


def certainly_unstored(error: BaseException) -> bool:
    """Whether a failed submission certainly stored nothing: its event_id is another event's."""
    return is_idempotency_conflict(error)


def signed(event: Event) -> Event:
    """The event as approved: a payout change signed here was approved with a passkey."""
    if isinstance(event, PayoutChange):
        return event.model_copy(update={"approved_with": Factor.PASSKEY})
    return event


def _matches(request: SigningRequest, event: Event) -> None:
    model, _ = SIGNED_ACTIONS[request.action]
    if not isinstance(event, model) or event.customer_id != request.customer_id:
        raise Conflict("the event is not the approved action of this customer", field="event")
    actual = details_of(request.action, event)
    keys = request.details.keys() | actual.keys()
    differing = sorted(k for k in keys if request.details.get(k) != actual.get(k))
    if differing:
        raise Conflict(
            "the event's details differ from what the customer approved: " + ", ".join(differing),
            field="event",
        )


def _details_digest(details: dict[str, str]) -> str:
    return hashlib.sha256(canonical(details)).hexdigest()

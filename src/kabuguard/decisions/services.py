"""Decide-and-record: one transaction holds the event, the decision, state changes and audit.

Nothing here commits by itself: `Database.write()` commits the unit of work or rolls it back.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kabuguard import observability
from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.db import Database
from kabuguard.decisions.interfaces import (
    DecisionNotFound,
    EventFromFuture,
    IdempotencyConflict,
    InvalidCursor,
)
from kabuguard.decisions.models import DecisionRow, EventRow
from kabuguard.decisions.records import (
    decision_document,
    dumps,
    event_digest,
    event_document,
    in_force,
    loads,
)
from kabuguard.risk.engine import decide
from kabuguard.risk.events import Event
from kabuguard.risk.policy import Policy
from kabuguard.state.sql import NetworkCache, SqlState

Clock = Callable[[], datetime]

# Built once per dialect: insert the event unless its id exists, and say whether it did.
# RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
_INSERT_EVENT = {
    name: dialect_insert(EventRow)
    .on_conflict_do_nothing(index_elements=["event_id"])
    .returning(EventRow.event_id)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_INSERT_DECISION = insert(DecisionRow)


@dataclass(frozen=True, slots=True)
class Policies:
    live: Policy
    shadow: Policy | None = None


@dataclass(frozen=True, slots=True)
class Submitted:
    decision: dict[str, Any]
    replayed: bool


@dataclass(frozen=True, slots=True)
class ItemError:
    """A batch item that failed validation before reaching the engine."""

    status: int
    code: str
    message: str
    fields: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class TimelinePage:
    items: list[dict[str, Any]]
    next_cursor: str | None


class DecisionService:
    def __init__(
        self,
        database: Database,
        policies: Policies,
        *,
        clock: Clock,
        max_future_skew: timedelta,
        networks: NetworkCache | None = None,
    ) -> None:
        self._db = database
        self._policies = policies
        self._clock = clock
        self._max_future_skew = max_future_skew
        self._networks = networks or NetworkCache()

    def submit(self, event: Event, actor: str) -> Submitted:
        with self._db.write() as session:
            return self._decide_in(session, event, actor, self._clock())

    def submit_batch(
        self, items: Sequence[Event | ItemError], actor: str, *, commit_every: int
    ) -> list[dict[str, Any]]:
        """Decide every valid item in order; a bad item gets its own error, never fails others."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), commit_every):
            with self._db.write() as session:
                now = self._clock()
                for index in range(start, min(start + commit_every, len(items))):
                    results.append(self._batch_item(session, index, items[index], actor, now))
        return results

    def _batch_item(
        self, session: Session, index: int, item: Event | ItemError, actor: str, now: datetime
    ) -> dict[str, Any]:
        if isinstance(item, ItemError):
            return _item_error(
                index,
                event_id=None,
                status=item.status,
                code=item.code,
                message=item.message,
                fields=item.fields,
            )
        try:
            with session.begin_nested():
                submitted = self._decide_in(session, item, actor, now)
        except IdempotencyConflict as error:
            audit.forget_head(session)
            return _item_error(
                index,
                event_id=item.event_id,
                status=409,
                code="idempotency_conflict",
                message=str(error),
                fields=[],
            )
        except EventFromFuture as error:
            audit.forget_head(session)
            return _item_error(
                index,
                event_id=item.event_id,
                status=422,
                code="invalid_event",
                message=str(error),
                fields=[],
            )
        return {
            "index": index,
            "event_id": item.event_id,
            "status": 200,
            "replayed": submitted.replayed,
            "decision": submitted.decision,
        }

    def _decide_in(self, session: Session, event: Event, actor: str, now: datetime) -> Submitted:
        limit = now + self._max_future_skew
        if event.occurred_at > limit:
            raise EventFromFuture(event.event_id, event.occurred_at, limit)
        document = event_document(event)
        digest = event_digest(document)
        if not _insert_event(session, event, document, digest, now):
            return Submitted(_stored(session, event.event_id, digest), replayed=True)
        state = SqlState(session, self._networks)
        signals = state.signals_for(event)
        decision = decide(event, signals, self._policies.live, self._policies.shadow)
        state.record(event, decision.live)
        restrictions = in_force(signals.restrictions, decision.live.restrictions, event.occurred_at)
        result = decision_document(decision, restrictions, now)
        session.connection().execute(_INSERT_DECISION, _decision_row(result, now))
        audit.append(
            session,
            kind=AuditKind.DECISION_RECORDED,
            actor=actor,
            subject=event.event_id,
            payload=_audit_payload(event, digest, result),
            at=now,
        )
        observability.record_decision(result)
        return Submitted(result, replayed=False)

    def get(self, event_id: str) -> dict[str, Any]:
        with self._db.read() as session:
            row = session.get(DecisionRow, event_id)
            if row is None:
                raise DecisionNotFound(event_id)
            return _row_document(row)

    def timeline(self, customer_id: str, *, limit: int, cursor: str | None) -> TimelinePage:
        query = (
            select(EventRow, DecisionRow)
            .join(DecisionRow, DecisionRow.event_id == EventRow.event_id)
            .where(EventRow.customer_id == customer_id)
            .order_by(EventRow.occurred_at.desc(), EventRow.event_id.desc())
            .limit(limit + 1)
        )
        if cursor is not None:
            at, event_id = _decode_cursor(cursor)
            query = query.where(
                or_(
                    EventRow.occurred_at < at,
                    and_(EventRow.occurred_at == at, EventRow.event_id < event_id),
                )
            )
        with self._db.read() as session:
            rows = session.execute(query).all()
        items = [
            {"event": loads(event.payload), "decision": _row_document(decision)}
            for event, decision in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1][0]
            next_cursor = _encode_cursor(last.occurred_at, last.event_id)
        return TimelinePage(items, next_cursor)


def _insert_event(
    session: Session, event: Event, document: dict[str, Any], digest: str, now: datetime
) -> bool:
    """Insert the event unless its id exists; True when this call inserted it."""
    connection = session.connection()
    row = {
        "event_id": event.event_id,
        "type": event.type.value,
        "customer_id": event.customer_id,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "digest": digest,
        "payload": dumps(document),
    }
    return connection.execute(_INSERT_EVENT[connection.dialect.name], row).first() is not None


def _stored(session: Session, event_id: str, digest: str) -> dict[str, Any]:
    stored_digest = session.execute(
        select(EventRow.digest).where(EventRow.event_id == event_id)
    ).scalar_one()
    if stored_digest != digest:
        raise IdempotencyConflict(event_id)
    row = session.get(DecisionRow, event_id)
    if row is None:  # the event row and its decision are written in one transaction
        raise DecisionNotFound(event_id)
    return _row_document(row)


def _decision_row(document: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "event_id": document["event_id"],
        "outcome": document["outcome"],
        "risk_score": document["risk_score"],
        "required_factor": document["required_factor"],
        "reasons": dumps(document["reasons"]),
        "restrictions": dumps(document["restrictions"]),
        "policy_version": document["policy_version"],
        "shadow": dumps(document["shadow"]) if document["shadow"] is not None else None,
        "decided_at": now,
    }


def _row_document(row: DecisionRow) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "outcome": row.outcome,
        "required_factor": row.required_factor,
        "restrictions": loads(row.restrictions),
        "risk_score": row.risk_score,
        "reasons": loads(row.reasons),
        "policy_version": row.policy_version,
        "shadow": loads(row.shadow),
        "decided_at": row.decided_at.isoformat(),
    }


def _audit_payload(event: Event, digest: str, result: dict[str, Any]) -> dict[str, Any]:
    shadow = result["shadow"]
    return {
        "event_id": event.event_id,
        "event_type": event.type.value,
        "event_digest": digest,
        "customer_id": event.customer_id,
        "outcome": result["outcome"],
        "risk_score": result["risk_score"],
        "reasons": [reason["code"] for reason in result["reasons"]],
        "restrictions": result["restrictions"],
        "policy_version": result["policy_version"],
        "shadow_outcome": shadow["outcome"] if shadow else None,
    }


def _item_error(
    index: int,
    *,
    event_id: str | None,
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]],
) -> dict[str, Any]:
    error = {"code": code, "message": message, "fields": fields}
    return {"index": index, "event_id": event_id, "status": status, "error": error}


def _encode_cursor(at: datetime, event_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{event_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at_text, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidCursor from error
    if at.tzinfo is None:
        raise InvalidCursor
    return at, event_id

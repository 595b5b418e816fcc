"""The dispatcher's side of the outbox: claim due rows under a lease, record each outcome.

A claim moves `next_attempt_at` to the end of the lease and counts the attempt, so a row whose
dispatcher died is simply due again once the lease has passed. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`, so several dispatchers share the work; SQLite claims under its
single writer lock. Outcomes are written one message per transaction, each fenced by the
lease it was claimed under: a dispatcher whose lease was taken over cannot overwrite the
newer claim. Messages for a local channel (the inbox) are delivered and recorded together,
a batch in one transaction (`deliver_locally`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.db import Database
from kabuguard.notifications.interfaces import NotDeadLettered, OutboxRowNotFound
from kabuguard.notifications.kinds import ChannelKind, Locale, NoticeKind, Status
from kabuguard.notifications.models import OutboxRow

T = OutboxRow
_DUE = and_(T.status == Status.PENDING.value, T.next_attempt_at <= bindparam("now"))
_ANY_DUE = select(T.id).where(_DUE).limit(1)
_CLAIM = (
    update(T)
    .where(
        T.id.in_(
            select(T.id)
            .where(_DUE)
            .order_by(T.next_attempt_at, T.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
            .scalar_subquery()
        )
    )
    .values(
        attempts=T.attempts + 1,
        claimed_until=bindparam("lease"),
        next_attempt_at=bindparam("lease"),
    )
    .returning(
        T.id,
        T.idempotency_key,
        T.event_id,
        T.customer_id,
        T.channel,
        T.kind,
        T.locale,
        T.recipient,
        T.context,
        T.attempts,
        T.created_at,
        T.freeze_secret,
    )
)
_FENCE = and_(T.id == bindparam("row_id"), T.claimed_until == bindparam("lease"))
_DELIVERED = (
    update(T)
    .where(_FENCE)
    .values(
        status=Status.DELIVERED.value,
        delivered_at=bindparam("now"),
        claimed_until=None,
        last_error=None,
        freeze_secret=None,  # the link was sent; only its digest is needed from now on
    )
)
_FAILED = (
    update(T)
    .where(_FENCE)
    .values(
        status=bindparam("status"),
        next_attempt_at=bindparam("retry_at"),
        claimed_until=None,
        last_error=bindparam("reason"),
    )
)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    idempotency_key: str
    event_id: str
    customer_id: str
    channel: ChannelKind
    kind: NoticeKind
    locale: Locale
    recipient: str | None  # encrypted
    context: dict[str, Any]
    attempts: int  # including this one
    created_at: datetime
    freeze_secret: str | None  # encrypted
    lease: datetime


class Outbox:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self._db = database
        self._clock = clock

    def claim(self, limit: int, lease: timedelta) -> list[Claimed]:
        now = self._clock()
        with self._db.read() as session:  # no writer lock while nothing is due
            if session.execute(_ANY_DUE, {"now": now}).first() is None:
                return []
        until = now + lease
        with self._db.write() as session:
            params = {"now": now, "limit": limit, "lease": until}
            rows = session.connection().execute(_CLAIM, params).all()
        return sorted((_claimed(row._mapping, until) for row in rows), key=lambda c: c.id)

    def delivered(self, item: Claimed) -> None:
        params = {"row_id": item.id, "lease": item.lease, "now": self._clock()}
        self._record(_DELIVERED, params)

    def deliver_locally(self, items: Sequence[Claimed], deliver: Callable[[Session], None]) -> None:
        """Run `deliver` and record every item delivered, in one transaction: a local channel's
        delivery and its record commit or roll back together."""
        now = self._clock()
        params = [{"row_id": item.id, "lease": item.lease, "now": now} for item in items]
        with self._db.write() as session:
            deliver(session)
            session.connection().execute(_DELIVERED, params)

    def failed(self, item: Claimed, reason: str, *, retry_at: datetime | None) -> None:
        """Schedule another attempt at `retry_at`, or dead-letter the row when it is None."""
        now = self._clock()
        status = Status.PENDING if retry_at is not None else Status.DEAD
        params = {"row_id": item.id, "lease": item.lease, "now": now, "reason": reason[:500]}
        params |= {"status": status.value, "retry_at": retry_at or now}
        self._record(_FAILED, params)

    def _record(self, statement: Any, params: dict[str, Any]) -> None:
        """One outcome, committed at once but not flushed to disk: a process that dies keeps
        it (the OS has it); only a power cut may lose the last few, which are then sent
        again, never lost. The next claim flushes them (Database.write syncs on SQLite;
        PostgreSQL's WAL writer flushes within wal_writer_delay)."""
        with self._db.write(sync=False) as session:
            _without_flush_wait(session)
            session.connection().execute(statement, params)

    def rows(self, status: Status | None, limit: int) -> list[OutboxRow]:
        query = select(T).order_by(T.id.desc()).limit(limit)
        if status is not None:
            query = query.where(T.status == status.value)
        with self._db.read() as session:
            return list(session.execute(query).scalars())

    def retry(self, row_id: int, actor: str) -> OutboxRow:
        """Put a dead letter back in the queue, with a fresh count of attempts; audited."""
        now = self._clock()
        with self._db.write() as session:
            audit.lock_head(session)
            row = session.get(T, row_id)
            if row is None:
                raise OutboxRowNotFound(row_id)
            if row.status != Status.DEAD.value:
                raise NotDeadLettered(row_id, row.status)
            payload = {
                "id": row.id,
                "idempotency_key": row.idempotency_key,
                "channel": row.channel,
                "kind": row.kind,
                "last_error": row.last_error,
                "attempts": row.attempts,
            }
            row.status, row.attempts, row.next_attempt_at = Status.PENDING.value, 0, now
            audit.append(
                session,
                kind=AuditKind.NOTIFICATION_OUTBOX_REQUEUED,
                actor=actor,
                subject=row.customer_id,
                payload=payload,
                at=now,
            )
            return row


def _without_flush_wait(session: Session) -> None:
    if session.connection().dialect.name == "postgresql":
        session.execute(_ASYNC_COMMIT)


_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


def _claimed(row: Any, lease: datetime) -> Claimed:
    return Claimed(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        event_id=row["event_id"],
        customer_id=row["customer_id"],
        channel=ChannelKind(row["channel"]),
        kind=NoticeKind(row["kind"]),
        locale=Locale(row["locale"]),
        recipient=row["recipient"],
        context=orjson.loads(row["context"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        freeze_secret=row["freeze_secret"],
        lease=lease,
    )

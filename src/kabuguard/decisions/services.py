"""Decide-and-record: one transaction holds the event, the decision, state changes and audit.

Nothing here commits by itself: `Database.write()` commits the unit of work or rolls it back.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kabuguard import observability
from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.db import Database, in_chunks, storage_unavailable
from kabuguard.decisions.interfaces import (
    ERROR_STATUS,
    DecisionError,
    DecisionFailed,
    DecisionNotFound,
    EventFromFuture,
    IdempotencyConflict,
    InvalidCursor,
    StorageFailed,
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
from kabuguard.hotsql import insert_many, select_in
from kabuguard.lists.services import halt_entry
from kabuguard.notifications.planner import NoticeBatch, NoticePlanner
from kabuguard.parsing import ApiError, parse_event
from kabuguard.risk.engine import decide
from kabuguard.risk.events import EARLIEST, LATEST, Event, EventType
from kabuguard.risk.policy import Policy
from kabuguard.state.sql import ListCache, SqlBatch

Clock = Callable[[], datetime]

log = logging.getLogger(__name__)
COORDINATION = "system:coordination"  # the actor of buy-halts a coordination alert applies

# Built once: constructing statements per call costs more than running them.
_DECISIONS = select(DecisionRow).where(DecisionRow.event_id.in_(bindparam("ids", expanding=True)))


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
    event_id: str | None = None


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
        lists: ListCache | None = None,
        notices: NoticePlanner | None = None,
        counts: bool = True,
    ) -> None:
        """`counts=False` leaves /metrics' decision counters alone: in the writer process,
        whose server counts the answers it receives (ADR 0008)."""
        self._db = database
        self._policies = policies
        self._clock = clock
        self._max_future_skew = max_future_skew
        self._lists = lists or ListCache()
        self._notices = notices
        self._counts = counts

    def decide_many(
        self, items: Sequence[tuple[Event, str]], *, sync: bool = True
    ) -> list[Submitted | DecisionError]:
        """Decide items in order in one transaction (group commit), each with its own result.

        Should the shared transaction fail, every item is retried in a transaction of its own,
        so one item's error never costs its neighbours their decisions: a storage error, or a
        defect that one event sets off. With `sync=False` the caller makes the commit durable
        (`Database.sync()`) before answering.
        """
        try:
            with self._db.write(sync=sync) as session:
                outcomes, enqueued = self._decide_in(session, items, self._clock())
        except Exception as error:  # isolated and answered below, never lost
            if len(items) == 1 or storage_unavailable(error):
                return [_failure(event, error) for event, _actor in items]
            log.warning(
                "group commit failed (%s); retrying %d items one by one",
                type(error).__name__, len(items),
            )  # fmt: skip
            return [self.decide_many([item], sync=sync)[0] for item in items]
        if enqueued and self._notices is not None:
            self._notices.enqueued()
        if self._counts:
            _count(outcomes)
        return outcomes

    def submit_batch(
        self, items: Sequence[Event | ItemError], actor: str, *, commit_every: int
    ) -> list[dict[str, Any]]:
        """Decide every valid item in order; a bad item gets its own error, never fails others."""
        events = [
            (index, item) for index, item in enumerate(items) if not isinstance(item, ItemError)
        ]
        outcomes: dict[int, Submitted | DecisionError] = {}
        for start in range(0, len(events), commit_every):
            chunk = events[start : start + commit_every]
            decided = self.decide_many([(event, actor) for _, event in chunk])
            outcomes.update(
                (index, outcome) for (index, _), outcome in zip(chunk, decided, strict=True)
            )
        return [_batch_result(index, item, outcomes.get(index)) for index, item in enumerate(items)]

    def _decide_in(
        self, session: Session, items: Sequence[tuple[Event, str]], now: datetime
    ) -> tuple[list[Submitted | DecisionError], int]:
        """The results, and how many outbox rows were written with them."""
        # The head lock comes first: it serialises writers, so the existence check below
        # cannot race another transaction inserting the same event id.
        audit.lock_head(session)
        limit = now + self._max_future_skew
        documents = [event_document(event) for event, _ in items]
        digests = [event_digest(document) for document in documents]
        stored = _stored_digests(session, [event.event_id for event, _ in items])
        fresh = _first_new_occurrences(items, stored, limit)
        new_events = [items[i][0] for i in sorted(fresh)]
        state = SqlBatch.for_events(session, self._lists, new_events, self._policies.live)
        notices = self._notices.batch(session, new_events) if self._notices is not None else None
        results: list[Submitted | DecisionError | None] = [None] * len(items)
        first_seen: dict[str, int] = {}
        writes = _Writes(notices)
        for index, (event, actor) in enumerate(items):
            if event.occurred_at > limit:
                results[index] = EventFromFuture(event.event_id, event.occurred_at, limit)
            elif index in fresh:
                decision = self._decide_one(event, state, now)
                writes.add(
                    event, actor=actor, document=documents[index], digest=digests[index],
                    decision=decision, now=now,
                )  # fmt: skip
                results[index] = Submitted(decision, replayed=False)
                first_seen[event.event_id] = index
            elif event.event_id in first_seen:
                earlier = first_seen[event.event_id]
                results[index] = _replay_of(
                    event, digests[index], digests[earlier], results[earlier]
                )
            elif not _same_as_stored(session, event.event_id, digests[index], stored):
                results[index] = IdempotencyConflict(event.event_id)
        enqueued = writes.flush(session, state, now)
        return _fill_replays(session, items, results), enqueued

    def _decide_one(self, event: Event, state: SqlBatch, now: datetime) -> dict[str, Any]:
        signals = dataclasses.replace(state.signals_for(event), received_at=now)
        decision = decide(event, signals, self._policies.live, self._policies.shadow)
        state.record(event, decision.live)
        restrictions = in_force(signals.restrictions, decision.live.restrictions, event.occurred_at)
        return decision_document(decision, restrictions, now)

    def get(self, event_id: str) -> dict[str, Any]:
        with self._db.read() as session:
            row = session.get(DecisionRow, event_id)
            if row is None:
                raise DecisionNotFound(event_id)
            return _row_document(row)

    def timeline(
        self,
        customer_id: str,
        *,
        limit: int,
        cursor: str | None,
        types: Collection[EventType] | None = None,
    ) -> TimelinePage:
        """The customer's events and decisions, newest first; `types` keeps only those types
        (filtered in the query, so a burst of other events cannot push them off a page)."""
        query = (
            select(EventRow, DecisionRow)
            .join(DecisionRow, DecisionRow.event_id == EventRow.event_id)
            .where(EventRow.customer_id == customer_id)
            .order_by(EventRow.occurred_at.desc(), EventRow.event_id.desc())
            .limit(limit + 1)
        )
        if types is not None:
            query = query.where(EventRow.type.in_(sorted(kind.value for kind in types)))
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


class _Writes:
    """Rows a batch adds, written with one executemany per table at the end."""

    def __init__(self, notices: NoticeBatch | None) -> None:
        self.events: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.audit: list[audit.NewEntry] = []
        self.notices = notices

    def add(
        self,
        event: Event,
        *,
        actor: str,
        document: dict[str, Any],
        digest: str,
        decision: dict[str, Any],
        now: datetime,
    ) -> None:
        self.events.append(
            {
                "event_id": event.event_id,
                "type": event.type.value,
                "customer_id": event.customer_id,
                "occurred_at": event.occurred_at,
                "received_at": now,
                "digest": digest,
                "payload": dumps(document),
            }
        )
        self.decisions.append(decision)
        payload = _audit_payload(event, digest, decision)
        self.audit.append(
            audit.NewEntry(AuditKind.DECISION_RECORDED, actor, event.event_id, payload)
        )
        if self.notices is not None:
            self.notices.add(event, decision, now)

    def flush(self, session: Session, state: SqlBatch, now: datetime) -> int:
        """Write everything; returns the number of outbox rows (notifications) written."""
        if not self.events:
            return 0
        connection = session.connection()
        insert_many(connection, EventRow, self.events)
        insert_many(connection, DecisionRow, [_decision_row(d, now) for d in self.decisions])
        for halt in state.flush():  # a list change, audited as staff's are
            subject = f"{halt.market}:{halt.symbol}"
            entry = halt_entry(halt)
            self.audit.append(
                audit.NewEntry(AuditKind.LIST_HALTED_SYMBOL_ADDED, COORDINATION, subject, entry)
            )
        enqueued = self.notices.flush(session, now) if self.notices is not None else 0
        audit.append_many(session, self.audit, at=now)
        return enqueued


def _count(outcomes: list[Submitted | DecisionError]) -> None:
    for outcome in outcomes:  # counted once committed, never for a rolled-back group
        if isinstance(outcome, Submitted) and not outcome.replayed:
            observability.record_decision(outcome.decision)


def _failure(event: Event, error: Exception) -> DecisionError:
    if isinstance(error, SQLAlchemyError) or storage_unavailable(error):
        log.error("storing the decision on %s failed", event.event_id, exc_info=error)
        return StorageFailed()
    log.error("deciding %s failed", event.event_id, exc_info=error)
    return DecisionFailed(event.event_id)


def _stored_digests(session: Session, event_ids: list[str]) -> dict[str, str]:
    wanted = sorted(set(event_ids))
    columns = ("event_id", "digest")
    return dict(select_in(session.connection(), EventRow, columns, "event_id", wanted))


def _same_as_stored(session: Session, event_id: str, digest: str, stored: dict[str, str]) -> bool:
    """Whether a repeated event is the one stored. Events stored before 2026-12-07 were
    digested with money as sent (`2500.0`): their payload, normalised again, tells."""
    if stored[event_id] == digest:
        return True
    payload = session.scalar(select(EventRow.payload).where(EventRow.event_id == event_id))
    try:
        earlier = parse_event(loads(payload))
    except ApiError:  # stored before a rule it now breaks: not the same as a valid event
        return False
    return event_digest(event_document(earlier)) == digest


def _first_new_occurrences(
    items: Sequence[tuple[Event, str]], stored: dict[str, str], limit: datetime
) -> set[int]:
    """Indexes to decide: the first occurrence of each new, not future-dated event id."""
    first: dict[str, int] = {}
    for index, (event, _) in enumerate(items):
        if event.event_id not in stored and event.occurred_at <= limit:
            first.setdefault(event.event_id, index)
    return set(first.values())


def _replay_of(
    event: Event, digest: str, earlier_digest: str, earlier: Submitted | DecisionError | None
) -> Submitted | DecisionError:
    if digest != earlier_digest:
        return IdempotencyConflict(event.event_id)
    if isinstance(earlier, Submitted):
        return Submitted(earlier.decision, replayed=True)
    return earlier if earlier is not None else DecisionNotFound(event.event_id)


def _fill_replays(
    session: Session,
    items: Sequence[tuple[Event, str]],
    results: list[Submitted | DecisionError | None],
) -> list[Submitted | DecisionError]:
    """Answer repeats of stored events (the results still None) with the stored decision."""
    ids = sorted({items[i][0].event_id for i, result in enumerate(results) if result is None})
    stored = {
        row.event_id: _row_document(row)
        for chunk in in_chunks(ids)
        for row in session.execute(_DECISIONS, {"ids": chunk}).scalars()
    }
    return [
        result if result is not None else _stored_or_missing(items[index][0].event_id, stored)
        for index, result in enumerate(results)
    ]


def _stored_or_missing(
    event_id: str, stored: dict[str, dict[str, Any]]
) -> Submitted | DecisionError:
    document = stored.get(event_id)
    return Submitted(document, replayed=True) if document else DecisionNotFound(event_id)


def _batch_result(
    index: int, item: Event | ItemError, outcome: Submitted | DecisionError | None
) -> dict[str, Any]:
    if isinstance(item, ItemError):
        return _item_error(
            index, event_id=item.event_id, status=item.status, code=item.code, message=item.message,
            fields=item.fields,
        )  # fmt: skip
    if isinstance(outcome, Submitted):
        return {
            "index": index,
            "event_id": item.event_id,
            "status": 200,
            "replayed": outcome.replayed,
            "decision": outcome.decision,
        }
    status, code = (500, "internal_error")
    if outcome is not None:
        status, code = ERROR_STATUS.get(type(outcome), (status, code))
    return _item_error(
        index, event_id=item.event_id, status=status, code=code, message=str(outcome), fields=[]
    )


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
    # Only a cursor this service issued can hold more: an aware time within the events'
    # bounds (1970-2199) and an event id without NUL (PostgreSQL cannot compare one).
    if at.tzinfo is None or not EARLIEST <= at < LATEST or "\x00" in event_id:
        raise InvalidCursor
    return at, event_id

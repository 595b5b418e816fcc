"""Appending to and verifying the chain inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnClause, column, insert, select
from sqlalchemy.orm import Session

from kabuguard.audit.chain import (
    GENESIS_HASH,
    AuditKind,
    Break,
    Entry,
    VerifyReport,
    canonical_text,
    entry_hash,
    verify,
)
from kabuguard.audit.models import AuditEntry, AuditHead
from kabuguard.hotsql import insert_many, select_in, upsert_many

_HEAD_KEY = "kabuguard.audit.head"


@dataclass(frozen=True, slots=True)
class NewEntry:
    kind: AuditKind
    actor: str
    subject: str
    payload: Mapping[str, Any]


def lock_head(session: Session) -> None:
    """Take the chain's head lock now; it serialises writers until the transaction ends."""
    _locked_head(session)


def append(
    session: Session,
    *,
    kind: AuditKind,
    actor: str,
    subject: str,
    payload: Mapping[str, Any],
    at: datetime,
) -> str:
    """Append one entry in the caller's transaction and return its hash."""
    return append_many(session, [NewEntry(kind, actor, subject, payload)], at=at)


def append_many(session: Session, entries: Sequence[NewEntry], *, at: datetime) -> str:
    """Append entries in order in the caller's transaction; return the new head hash.

    The head row is locked (FOR UPDATE; BEGIN IMMEDIATE on SQLite) at the first append of a
    transaction, so concurrent writers extend the chain one after another, never forking it.
    """
    at = at.astimezone(UTC)  # hashed as stored: the column hands instants back in UTC
    seq, prev_hash = _locked_head(session)
    rows = []
    for entry in entries:
        text = canonical_text(entry.payload)
        seq += 1
        digest = entry_hash(
            seq=seq,
            recorded_at=at,
            kind=entry.kind.value,
            actor=entry.actor,
            subject=entry.subject,
            payload=text,
            prev_hash=prev_hash,
        )
        rows.append(
            {
                "seq": seq,
                "recorded_at": at,
                "kind": entry.kind.value,
                "actor": entry.actor,
                "subject": entry.subject,
                "payload": text,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    if rows:
        connection = session.connection()
        insert_many(connection, AuditEntry, rows)
        # The head row exists and is locked (`_locked_head`): this upsert updates it.
        head = {"id": 1, "seq": seq, "hash": prev_hash}
        upsert_many(connection, AuditHead, ("id",), ("seq", "hash"), [head])
        session.info[_HEAD_KEY] = (seq, prev_hash)
    return prev_hash


def _locked_head(session: Session) -> tuple[int, str]:
    cached: tuple[int, str] | None = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    connection = session.connection()
    rows = list(select_in(connection, AuditHead, ("seq", "hash"), "id", [1], for_update=True))
    if not rows:
        session.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS_HASH))
        head = (0, GENESIS_HASH)
    else:
        head = (int(rows[0][0]), str(rows[0][1]))
    # Locked until the transaction ends, and a session holds one transaction (Database.write).
    session.info[_HEAD_KEY] = head
    return head


def verify_chain(session: Session, *, batch: int = 2_000) -> VerifyReport:
    """Check the chain as one snapshot shows it: `Database.read(snapshot=True)`. Under
    PostgreSQL's READ COMMITTED, a group committed between reading the head and reading the
    entries would look like entries appended outside the head.

    Rows are read as the database holds them and converted here, one by one: a row tampered
    with so that it no longer converts (SQLite keeps any value in any column: a date that is
    no date, a payload that is bytes) is the break at that entry, not a failed check."""
    head, head_problem = _head(session)
    walk = _Walk(session, batch)
    report = verify(walk.entries(), head)
    if walk.unreadable is not None:  # every entry before it verified (`verify` is lazy)
        return VerifyReport(report.entries, report.last_hash, walk.unreadable)
    if head_problem is not None and walk.finished:  # the break is the head's, not an entry's
        problem = f"the chain's head cannot be read ({head_problem}): it was rewritten"
        return VerifyReport(report.entries, report.last_hash, Break(report.entries, problem))
    return report


def _head(session: Session) -> tuple[tuple[int, str] | None, str | None]:
    """The head (seq, hash), or why it cannot be read."""
    table = AuditHead.__table__
    row = session.execute(select(*_raw("seq", "hash")).select_from(table)).one_or_none()
    if row is None:
        return None, None
    seq, digest = row
    if not isinstance(seq, int) or isinstance(seq, bool):
        return None, f"its seq {_shown(seq)} is not a whole number"
    if not isinstance(digest, str):
        return None, f"its hash {_shown(digest)} is not text"
    return (seq, digest), None


def _raw(*names: str) -> list[ColumnClause[Any]]:
    """Columns without a type: the driver's values as they are, nothing converted."""
    return [column(name) for name in names]


_COLUMNS = ("seq", "recorded_at", "kind", "actor", "subject", "payload", "prev_hash", "hash")


class _Walk:
    """The entries in sequence order, converted one row at a time; it stops at the first row
    that does not convert, and keeps it as `unreadable`."""

    def __init__(self, session: Session, batch: int) -> None:
        self._session = session
        self._batch = batch
        self.unreadable: Break | None = None
        self.finished = False

    def entries(self) -> Iterator[Entry]:
        table = AuditEntry.__table__
        dialect = self._session.get_bind().dialect
        # Untyped columns hand back the driver's values; each column's own conversion (e.g.
        # SQLite's text to datetime) is applied below, where a failure can be caught per row.
        types = [table.c[name].type.dialect_impl(dialect) for name in _COLUMNS]
        convert = [kind.result_processor(dialect, None) for kind in types]
        statement = (
            select(*_raw(*_COLUMNS))
            .select_from(table)
            .order_by(column("seq"))
            .execution_options(yield_per=self._batch)
        )
        for raw in self._session.execute(statement):
            try:
                values = [f(v) if f is not None else v for f, v in zip(convert, raw, strict=True)]
                entry = _entry(values)
            except (ValueError, TypeError, OverflowError) as error:
                problem = f"it no longer reads as an entry ({_cut(str(error))}): it was modified"
                self.unreadable = Break(_seq(raw[0]), problem)
                return
            yield entry
        self.finished = True


def _entry(values: list[Any]) -> Entry:
    seq, recorded_at, *texts = values
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError(f"seq {_shown(seq)} is not a whole number")
    if not isinstance(recorded_at, datetime):
        raise TypeError(f"recorded_at {_shown(recorded_at)} is not a time")
    for name, value in zip(_COLUMNS[2:], texts, strict=True):
        if not isinstance(value, str):
            raise TypeError(f"{name} is {type(value).__name__}, not text")
    kind, actor, subject, payload, prev_hash, digest = texts
    return Entry(seq, recorded_at, kind, actor, subject, payload, prev_hash, digest)


def _seq(value: object) -> int:
    return value if isinstance(value, int) else -1


def _shown(value: object) -> str:
    return _cut(repr(value), 40)


def _cut(text: str, limit: int = 120) -> str:
    """At most `limit` characters: a tampered value may be of any size."""
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def last_entry_of_kind(session: Session, kind: AuditKind) -> str | None:
    """The payload of the newest entry of `kind`, e.g. the policy that was last activated."""
    payload: str | None = session.execute(
        select(AuditEntry.payload)
        .where(AuditEntry.kind == kind.value)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return payload

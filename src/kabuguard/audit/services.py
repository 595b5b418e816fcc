"""Appending to and verifying the chain inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from kabuguard.audit.chain import (
    GENESIS_HASH,
    AuditKind,
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
    entries would look like entries appended outside the head."""
    head_row = session.execute(select(AuditHead.seq, AuditHead.hash)).one_or_none()
    head = (int(head_row.seq), str(head_row.hash)) if head_row is not None else None
    return verify(_entries(session, batch), head)


def _entries(session: Session, batch: int) -> Iterator[Entry]:
    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    ).scalars()
    for row in rows:
        yield Entry(
            seq=row.seq,
            recorded_at=row.recorded_at,
            kind=row.kind,
            actor=row.actor,
            subject=row.subject,
            payload=row.payload,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


def last_entry_of_kind(session: Session, kind: AuditKind) -> str | None:
    """The payload of the newest entry of `kind`, e.g. the policy that was last activated."""
    payload: str | None = session.execute(
        select(AuditEntry.payload)
        .where(AuditEntry.kind == kind.value)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return payload

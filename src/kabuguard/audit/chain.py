"""Canonical encoding, hashing and verification of audit entries — no storage here.

Each entry's hash is SHA-256 over the previous entry's hash and the canonical JSON of the
entry, so modifying, deleting, inserting or reordering entries breaks the chain at the first
entry touched. Canonical JSON here is UTF-8, keys sorted by code point, no insignificant
white space, minimal string escaping — exactly what orjson writes with OPT_SORT_KEYS. Entries
hold only strings, integers, booleans, nulls, lists and objects (no floats, whose text forms
differ between libraries), so any JSON library that sorts keys reproduces the bytes.

A separate head (last sequence number and hash) reveals entries cut from the end; anchoring
the head outside the database (docs/operations.md) closes the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

GENESIS_HASH = "0" * 64


class AuditKind(StrEnum):
    APIKEY_CREATED = "apikey:created"
    APIKEY_REVOKED = "apikey:revoked"
    AUTH_ACCOUNT_CREATED = "auth:account:created"
    AUTH_PATH_PAUSED = "auth:path:paused"
    AUTH_SELF_LOCK_LIFTED = "auth:self_lock:lifted"
    AUTH_SELF_LOCK_SET = "auth:self_lock:set"
    AUTH_SESSION_REVOKED = "auth:session:revoked"
    AUTH_SIGNING_APPROVED = "auth:signing:approved"
    AUTH_SIGNING_CREATED = "auth:signing:created"
    AUTH_SIGNING_USED = "auth:signing:used"
    AUTH_STEP_REJECTED = "auth:step:rejected"
    AUTH_UNLOCK_APPROVED = "auth:unlock:approved"
    AUTH_UNLOCK_REQUESTED = "auth:unlock:requested"
    CASE_HOLD_REJECTED = "case:hold:rejected"
    CASE_HOLD_RELEASED = "case:hold:released"
    CUSTOMER_CONTACTS_SET = "customer:contacts:set"
    CUSTOMER_CREDENTIALS_EXPOSED = "customer:credentials:exposed"
    CUSTOMER_PREFERENCES_SET = "customer:preferences:set"
    CUSTOMER_PRODUCT_RESTRICTED = "customer:product:restricted"
    CUSTOMER_PRODUCT_UNRESTRICTED = "customer:product:unrestricted"
    CUSTOMER_RESTRICTION_ADDED = "customer:restriction:added"
    DECISION_RECORDED = "decision:recorded"
    LIST_BLOCKED_NETWORK_ADDED = "list:blocked_network:added"
    LIST_BLOCKED_NETWORK_REMOVED = "list:blocked_network:removed"
    LIST_HALTED_SYMBOL_ADDED = "list:halted_symbol:added"
    LIST_HALTED_SYMBOL_REMOVED = "list:halted_symbol:removed"
    NOTIFICATION_OUTBOX_REQUEUED = "notification:outbox:requeued"
    POLICY_ACTIVATED = "policy:activated"
    REFERENCE_DATA_IMPORTED = "reference:data:imported"


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    recorded_at: datetime
    kind: str
    actor: str
    subject: str
    payload: str  # canonical JSON text, stored as written
    prev_hash: str
    hash: str


def canonical(value: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8 (see the module docstring)."""
    _refuse_floats(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError("audit payloads carry no floats (their text forms differ); use strings")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def canonical_text(value: Mapping[str, Any]) -> str:
    return canonical(value).decode("utf-8")


def entry_hash(
    *,
    seq: int,
    recorded_at: datetime,
    kind: str,
    actor: str,
    subject: str,
    payload: str,
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "recorded_at": recorded_at.isoformat(),
        "kind": kind,
        "actor": actor,
        "subject": subject,
        "payload": payload,
    }
    # The body holds only our own strings and integers; the payload was checked when encoded.
    encoded = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode("ascii") + encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    """Where and how the chain first fails to verify."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"audit entry {self.seq}: {self.problem}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    entries: int
    last_hash: str
    first_break: Break | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify(entries: Iterable[Entry], head: tuple[int, str] | None) -> VerifyReport:
    """Walk entries in sequence order; report the first one that does not follow."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for entry in entries:
        problem = _check(entry, expected_seq, prev_hash)
        if problem is not None:
            return VerifyReport(count, prev_hash, Break(entry.seq, problem))
        expected_seq, prev_hash, count = entry.seq + 1, entry.hash, count + 1
    head_seq, head_hash = head if head is not None else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (count, prev_hash):
        return VerifyReport(count, prev_hash, _head_break(count, head_seq))
    return VerifyReport(count, prev_hash, None)


def _head_break(count: int, head_seq: int) -> Break:
    """Name the first entry the head disagrees with."""
    if count > head_seq:
        problem = f"the chain has {count} entries but its head records entry {head_seq}"
        return Break(head_seq + 1, f"{problem}: entries were appended outside the head")
    if count == head_seq:
        return Break(
            count, f"the head records entry {head_seq} with another hash: it was rewritten"
        )
    return Break(
        count + 1,
        f"the chain ends at entry {count} but its head records entry {head_seq}: "
        "entries were removed from the end",
    )


def _check(entry: Entry, expected_seq: int, prev_hash: str) -> str | None:
    if entry.seq != expected_seq:
        return f"expected entry {expected_seq} here: an entry was deleted or inserted"
    if entry.prev_hash != prev_hash:
        return "its previous-hash link does not match the entry before it (inserted or reordered)"
    recomputed = entry_hash(
        seq=entry.seq,
        recorded_at=entry.recorded_at,
        kind=entry.kind,
        actor=entry.actor,
        subject=entry.subject,
        payload=entry.payload,
        prev_hash=entry.prev_hash,
    )
    if recomputed != entry.hash:
        return "its content does not match its hash (the entry was modified)"
    return None

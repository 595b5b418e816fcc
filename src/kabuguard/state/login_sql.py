"""Login-risk state in SQL: two reads per group of events, executemany writes at the end.

- `login_profiles`: one row per customer (profile JSON and leak-list entry), read with one
  `IN` query for the group's customers;
- `login_counters`: one row per (key, bucket) for stuffing buckets, population counts and
  session facts, read with one `IN` query for the group's keys. Every row carries `expires`
  (epoch seconds); each flush deletes the expired ones, so the table stays bounded.
Writes replace whole rows: the decision service runs one writer at a time (the audit head
lock), and the group decided against the rows it loaded, so its values are the new truth.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kabuguard.db import in_chunks
from kabuguard.risk.login import Bucket
from kabuguard.state.codec import dump_profile, dump_session, load_profile, load_session
from kabuguard.state.login import (
    PERIOD_SECONDS,
    PERIODS,
    SESSION_SECONDS,
    WINDOW_SECONDS,
    Changes,
    LoginMemory,
)
from kabuguard.state.models import LoginCounterRow, LoginProfileRow

_PROFILES = select(
    LoginProfileRow.customer_id, LoginProfileRow.profile, LoginProfileRow.exposed_since
).where(LoginProfileRow.customer_id.in_(bindparam("customers", expanding=True)))
_COUNTERS = select(LoginCounterRow).where(
    LoginCounterRow.key.in_(bindparam("keys", expanding=True))
)
_EXPIRED = delete(LoginCounterRow).where(LoginCounterRow.expires < bindparam("now"))
_CLEAR_EXPOSED = (
    update(LoginProfileRow)
    .where(LoginProfileRow.customer_id == bindparam("customer"))
    .values(exposed_since=None, exposed_source=None)
)
_DIALECTS: dict[str, Any] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def _upsert(session: Session, model: Any, keys: list[str], columns: tuple[str, ...]) -> Any:
    statement = _DIALECTS[session.connection().dialect.name](model)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={column: statement.excluded[column] for column in columns}
    )


class SqlLoginStore:
    """Implements `LoginStore` over the caller's session (and its transaction)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def load(self, customers: Sequence[str], keys: Collection[str]) -> LoginMemory:
        memory = LoginMemory()
        connection = self._session.connection()
        for chunk in in_chunks(sorted(set(customers))):
            for row in connection.execute(_PROFILES, {"customers": chunk}):
                if row.profile is not None:
                    memory.profiles[row.customer_id] = load_profile(row.profile)
                if row.exposed_since is not None:
                    memory.exposed[row.customer_id] = row.exposed_since
        for chunk in in_chunks(sorted(keys)):
            for counter in self._session.execute(_COUNTERS, {"keys": chunk}).scalars():
                _load_counter(memory, counter)
        memory.changes = Changes()
        return memory

    def save(self, memory: LoginMemory, now: datetime) -> None:
        connection = self._session.connection()
        changes = memory.changes
        profiles = [
            {"customer_id": c, "profile": dump_profile(memory.profiles[c])}
            for c in sorted(changes.profiles)
        ]
        if profiles:
            statement = _upsert(self._session, LoginProfileRow, ["customer_id"], ("profile",))
            connection.execute(statement, profiles)
        for customer in sorted(changes.exposed_cleared):
            connection.execute(_CLEAR_EXPOSED, {"customer": customer})
        rows = _counter_rows(memory)
        if rows:
            columns = ("attempts", "failures", "unknown_usernames", "detail", "expires")
            connection.execute(
                _upsert(self._session, LoginCounterRow, ["key", "bucket"], columns), rows
            )
        connection.execute(_EXPIRED, {"now": int(now.timestamp())})
        memory.changes = Changes()

    def expose(self, customers: Sequence[str], since: datetime, source: str) -> int:
        """Put customers on the exposed-credentials list (passkey only until they reset)."""
        rows = [
            {"customer_id": c, "exposed_since": since, "exposed_source": source}
            for c in sorted(set(customers))
        ]
        if rows:
            statement = _upsert(
                self._session, LoginProfileRow, ["customer_id"], ("exposed_since", "exposed_source")
            )
            self._session.connection().execute(statement, rows)
        return len(rows)


def _load_counter(memory: LoginMemory, row: LoginCounterRow) -> None:
    kind = row.key.split(":", 1)[0]
    if kind == "session":
        assert row.detail is not None
        memory.sessions[row.key] = load_session(row.detail)
    elif kind == "pop":
        memory.counts.setdefault(row.key, {})[row.bucket] = row.attempts
    else:
        usernames = frozenset(orjson.loads(row.detail or "[]"))
        bucket = Bucket(row.bucket, row.attempts, row.failures, row.unknown_usernames, usernames)
        memory.buckets.setdefault(row.key, {})[row.bucket] = bucket


def _counter_rows(memory: LoginMemory) -> list[dict[str, Any]]:
    changes = memory.changes
    rows: list[dict[str, Any]] = []
    for key, start in sorted(changes.buckets):
        bucket = memory.buckets.get(key, {}).get(start)
        if bucket is not None:
            detail = orjson.dumps(sorted(bucket.usernames)).decode()
            rows.append(_row(key, start, bucket.attempts, start + WINDOW_SECONDS, detail))
            rows[-1] |= {"failures": bucket.failures, "unknown_usernames": bucket.unknown_usernames}
    for key, period in sorted(changes.counts):
        count = memory.counts.get(key, {}).get(period)
        if count is not None:
            rows.append(_row(key, period, count, (period + PERIODS) * PERIOD_SECONDS))
    for key in sorted(changes.sessions):
        session = memory.sessions.get(key)
        if session is not None:
            expires = int(session.login_at.timestamp()) + SESSION_SECONDS
            rows.append(_row(key, 0, 0, expires, dump_session(session)))
    return rows


def _row(
    key: str, bucket: int, attempts: int, expires: int, detail: str | None = None
) -> dict[str, Any]:
    return {
        "key": key,
        "bucket": bucket,
        "attempts": attempts,
        "failures": 0,
        "unknown_usernames": 0,
        "detail": detail,
        "expires": expires,
    }

"""Login-risk state in SQL: two reads per group of events, executemany writes at the end.

- `login_profiles`: one row per customer (profile JSON and leak-list entry), read with one
  `IN` query for the group's customers;
- `login_counters`: one row per (key, bucket) for stuffing buckets, population counts and
  session facts, read with one `IN` query for the group's keys. Every row carries `expires`
  (epoch seconds); each flush deletes the expired ones, so the table stays bounded.
Counters and profiles are read and written on the driver (`kabuguard.hotsql`).
Writes replace whole rows: the decision service runs one writer at a time (the audit head
lock), and the group decided against the rows it loaded, so its values are the new truth.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from kabuguard.hotsql import Row, delete_below, select_in, upsert_many
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

_PROFILE_COLUMNS = ("customer_id", "profile", "exposed_since")
_COUNTER_COLUMNS = ("key", "bucket", "attempts", "failures", "unknown_usernames", "detail")
_COUNTER_VALUES = ("attempts", "failures", "unknown_usernames", "detail", "expires")
_CLEAR_EXPOSED = (
    update(LoginProfileRow)
    .where(LoginProfileRow.customer_id == bindparam("customer"))
    .values(exposed_since=None, exposed_source=None)
)


class SqlLoginStore:
    """Implements `LoginStore` over the caller's session (and its transaction)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def load(self, customers: Sequence[str], keys: Collection[str]) -> LoginMemory:
        memory = LoginMemory()
        connection = self._session.connection()
        wanted = sorted(set(customers))
        for customer, profile, exposed_since in select_in(
            connection, LoginProfileRow, _PROFILE_COLUMNS, "customer_id", wanted
        ):
            if profile is not None:
                memory.profiles[customer] = load_profile(profile)
            if exposed_since is not None:
                memory.exposed[customer] = exposed_since
        counters = select_in(connection, LoginCounterRow, _COUNTER_COLUMNS, "key", sorted(keys))
        for counter in counters:
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
        upsert_many(connection, LoginProfileRow, ("customer_id",), ("profile",), profiles)
        for customer in sorted(changes.exposed_cleared):
            connection.execute(_CLEAR_EXPOSED, {"customer": customer})
        rows = _counter_rows(memory)
        upsert_many(connection, LoginCounterRow, ("key", "bucket"), _COUNTER_VALUES, rows)
        delete_below(connection, LoginCounterRow, "expires", int(now.timestamp()))
        memory.changes = Changes()

    def expose(self, customers: Sequence[str], since: datetime, source: str) -> int:
        """Put customers on the exposed-credentials list (passkey only until they reset)."""
        rows = [
            {"customer_id": c, "exposed_since": since, "exposed_source": source}
            for c in sorted(set(customers))
        ]
        columns = ("exposed_since", "exposed_source")
        upsert_many(self._session.connection(), LoginProfileRow, ("customer_id",), columns, rows)
        return len(rows)


def _load_counter(memory: LoginMemory, row: Row) -> None:
    key, start, attempts, failures, unknown_usernames, detail = row
    kind = key.split(":", 1)[0]
    if kind == "session":
        assert detail is not None
        memory.sessions[key] = load_session(detail)
    elif kind == "pop":
        memory.counts.setdefault(key, {})[start] = attempts
    else:
        usernames = frozenset(orjson.loads(detail or "[]"))
        bucket = Bucket(start, attempts, failures, unknown_usernames, usernames)
        memory.buckets.setdefault(key, {})[start] = bucket


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

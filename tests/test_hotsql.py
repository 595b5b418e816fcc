"""Statements on the driver: same results as SQLAlchemy's, same errors, visible to listeners."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from kabuguard.db import Database
from kabuguard.decisions.models import EventRow
from kabuguard.hotsql import delete_below, insert_many, select_in, upsert_many
from kabuguard.state.guard_models import GuardKeyRow
from kabuguard.state.models import InstrumentRow, LoginCounterRow


def _key(key: str, detail: str = "{}", expires: int = 100) -> dict[str, Any]:
    return {"key": key, "detail": detail, "expires": expires}


def test_upsert_inserts_then_updates_and_select_reads_back(database: Database) -> None:
    with database.write() as session:
        connection = session.connection()
        upsert_many(
            connection, GuardKeyRow, ("key",), ("detail", "expires"), [_key("a"), _key("b")]
        )
        upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), [_key("a", "[1]", 7)])
        rows = sorted(
            select_in(
                connection, GuardKeyRow, ("key", "detail", "expires"), "key", ["a", "b", "zz"]
            )
        )
    assert rows == [("a", "[1]", 7), ("b", "{}", 100)]
    with database.read() as session:  # committed like any other statement of the transaction
        stored = session.execute(select(GuardKeyRow.key, GuardKeyRow.detail)).all()
    assert sorted(tuple(row) for row in stored) == [("a", "[1]"), ("b", "{}")]


def test_select_reads_past_the_parameter_chunk(database: Database) -> None:
    keys = [f"k-{n:04d}" for n in range(1_203)]  # three IN lists of at most 500
    with database.write() as session:
        connection = session.connection()
        upsert_many(
            connection, GuardKeyRow, ("key",), ("detail", "expires"), [_key(k) for k in keys]
        )
        found = [key for (key,) in select_in(connection, GuardKeyRow, ("key",), "key", keys)]
    assert sorted(found) == keys


def test_composite_keys_and_integer_columns(database: Database) -> None:
    columns = ("attempts", "failures", "unknown_usernames", "detail", "expires")
    row = {"key": "ip:x", "bucket": 5, "attempts": 1, "failures": 1, "unknown_usernames": 0}
    with database.write() as session:
        connection = session.connection()
        upsert_many(
            connection,
            LoginCounterRow,
            ("key", "bucket"),
            columns,
            [row | {"detail": None, "expires": 9}],
        )
        upsert_many(
            connection,
            LoginCounterRow,
            ("key", "bucket"),
            columns,
            [row | {"detail": "[]", "expires": 9, "attempts": 4}],
        )
        upsert_many(
            connection,
            LoginCounterRow,
            ("key", "bucket"),
            columns,
            [row | {"bucket": 6, "detail": None, "expires": 9}],
        )
        found = sorted(
            select_in(
                connection, LoginCounterRow, ("bucket", "attempts", "detail"), "key", ["ip:x"]
            )
        )
    assert found == [(5, 4, "[]"), (6, 1, None)]


def test_delete_below_removes_only_what_expired(database: Database) -> None:
    with database.write() as session:
        connection = session.connection()
        upsert_many(
            connection,
            GuardKeyRow,
            ("key",),
            ("detail", "expires"),
            [_key("old", expires=5), _key("new", expires=50)],
        )
        delete_below(connection, GuardKeyRow, "expires", 50)
        left = [
            key for (key,) in select_in(connection, GuardKeyRow, ("key",), "key", ["old", "new"])
        ]
    assert left == ["new"]


def test_a_driver_error_is_sqlalchemys_and_rolls_back(database: Database) -> None:
    def write_a_null_detail() -> None:
        with database.write() as session:
            connection = session.connection()
            upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), [_key("kept")])
            bad = {"key": "bad", "detail": None, "expires": 1}
            upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), [bad])

    with pytest.raises(IntegrityError):
        write_a_null_detail()
    with database.read() as session:
        assert session.execute(select(GuardKeyRow.key)).all() == []


def test_listeners_see_each_statement(database: Database) -> None:
    seen: list[tuple[str, bool]] = []

    def record(*args: Any) -> None:
        seen.append((str(args[2]), bool(args[5])))

    with database.write() as session:
        connection = session.connection()
        sa_event.listen(connection, "before_cursor_execute", record)
        upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), [_key("a")])
        list(select_in(connection, GuardKeyRow, ("key",), "key", ["a"]))
        delete_below(connection, GuardKeyRow, "expires", 0)
        sa_event.remove(connection, "before_cursor_execute", record)
    assert [(sql.split()[0], many) for sql, many in seen] == [
        ("INSERT", True),
        ("SELECT", False),
        ("DELETE", False),
    ]


def test_nothing_to_write_runs_no_statement(database: Database) -> None:
    seen: list[str] = []
    with database.write() as session:
        connection = session.connection()
        sa_event.listen(connection, "before_cursor_execute", lambda *args: seen.append(args[2]))
        upsert_many(connection, GuardKeyRow, ("key",), ("detail",), [])
        assert list(select_in(connection, GuardKeyRow, ("key",), "key", [])) == []
    assert seen == []


def test_datetimes_are_stored_as_sqlalchemy_stores_them(database: Database) -> None:
    """Written here and read by the ORM, written by the ORM and read here: the same instants."""
    at = datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=9)))
    row = {
        "event_id": "e-1", "type": "logout", "customer_id": None, "occurred_at": at,
        "received_at": at + timedelta(seconds=1), "digest": "d", "payload": "{}",
    }  # fmt: skip
    with database.write() as session:
        insert_many(session.connection(), EventRow, [row])
        session.add(EventRow(**(row | {"event_id": "e-2"})))
    with database.read() as session:
        stored = session.get(EventRow, "e-1")
        assert stored is not None
        assert (stored.occurred_at, stored.customer_id) == (at, None)
        assert stored.occurred_at.tzinfo is not None
        found: dict[str, datetime] = dict(
            select_in(
                session.connection(),
                EventRow,
                ("event_id", "received_at"),
                "event_id",
                ["e-1", "e-2"],
            )
        )
    assert found == {"e-1": at + timedelta(seconds=1), "e-2": at + timedelta(seconds=1)}


def test_an_unknown_column_is_refused(database: Database) -> None:
    with database.read() as session, pytest.raises(KeyError):
        list(select_in(session.connection(), GuardKeyRow, ("no_such_column",), "key", ["a"]))


def test_above_keeps_only_rows_past_the_bound(database: Database) -> None:
    rows = [_key("a", expires=5), _key("b", expires=6), _key("c", expires=7)]
    with database.write() as session:
        connection = session.connection()
        upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), rows)
        found = select_in(
            connection, GuardKeyRow, ("key",), "key", ["a", "b", "c"], above=("expires", 5)
        )
        assert sorted(key for (key,) in found) == ["b", "c"]


def test_for_update_locks_the_rows_on_postgresql(database: Database) -> None:
    with database.write() as session:
        upsert_many(session.connection(), GuardKeyRow, ("key",), ("detail", "expires"), [_key("h")])
    with database.write() as session:
        connection = session.connection()
        rows = select_in(connection, GuardKeyRow, ("key",), "key", ["h"], for_update=True)
        assert list(rows) == [("h",)]
        if database.engine.dialect.name != "postgresql":
            return  # a SQLite writer holds the whole database (BEGIN IMMEDIATE)
        with database.engine.connect() as other:
            other.exec_driver_sql("SET lock_timeout = '100ms'")
            with pytest.raises(OperationalError, match="lock"):
                other.exec_driver_sql("SELECT key FROM guard_keys WHERE key = 'h' FOR UPDATE")


def test_read_datetimes_come_back_in_utc(database: Database) -> None:
    at = datetime(2026, 12, 7, 9, 30, tzinfo=timezone(timedelta(hours=9)))
    row = {
        "event_id": "e-1", "type": "logout", "customer_id": None, "occurred_at": at,
        "received_at": at, "digest": "d", "payload": "{}",
    }  # fmt: skip
    with database.write() as session:
        insert_many(session.connection(), EventRow, [row])
        [(read,)] = select_in(session.connection(), EventRow, ("occurred_at",), "event_id", ["e-1"])
    assert read == at
    assert read.utcoffset() == timedelta(0)


def test_a_driver_error_hides_the_parameters_as_the_engine_does(database: Database) -> None:
    secret = "ヤマダ タロウ 0123456"
    rows = [{"key": "k", "detail": secret, "expires": 1}] * 2  # the same key twice
    with database.write() as session, pytest.raises(IntegrityError) as raised:
        insert_many(session.connection(), GuardKeyRow, rows)
    assert database.engine.hide_parameters
    assert secret not in str(raised.value)
    assert "parameters hidden" in str(raised.value)


def test_a_value_the_column_cannot_take_is_a_statement_error(database: Database) -> None:
    naive = datetime(2026, 12, 7, 9, 30)  # noqa: DTZ001 (the point: no zone)
    row: dict[str, Any] = {"event_id": "e-1", "type": "logout", "customer_id": None}
    row |= {"occurred_at": naive, "received_at": naive, "digest": "d", "payload": "{}"}
    with database.write() as session, pytest.raises(StatementError):
        insert_many(session.connection(), EventRow, [row])


def test_key_lists_share_a_few_statement_texts(database: Database) -> None:
    seen: set[str] = set()

    def record(*args: Any) -> None:
        seen.add(str(args[2]))

    with database.write() as session:
        connection = session.connection()
        rows = [_key(f"k-{n}") for n in range(40)]
        upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), rows)
        sa_event.listen(connection, "before_cursor_execute", record)
        for count in range(17, 33):  # every length from 17 to 32 reads as 32
            keys = [f"k-{n}" for n in range(count)]
            assert sorted(
                k for (k,) in select_in(connection, GuardKeyRow, ("key",), "key", keys)
            ) == sorted(keys)
        sa_event.remove(connection, "before_cursor_execute", record)
    assert len(seen) == 1


def test_numeric_columns_are_refused(database: Database) -> None:
    with database.read() as session, pytest.raises(TypeError, match="numeric columns"):
        list(select_in(session.connection(), InstrumentRow, ("last",), "symbol", ["7203"]))


def test_skip_existing_leaves_a_stored_row_as_it_is(database: Database) -> None:
    with database.write() as session:
        connection = session.connection()
        insert_many(connection, GuardKeyRow, [_key("a", "first")], skip_existing=("key",))
        insert_many(
            connection, GuardKeyRow, [_key("a", "second"), _key("b")], skip_existing=("key",)
        )
        found = sorted(select_in(connection, GuardKeyRow, ("key", "detail"), "key", ["a", "b"]))
    assert found == [("a", "first"), ("b", "{}")]

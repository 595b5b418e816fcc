"""The decision path's hottest statements, run on the database driver itself.

SQLAlchemy's execution layer costs 25 to 30 µs a statement before the driver starts, several
times what a keyed read takes on SQLite, and a decision group issues a score of them (profiled:
docs/operations.md#performance). These helpers run the same statements straight on the driver
inside the caller's transaction. They are for text and integer columns only: nothing here
converts types, so a datetime column must stay on SQLAlchemy.

The SQL is generated from the table's own metadata, so a renamed column cannot drift, and is
the same on SQLite and PostgreSQL except the placeholder. A driver error is re-raised as
SQLAlchemy's, so callers' error handling (the group commit's retry, say) sees no difference,
and statement listeners are told of each statement before it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

from kabuguard.db import Base, in_chunks

Row = tuple[Any, ...]


def select_in(
    connection: Connection,
    model: type[Base],
    columns: Sequence[str],
    key: str,
    values: Sequence[Any],
) -> Iterator[Row]:
    """`SELECT columns FROM model WHERE key IN values`, as plain tuples in `columns` order."""
    for chunk in in_chunks(values):
        sql = _select_sql(connection.dialect.name, _table(model), tuple(columns), key, len(chunk))
        yield from _run(connection, sql, tuple(chunk), many=False)


def upsert_many(
    connection: Connection,
    model: type[Base],
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Insert `rows` (dicts holding `keys` and `columns`); on a key conflict, update `columns`."""
    if not rows:
        return
    names = (*keys, *columns)
    sql = _upsert_sql(connection.dialect.name, _table(model), tuple(keys), tuple(columns))
    _run(connection, sql, [tuple(row[name] for name in names) for row in rows], many=True)


def delete_below(connection: Connection, model: type[Base], column: str, bound: Any) -> None:
    """`DELETE FROM model WHERE column < bound` (expiry sweeps)."""
    sql = _delete_sql(connection.dialect.name, _table(model), column)
    _run(connection, sql, (bound,), many=False)


def _run(connection: Connection, sql: str, params: Any, *, many: bool) -> list[Row]:
    dbapi = connection.dialect.loaded_dbapi
    cursor = connection.connection.cursor()
    # Statement listeners (tracing, the tests' statement counts) see these statements too.
    if connection.dispatch.before_cursor_execute:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, many)
    try:
        if many:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []
    except dbapi.Error as error:
        raise DBAPIError.instance(sql, params, error, dbapi.Error) from error
    finally:
        cursor.close()


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _mark(dialect: str) -> str:
    return "%s" if dialect == "postgresql" else "?"


def _quote(name: str) -> str:
    # Every column is quoted: "key" is a keyword on both databases.
    return '"' + name.replace('"', '""') + '"'


@functools.cache
def _select_sql(dialect: str, table: Table, columns: tuple[str, ...], key: str, count: int) -> str:
    _check(table, (*columns, key))
    listed = ", ".join(_quote(c) for c in columns)
    marks = ", ".join([_mark(dialect)] * count)
    where = f"{_quote(key)} IN ({marks})"
    return f"SELECT {listed} FROM {table.name} WHERE {where}"  # noqa: S608 (names from metadata)


@functools.cache
def _upsert_sql(dialect: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> str:
    _check(table, (*keys, *columns))
    names = ", ".join(_quote(c) for c in (*keys, *columns))
    marks = ", ".join([_mark(dialect)] * (len(keys) + len(columns)))
    conflict = ", ".join(_quote(k) for k in keys)
    updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns)
    into = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 (as above)
    return f"{into} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


@functools.cache
def _delete_sql(dialect: str, table: Table, column: str) -> str:
    _check(table, (column,))
    where = f"{_quote(column)} < {_mark(dialect)}"
    return f"DELETE FROM {table.name} WHERE {where}"  # noqa: S608 (names from metadata)


def _check(table: Table, names: Sequence[str]) -> None:
    """Refuse a column the table lacks, and any whose values the driver would need converted."""
    for name in names:
        column = table.columns[name]  # KeyError names a column that does not exist
        if column.type.python_type not in (str, int):
            raise TypeError(f"{table.name}.{name} is not text or an integer")

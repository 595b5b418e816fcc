"""The decision path's hottest statements, run on the database driver itself.

SQLAlchemy's execution layer costs 25 to 30 µs a statement before the driver starts, several
times what a keyed read takes on SQLite, and a decision group issued a score of them
(profiled: docs/operations.md#performance). These helpers run the same statements straight on
the driver inside the caller's transaction.

The SQL is generated from the table's own metadata, so a renamed column cannot drift, and is
the same on SQLite and PostgreSQL except the placeholder. Values pass through each column
type's own bind and result processors for the dialect (the UTC datetimes, say), exactly as
SQLAlchemy would apply them. A driver error is re-raised as SQLAlchemy's, so callers' error
handling (the group commit's retry, say) sees no difference, and statement listeners are told
of each statement before it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from kabuguard.db import Base, in_chunks

Row = tuple[Any, ...]
_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Shape:
    """One statement's text and the per-column value conversions around it."""

    sql: str
    binds: tuple[_Processor, ...]  # for the parameters, in placeholder order
    results: tuple[_Processor, ...] = ()  # for the selected columns

    def bind(self, values: Sequence[Any]) -> Row:
        return tuple(
            value if convert is None else convert(value)
            for convert, value in zip(self.binds, values, strict=True)
        )

    def result(self, row: Row) -> Row:
        return tuple(
            value if convert is None else convert(value)
            for convert, value in zip(self.results, row, strict=True)
        )


def select_in(
    connection: Connection,
    model: type[Base],
    columns: Sequence[str],
    key: str,
    values: Sequence[Any],
    *,
    above: tuple[str, Any] | None = None,
    for_update: bool = False,
) -> Iterator[Row]:
    """`SELECT columns FROM model WHERE key IN values [AND column > bound]`, as tuples in
    `columns` order; `for_update` locks the rows read on PostgreSQL (a SQLite transaction
    that writes holds the whole database already)."""
    dialect = connection.dialect
    lower, bound = above if above is not None else (None, None)
    for chunk in in_chunks(values):
        shape = _select(dialect, _table(model), tuple(columns), key, len(chunk), lower, for_update)
        params = [*chunk, bound] if lower is not None else chunk
        for row in _run(connection, shape.sql, shape.bind(params), many=False):
            yield shape.result(row)


def insert_many(connection: Connection, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows`, dicts with the same keys (the columns written)."""
    if rows:
        names = tuple(rows[0])
        shape = _upsert(connection.dialect, _table(model), (), names)
        _run(connection, shape.sql, [shape.bind([r[n] for n in names]) for r in rows], many=True)


def upsert_many(
    connection: Connection,
    model: type[Base],
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Insert `rows` (dicts holding `keys` and `columns`); on a key conflict, update `columns`."""
    if rows:
        names = (*keys, *columns)
        shape = _upsert(connection.dialect, _table(model), tuple(keys), tuple(columns))
        _run(connection, shape.sql, [shape.bind([r[n] for n in names]) for r in rows], many=True)


def delete_below(connection: Connection, model: type[Base], column: str, bound: Any) -> None:
    """`DELETE FROM model WHERE column < bound` (expiry sweeps)."""
    shape = _delete(connection.dialect, _table(model), column)
    _run(connection, shape.sql, shape.bind([bound]), many=False)


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


def _mark(dialect: Dialect) -> str:
    return "%s" if dialect.name == "postgresql" else "?"


def _quote(name: str) -> str:
    # Every name is quoted: "key" is a keyword on both databases.
    return '"' + name.replace('"', '""') + '"'


def _binds(dialect: Dialect, table: Table, names: Sequence[str]) -> tuple[_Processor, ...]:
    # KeyError names a column the table lacks.
    return tuple(table.columns[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)


def _results(dialect: Dialect, table: Table, names: Sequence[str]) -> tuple[_Processor, ...]:
    return tuple(
        table.columns[n].type.dialect_impl(dialect).result_processor(dialect, None) for n in names
    )


# Cached per dialect and shape: one engine per process, so these stay a handful of entries.
@functools.cache
def _select(  # noqa: PLR0917 (the cache key is the statement's whole shape)
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    key: str,
    count: int,
    lower: str | None,
    for_update: bool,
) -> _Shape:
    listed = ", ".join(_quote(c) for c in columns)
    where = f"{_quote(key)} IN ({', '.join([_mark(dialect)] * count)})"
    bound = [key] * count
    if lower is not None:
        where += f" AND {_quote(lower)} > {_mark(dialect)}"
        bound.append(lower)
    sql = f"SELECT {listed} FROM {table.name} WHERE {where}"  # noqa: S608 (names from metadata)
    if for_update and dialect.name == "postgresql":
        sql += " FOR UPDATE"
    return _Shape(sql, _binds(dialect, table, bound), _results(dialect, table, columns))


@functools.cache
def _upsert(
    dialect: Dialect, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]
) -> _Shape:
    """An INSERT; with `keys`, one that updates `columns` on a key conflict."""
    names = (*keys, *columns)
    listed = ", ".join(_quote(c) for c in names)
    marks = ", ".join([_mark(dialect)] * len(names))
    sql = f"INSERT INTO {table.name} ({listed}) VALUES ({marks})"  # noqa: S608 (as above)
    if keys:
        updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns)
        sql += f" ON CONFLICT ({', '.join(_quote(k) for k in keys)}) DO UPDATE SET {updates}"
    return _Shape(sql, _binds(dialect, table, names))


@functools.cache
def _delete(dialect: Dialect, table: Table, column: str) -> _Shape:
    where = f"{_quote(column)} < {_mark(dialect)}"
    sql = f"DELETE FROM {table.name} WHERE {where}"  # noqa: S608 (names from metadata)
    return _Shape(sql, _binds(dialect, table, [column]))

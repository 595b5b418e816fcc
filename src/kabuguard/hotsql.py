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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Numeric, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from kabuguard.db import Base, in_chunks

Row = tuple[Any, ...]
_Processor = Callable[[Any], Any] | None
_IN_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 500)  # 500: in_chunks' largest chunk


@dataclass(frozen=True, slots=True)
class _Shape:
    """One statement's text and the per-column value conversions around it."""

    sql: str
    binds: tuple[_Processor, ...]  # for the parameters, in placeholder order
    results: tuple[_Processor, ...] = ()  # for the selected columns
    # The columns that have a conversion: most have none, and their values pass untouched.
    _bind_plan: _Plan = field(init=False, repr=False, compare=False)
    _result_plan: _Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_bind_plan", _plan(self.binds))
        object.__setattr__(self, "_result_plan", _plan(self.results))

    def bind(self, values: Sequence[Any]) -> Row:
        return _convert(self._bind_plan, len(self.binds), values)

    def result(self, row: Row) -> Row:
        return _convert(self._result_plan, len(self.results), row)


_Plan = tuple[tuple[int, Callable[[Any], Any]], ...]


def _plan(processors: tuple[_Processor, ...]) -> _Plan:
    return tuple((index, convert) for index, convert in enumerate(processors) if convert)


def _convert(plan: _Plan, width: int, values: Sequence[Any]) -> Row:
    if len(values) != width:
        raise ValueError(f"{len(values)} values for {width} columns")
    if not plan:
        return tuple(values)
    converted = list(values)
    for index, convert in plan:
        converted[index] = convert(converted[index])
    return tuple(converted)


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
    lower, bound = above if above is not None else (None, None)
    for chunk in in_chunks(values):
        # The list is padded to a few lengths by repeating its last value (IN ignores
        # repeats), so each query has a handful of texts for the drivers' statement caches.
        padded = [*chunk, *[chunk[-1]] * (_padded_length(len(chunk)) - len(chunk))]
        shape = _shape(
            connection.dialect, "select", _table(model), tuple(columns), key, len(padded),
            lower, for_update,
        )  # fmt: skip
        params = [*padded, bound] if lower is not None else padded
        for row in _run(connection, shape, [params], many=False):
            yield shape.result(row)


def insert_many(
    connection: Connection,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    skip_existing: Sequence[str] = (),
) -> None:
    """Insert `rows`, dicts with the same keys (the columns written); with `skip_existing`
    (a unique key), a row whose key is stored already is left as it is."""
    if rows:
        _write(connection, model, tuple(rows[0]), tuple(skip_existing), (), rows)


def upsert_many(
    connection: Connection,
    model: type[Base],
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
) -> None:
    """Insert `rows` (dicts holding `keys` and `columns`); on a key conflict, update `columns`."""
    if rows:
        _write(connection, model, (*keys, *columns), tuple(keys), tuple(columns), rows)


def _write(  # noqa: PLR0917 (the statement's whole shape, then the rows)
    connection: Connection,
    model: type[Base],
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
) -> None:
    shape = _shape(connection.dialect, "insert", _table(model), names, conflict, update)
    _run(connection, shape, [[row[name] for name in names] for row in rows], many=True)


def delete_below(connection: Connection, model: type[Base], column: str, bound: Any) -> None:
    """`DELETE FROM model WHERE column < bound` (expiry sweeps)."""
    shape = _shape(connection.dialect, "delete", _table(model), column)
    _run(connection, shape, [[bound]], many=False)


def _run(
    connection: Connection, shape: _Shape, rows: list[Sequence[Any]], *, many: bool
) -> list[Row]:
    """Bind and run, raising what SQLAlchemy would: a driver error as `DBAPIError`, a value
    the column type cannot convert as `StatementError`, with parameters hidden as the engine
    hides them (they hold customer data)."""
    dialect = connection.dialect
    params: Any = None
    cursor = connection.connection.cursor()
    try:
        params = [shape.bind(row) for row in rows] if many else shape.bind(rows[0])
        # Statement listeners (tracing, the tests' statement counts) see these statements too.
        if connection.dispatch.before_cursor_execute:
            connection.dispatch.before_cursor_execute(
                connection, cursor, shape.sql, params, None, many
            )
        if many:
            cursor.executemany(shape.sql, params)
            return []
        cursor.execute(shape.sql, params)
        return list(cursor.fetchall()) if cursor.description is not None else []
    except Exception as error:
        raise DBAPIError.instance(
            shape.sql, params, error, dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters, dialect=dialect, ismulti=many,
        ) from error  # fmt: skip
    finally:
        cursor.close()


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _padded_length(count: int) -> int:
    return next((size for size in _IN_SIZES if size >= count), count)


def _mark(dialect: Dialect) -> str:
    return "%s" if dialect.name == "postgresql" else "?"


def _quote(name: str) -> str:
    # Every name is quoted: "key" is a keyword on both databases.
    return '"' + name.replace('"', '""') + '"'


def _binds(dialect: Dialect, table: Table, names: Sequence[str]) -> tuple[_Processor, ...]:
    return tuple(_impl(dialect, table, n).bind_processor(dialect) for n in names)


def _results(dialect: Dialect, table: Table, names: Sequence[str]) -> tuple[_Processor, ...]:
    return tuple(_impl(dialect, table, n).result_processor(dialect, None) for n in names)


def _impl(dialect: Dialect, table: Table, name: str) -> TypeEngine[Any]:
    column = table.columns[name]  # KeyError names a column the table lacks
    if isinstance(column.type, Numeric):  # psycopg's decimal processing needs the type code
        raise TypeError(f"{table.name}.{name}: numeric columns stay on SQLAlchemy")
    return column.type.dialect_impl(dialect)


_SHAPES: dict[tuple[Any, ...], _Shape] = {}


def _shape(dialect: Dialect, kind: str, table: Table, *details: Any) -> _Shape:
    """The statement of `kind` for `details`, built once per driver (the cache's key holds
    names, not objects, so test suites' many engines do not pile up in it)."""
    key = (dialect.name, dialect.driver, kind, table.name, *details)
    shape = _SHAPES.get(key)
    if shape is None:
        shape = _SHAPES[key] = _BUILDERS[kind](dialect, table, *details)
    return shape


def _select(  # noqa: PLR0917 (the statement's whole shape)
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


def _insert(
    dialect: Dialect,
    table: Table,
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
) -> _Shape:
    """An INSERT of `names`; on a `conflict` key, update `update`, or with none do nothing."""
    listed = ", ".join(_quote(c) for c in names)
    marks = ", ".join([_mark(dialect)] * len(names))
    sql = f"INSERT INTO {table.name} ({listed}) VALUES ({marks})"  # noqa: S608 (as above)
    if conflict:
        updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in update)
        action = f"DO UPDATE SET {updates}" if update else "DO NOTHING"
        sql += f" ON CONFLICT ({', '.join(_quote(k) for k in conflict)}) {action}"
    return _Shape(sql, _binds(dialect, table, names))


def _delete(dialect: Dialect, table: Table, column: str) -> _Shape:
    where = f"{_quote(column)} < {_mark(dialect)}"
    sql = f"DELETE FROM {table.name} WHERE {where}"  # noqa: S608 (names from metadata)
    return _Shape(sql, _binds(dialect, table, [column]))


_BUILDERS: dict[str, Callable[..., _Shape]] = {
    "select": _select,
    "insert": _insert,
    "delete": _delete,
}

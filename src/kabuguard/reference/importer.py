"""Bulk import of reference data from CSV, validated like events, written in one transaction.

Instruments and prices become the same `Instrument` and `Price` models the event API takes,
so a row is checked exactly like an event (bad rows are reported by line and skipped), and
they are stored where the decision path reads them (the guard's reference facts and the
`instruments` table). Registered names feed the payout holder-name check; their customer ids
are checked as an event's are.

A file that cannot be read as CSV (not UTF-8, a cell past the csv module's size limit, no
header) raises ValueError naming the problem; nothing of it is stored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.parsing import NUL_MESSAGE, ApiError, parse_event
from kabuguard.risk.codes import Outcome
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.events import Identifier, Instrument, Price
from kabuguard.risk.policy import Policy
from kabuguard.state.guard_models import RegisteredNameRow
from kabuguard.state.guard_sql import SqlGuardStore
from kabuguard.state.models import InstrumentRow

INSTRUMENT_COLUMNS = ("symbol", "market", "name", "currency", "lot_size", "listed_shares",
                      "average_daily_volume", "limit_up", "limit_down")  # fmt: skip
PRICE_COLUMNS = ("symbol", "market", "last", "previous_close", "limit_up", "limit_down", "at")
NAME_COLUMNS = ("customer_id", "name_kana")
_DIALECTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}
_IMPORTED = Verdict(Outcome.ALLOW, 0, None, (), (), "import")
_CUSTOMER_ID: TypeAdapter[str] = TypeAdapter(Identifier)
NAME_LENGTH = 200  # registered_names.name_kana


@dataclass
class ImportReport:
    imported: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def read_reference(
    source: TextIO, kind: str, at: datetime, report: ImportReport
) -> Iterator[Instrument | Price]:
    """Rows of an instruments or prices CSV as events; bad rows go to `report.bad`."""
    columns = INSTRUMENT_COLUMNS if kind == "instrument" else PRICE_COLUMNS
    reader = csv.DictReader(source)
    _require(reader, [c for c in columns if c not in ("name", "at")])
    for line, row in enumerate(_rows(reader), start=2):
        body: dict[str, Any] = {
            k: v for k, v in row.items() if k in columns and v not in ("", None)
        }
        occurred = body.pop("at", None) or at.isoformat()
        body |= {"type": kind, "event_id": f"import-{kind}-{line}", "occurred_at": occurred}
        try:
            event = parse_event(body)  # refuses NUL too, which would fail the whole import
        except ApiError as error:
            report.bad.append((line, error.message))
            continue
        assert isinstance(event, Instrument | Price)
        yield event


def import_reference(session: Session, events: Iterable[Instrument | Price], policy: Policy,
                     *, actor: str, at: datetime, report: ImportReport) -> None:  # fmt: skip
    found = list(events)
    # Before reading: the decision writer replaces whole rows under this lock too, so a price
    # it records meanwhile is not overwritten with the value read here (PostgreSQL).
    audit.lock_head(session)
    store = SqlGuardStore(session)
    memory = store.load(policy, found)
    for event in found:
        memory.record(event, _IMPORTED)
    store.save(memory, at)
    rows = [_instrument_row(key, memory.reference[key]) for key in sorted(memory.reference)]
    if rows:
        statement: Any = _DIALECTS[session.connection().dialect.name](InstrumentRow)
        columns = [c for c in rows[0] if c not in ("market", "symbol")]
        session.connection().execute(
            statement.on_conflict_do_update(
                index_elements=["market", "symbol"],
                set_={c: statement.excluded[c] for c in columns},
            ),
            rows,
        )
    report.imported += len(found)
    audit.append(session, kind=AuditKind.REFERENCE_DATA_IMPORTED, actor=actor,
                 subject="reference", payload={"rows": len(found), "bad": len(report.bad)},
                 at=at)  # fmt: skip


def import_names(session: Session, source: TextIO, *, actor: str, at: datetime) -> ImportReport:
    """customer_id,name_kana rows: the registered names the holder-name check compares with.
    A customer listed twice keeps the later name, as a second import would."""
    report = ImportReport()
    reader = csv.DictReader(source)
    _require(reader, NAME_COLUMNS)
    names: dict[str, str] = {}
    for line, row in enumerate(_rows(reader), start=2):
        customer, name = (
            (row.get("customer_id") or "").strip(),
            (row.get("name_kana") or "").strip(),
        )
        problem = _name_problem(customer, name)
        if problem is not None:
            report.bad.append((line, problem))
            continue
        names[customer] = name
        report.imported += 1
    rows = [{"customer_id": c, "name_kana": n} for c, n in names.items()]
    if rows:
        statement: Any = _DIALECTS[session.connection().dialect.name](RegisteredNameRow)
        session.connection().execute(
            statement.on_conflict_do_update(
                index_elements=["customer_id"], set_={"name_kana": statement.excluded.name_kana}
            ),
            rows,
        )
    audit.append(session, kind=AuditKind.REFERENCE_DATA_IMPORTED, actor=actor,
                 subject="registered_names",
                 payload={"rows": report.imported, "bad": len(report.bad)}, at=at)  # fmt: skip
    return report


def _name_problem(customer: str, name: str) -> str | None:
    """Why a registered-name row cannot be stored, or None. Checked here, not by the
    database: PostgreSQL refused a NUL or an over-long id by failing the whole import."""
    if not customer or not name:
        return f"customer_id and name_kana (at most {NAME_LENGTH} characters) are required"
    for column, value in (("customer_id", customer), ("name_kana", name)):
        if "\x00" in value:
            return f"{column}: {NUL_MESSAGE}"
    try:
        _CUSTOMER_ID.validate_python(customer)
    except ValidationError as error:
        return f"customer_id: {error.errors(include_url=False)[0]['msg']}"
    if len(name) > NAME_LENGTH:
        return f"name_kana: at most {NAME_LENGTH} characters, not {len(name)}"
    return None


def _require(reader: csv.DictReader[str], columns: Iterable[str]) -> None:
    try:
        header = reader.fieldnames or ()
    except csv.Error as error:
        raise ValueError(f"line 1: {error}") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(f"the header lacks {', '.join(missing)}")


def _rows(reader: csv.DictReader[str]) -> Iterator[dict[str | Any, str | Any]]:
    """The rows; a file the csv module cannot read (a cell past its size limit, say) is a
    ValueError naming the line, as a file that is not UTF-8 is one already."""
    try:
        yield from reader
    except csv.Error as error:
        raise ValueError(f"line {reader.line_num}: {error}") from None


def _instrument_row(key: str, facts: Any) -> dict[str, Any]:
    return {
        "market": facts.market, "symbol": facts.symbol, "name": None, "currency": facts.currency,
        "lot_size": facts.lot_size, "listed_shares": facts.listed_shares,
        "average_daily_volume": facts.average_daily_volume, "limit_up": facts.limit_up,
        "limit_down": facts.limit_down, "last": facts.last, "previous_close": facts.previous_close,
        "price_at": facts.last_at, "reference_at": None,
    }  # fmt: skip

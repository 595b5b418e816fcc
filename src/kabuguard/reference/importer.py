"""Bulk import of reference data from CSV, validated like events, written in one transaction.

Instruments and prices become the same `Instrument` and `Price` models the event API takes,
so a row is checked exactly like an event (bad rows are reported by line and skipped), and
they are stored where the decision path reads them (the guard's reference facts and the
`instruments` table). Registered names feed the payout holder-name check.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.parsing import ApiError, parse_event
from kabuguard.risk.codes import Outcome
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.events import Instrument, Price
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
    missing = [c for c in columns if c not in (reader.fieldnames or ()) and c not in ("name", "at")]
    if missing:
        raise ValueError(f"the header lacks {', '.join(missing)}")
    for line, row in enumerate(reader, start=2):
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
    """customer_id,name_kana rows: the registered names the holder-name check compares with."""
    report = ImportReport()
    rows = []
    for line, row in enumerate(csv.DictReader(source), start=2):
        customer, name = (
            (row.get("customer_id") or "").strip(),
            (row.get("name_kana") or "").strip(),
        )
        if not customer or not name or len(name) > 200:
            report.bad.append(
                (line, "customer_id and name_kana (at most 200 characters) are required")
            )
            continue
        rows.append({"customer_id": customer, "name_kana": name})
    if rows:
        statement: Any = _DIALECTS[session.connection().dialect.name](RegisteredNameRow)
        session.connection().execute(
            statement.on_conflict_do_update(
                index_elements=["customer_id"], set_={"name_kana": statement.excluded.name_kana}
            ),
            rows,
        )
    report.imported = len(rows)
    audit.append(session, kind=AuditKind.REFERENCE_DATA_IMPORTED, actor=actor,
                 subject="registered_names", payload={"rows": len(rows), "bad": len(report.bad)},
                 at=at)  # fmt: skip
    return report


def _instrument_row(key: str, facts: Any) -> dict[str, Any]:
    return {
        "market": facts.market, "symbol": facts.symbol, "name": None, "currency": facts.currency,
        "lot_size": facts.lot_size, "listed_shares": facts.listed_shares,
        "average_daily_volume": facts.average_daily_volume, "limit_up": facts.limit_up,
        "limit_down": facts.limit_down, "last": facts.last, "previous_close": facts.previous_close,
        "price_at": facts.last_at, "reference_at": None,
    }  # fmt: skip

"""Reference CSVs are validated like events; good rows reach the decision path, bad ones are
reported by line."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from kabuguard.db import Database
from kabuguard.reference.importer import (
    ImportReport,
    import_names,
    import_reference,
    read_reference,
)
from kabuguard.risk.policy import Policy
from kabuguard.state.guard_models import RegisteredNameRow
from kabuguard.state.guard_sql import SqlGuardStore
from kabuguard.state.models import InstrumentRow
from tests import factories
from tests.cli_helpers import run_cli

NOW = datetime(2026, 11, 20, tzinfo=UTC)
HEADER = (
    "symbol,market,name,currency,lot_size,listed_shares,average_daily_volume,limit_up,limit_down"
)
INSTRUMENTS = f"""{HEADER}
7203,TSE,Toyota,JPY,100,15794000000,25000000,3200,2200
584P,TSE,,JPY,zero,1000000,30000,,
6758,TSE,So\x00ny,JPY,100,1000000,30000,,
"""
PRICES = """symbol,market,last,previous_close,limit_up,limit_down,at
7203,TSE,2500,2490,,,2026-11-20T09:00:00+09:00
"""


def test_instruments_and_prices_reach_the_guard(database: Database) -> None:
    report = ImportReport()
    with database.write() as session:
        rows = read_reference(io.StringIO(INSTRUMENTS), "instrument", NOW, report)
        import_reference(session, rows, Policy.default(), actor="t", at=NOW, report=report)
        prices = read_reference(io.StringIO(PRICES), "price", NOW, report)
        import_reference(session, prices, Policy.default(), actor="t", at=NOW, report=report)
    assert report.imported == 2
    # A NUL in a cell is a bad row too (it failed the whole import on PostgreSQL).
    assert [line for line, _ in report.bad] == [3, 4]
    assert "NUL" in report.bad[1][1]
    with database.read() as session:
        order = factories.typed(factories.order())
        facts = SqlGuardStore(session).load(Policy.default(), [order]).reference["TSE:7203"]
        assert (facts.lot_size, facts.last, facts.limit_up) == (100, Decimal(2500), Decimal(3200))
        row = session.execute(
            select(InstrumentRow).where(InstrumentRow.symbol == "7203")
        ).scalar_one()
        assert row.last == 2500


def test_registered_names_are_imported(database: Database) -> None:
    source = io.StringIO("customer_id,name_kana\nc-1,ヤマダ タロウ\n,ナナシ\n")
    with database.write() as session:
        report = import_names(session, source, actor="t", at=NOW)
    assert (report.imported, [line for line, _ in report.bad]) == (1, [3])
    with database.read() as session:
        assert session.get(RegisteredNameRow, "c-1") is not None


def test_a_registered_name_row_the_database_would_refuse_is_reported_and_skipped(
    database: Database,
) -> None:
    # Each was a DataError on PostgreSQL that failed the whole import (SQLite stored them).
    source = io.StringIO(
        "customer_id,name_kana\n"
        f"{'c' * 129},ヤマダ\n"
        "c-2,ヤ\x00マダ\n"
        "c\x00-3,ヤマダ\n"
        "c 4,ヤマダ\n"
        "c-5,スズキ ハナコ\n"
    )
    with database.write() as session:
        report = import_names(session, source, actor="t", at=NOW)
    assert report.imported == 1
    assert report.bad == [
        (2, "customer_id: String should have at most 128 characters"),
        (3, "name_kana: must not contain the NUL character (U+0000)"),
        (4, "customer_id: must not contain the NUL character (U+0000)"),
        (5, "customer_id: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._:@\\-]*$'"),
    ]
    with database.read() as session:
        assert session.execute(select(RegisteredNameRow.customer_id)).scalars().all() == ["c-5"]


def test_a_customer_named_twice_keeps_the_later_name(database: Database) -> None:
    # Rows are de-duplicated before the one upsert, so this holds whatever the driver batches.
    source = io.StringIO("customer_id,name_kana\nc-1,ヤマダ\nc-1,スズキ\n")
    with database.write() as session:
        report = import_names(session, source, actor="t", at=NOW)
    assert (report.imported, report.bad) == (2, [])
    with database.read() as session:
        row = session.get(RegisteredNameRow, "c-1")
        assert row is not None
        assert row.name_kana == "スズキ"


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("names", "customer_id,name_kana\r\nc-1,ヤマダ タロウ\r\n"),
        ("instruments", f"{HEADER}\n7203,TSE,トヨタ,JPY,100,15794000000,25000000,3200,2200\n"),
    ],
)
def test_a_csv_saved_by_excel_with_a_byte_order_mark_imports(
    tmp_path: Path, database_url: str, command: str, text: str
) -> None:
    # Was read with the mark in the first column's name: every row, or the header, refused.
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(text.encode("utf-8-sig"))
    result = run_cli("reference", command, str(sheet), database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert "1 rows imported, 0 bad rows" in result.stdout


def test_a_names_file_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path, database_url: str, database: Database
) -> None:
    # Was a UnicodeDecodeError traceback (the instruments path caught it; names did not).
    sheet = tmp_path / "names.csv"
    sheet.write_bytes("customer_id,name_kana\nc-1,ヤマダ\n".encode("shift_jis"))
    result = run_cli("reference", "names", str(sheet), database_url=database_url)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: {sheet}: not UTF-8 text (invalid start byte): save it as UTF-8"
    )
    with database.read() as session:
        assert session.execute(select(RegisteredNameRow)).first() is None

"""Reference CSVs are validated like events; good rows reach the decision path, bad ones are
reported by line."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

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

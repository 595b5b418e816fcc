"""`kabuguard credentials import`: a CSV of leaked customer ids into the exposed list."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select
from typer.testing import CliRunner

from kabuguard.audit.models import AuditEntry
from kabuguard.db import Database
from kabuguard.state.command import read_exposed, register
from kabuguard.state.models import LoginProfileRow


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop", hidden=True)(lambda: None)  # keeps `credentials` a sub-command
    return app


def _run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(_app(), list(args), env={"KABUGUARD_DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def test_import_lists_customers_with_their_source(
    tmp_path: Path, database_url: str, database: Database
) -> None:
    sheet = tmp_path / "leak.csv"
    sheet.write_text("customer_id,email\nc-1,a@example.jp\nc-2,b@example.jp\nc-1,again\n")
    code, out, _ = _run(database_url, "credentials", "import", str(sheet), "--source", "dark web")
    assert code == 0
    assert "2 customers listed as exposed, 0 bad rows" in out
    with database.read() as session:
        rows = session.execute(select(LoginProfileRow)).scalars().all()
    assert {(r.customer_id, r.exposed_source) for r in rows} == {
        ("c-1", "dark web"),
        ("c-2", "dark web"),
    }
    assert all(r.exposed_since is not None and r.profile is None for r in rows)
    with database.read() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.kind == "customer:credentials:exposed")
        ).scalar_one()
    assert '"listed":2' in entry.payload
    assert '"source":"dark web"' in entry.payload


def test_bad_rows_are_reported_and_the_rest_imported(tmp_path: Path, database_url: str) -> None:
    sheet = tmp_path / "leak.csv"
    sheet.write_text("customer_id\nc-1\n\n-bad id\n")
    code, out, err = _run(database_url, "credentials", "import", str(sheet), "--source", "x")
    assert code == 1
    assert "1 customers listed as exposed, 1 bad rows" in out  # the blank line is no row
    assert "line 4:" in err


def test_a_sheet_without_the_column_is_refused(tmp_path: Path, database_url: str) -> None:
    sheet = tmp_path / "leak.csv"
    sheet.write_text("email\na@example.jp\n")
    code, _, err = _run(database_url, "credentials", "import", str(sheet), "--source", "x")
    assert code == 1
    assert "no customer_id column" in err.replace("\n", " ")


def test_read_exposed_skips_invalid_ids() -> None:
    rows: list[dict[str, str | None]] = [
        {"customer_id": "c-1"},
        {"customer_id": None},
        {"customer_id": " c-2 "},
    ]
    found = read_exposed(enumerate(rows, start=2))
    assert found.customers == ["c-1", "c-2"]
    assert found.bad_rows == [(3, "'' is not a customer id")]

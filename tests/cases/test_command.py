"""The holds, cases and restrictions commands, on a typer app of their own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner

from kabuguard.cases.command import register
from kabuguard.db import Database


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restrictions_and_empty_lists(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KABUGUARD_DATABASE_URL", database_url)
    app = typer.Typer()
    register(app, clock=lambda: datetime(2026, 11, 20, tzinfo=UTC))
    runner = CliRunner()
    added = runner.invoke(
        app, ["restrictions", "add", "c-1", "--market", "nasdaq", "--reason", "asked"]
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["restrictions", "list", "c-1"])
    assert "NASDAQ" in listed.output
    assert runner.invoke(app, ["holds", "list"]).exit_code == 0
    assert runner.invoke(app, ["cases", "list"]).exit_code == 0
    missing = runner.invoke(app, ["holds", "release", "nope", "--note", "x"])
    assert missing.exit_code == 1
    assert "not on the hold list" in missing.output

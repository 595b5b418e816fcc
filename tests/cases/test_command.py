"""The holds, cases and restrictions commands, on a typer app of their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import typer
from typer.testing import CliRunner, Result

from kabuguard.cases.command import HoldFilter, register
from kabuguard.db import Database
from kabuguard.state.cases import HoldStatus
from tests.cli_helpers import run_cli

Invoke = Callable[[list[str]], Result]


@pytest.fixture
def cli(database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """The commands on a typer app of their own, against the test database."""
    monkeypatch.setenv("KABUGUARD_DATABASE_URL", database_url)
    app = typer.Typer()
    register(app, clock=lambda: datetime(2026, 11, 20, tzinfo=UTC))
    runner = CliRunner()
    return lambda args: runner.invoke(app, args)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restrictions_and_empty_lists(cli: Invoke) -> None:
    added = cli(["restrictions", "add", "c-1", "--market", "nasdaq", "--reason", "asked"])
    assert added.exit_code == 0, added.output
    listed = cli(["restrictions", "list", "c-1"])
    assert "NASDAQ" in listed.output
    assert cli(["holds", "list"]).exit_code == 0
    assert cli(["cases", "list"]).exit_code == 0
    missing = cli(["holds", "release", "nope", "--note", "x"])
    assert missing.exit_code == 1
    assert "not on the hold list" in missing.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unknown_hold_status_is_refused_naming_the_allowed_ones(database_url: str) -> None:
    bogus = run_cli("holds", "list", "--status", "bogus", database_url=database_url)
    assert bogus.returncode == 2, bogus.stderr  # a usage error, as for any bad option value
    assert "Traceback" not in bogus.stderr  # was a ValueError from HoldStatus('bogus')
    assert "'bogus' is not one of 'pending', 'released', 'rejected', 'all'" in bogus.stderr
    assert {str(f) for f in HoldFilter} == {str(s) for s in HoldStatus} | {"all"}
    every = run_cli("holds", "list", "--status", "all", database_url=database_url)
    assert every.returncode == 0, every.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reasons_and_ids_are_printed_as_written_not_read_as_markup(cli: Invoke) -> None:
    reason = "[/x] 本人の依頼 [red]:smile:"
    added = cli(["restrictions", "add", "c-1", "--market", "TSE", "--reason", reason])
    assert added.exit_code == 0, added.output
    again = cli(["restrictions", "add", "c-1", "--market", "TSE", "--reason", reason])
    assert "it was already" in again.output
    listed = cli(["restrictions", "list", "c-1"])
    assert listed.exit_code == 0, listed.output  # was a MarkupError
    assert reason in listed.output
    missing = cli(["holds", "release", "[/x]", "--note", "x"])
    assert (missing.exit_code, "[/x] is not on the hold list" in missing.output) == (1, True)

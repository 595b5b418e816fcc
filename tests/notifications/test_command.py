"""The CLI: dead letters listed and queued again, contacts and preferences refused clearly."""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer
from typer.testing import CliRunner, Result

from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService
from kabuguard.notifications.outbox import Outbox
from tests import factories as f
from tests.conftest import TEST_DATA_KEY, TEST_PEPPER, FrozenClock
from tests.notifications.cli_app import app as cli_app
from tests.notifications.conftest import decide


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    for name, value in {
        "KABUGUARD_DATABASE_URL": database_url,
        "KABUGUARD_ENVIRONMENT": "test",
        "KABUGUARD_API_KEY_PEPPER": TEST_PEPPER,
        "KABUGUARD_DATA_KEY": TEST_DATA_KEY,
    }.items():
        monkeypatch.setenv(name, value)


def run(*args: str) -> Result:
    app: typer.Typer = cli_app
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_dead_letters_are_listed_and_queued_again(
    service: DecisionService, database: Database, clock: FrozenClock
) -> None:
    decide(service, f.order("c-1"), f.order("c-2"))
    outbox = Outbox(database, clock)
    claimed = outbox.claim(10, timedelta(minutes=2))
    outbox.failed(claimed[0], "550 5.1.1 no such user", retry_at=None)
    listed = run("outbox", "list", "--status", "dead")
    assert listed.exit_code == 0, listed.output
    assert "550 5.1.1 no such user" in listed.output
    assert "c-1" in listed.output
    assert "c-2" not in listed.output  # only the dead one
    retried = run("outbox", "retry", str(claimed[0].id))
    assert retried.exit_code == 0, retried.output
    assert "c-1" not in run("outbox", "list", "--status", "dead").output
    assert "c-1" in run("outbox", "list", "--status", "pending").output
    again = run("outbox", "retry", str(claimed[0].id))
    assert again.exit_code == 1
    assert "only dead messages are retried" in again.output


def test_contacts_and_preferences_from_the_command_line() -> None:
    set_contacts = run("contacts", "set", "c-1", "--email", "taro@example.jp", "--locale", "en")
    assert set_contacts.exit_code == 0, set_contacts.output
    assert "t***@e***.jp" in set_contacts.output
    assert "taro@example.jp" not in run("contacts", "show", "c-1").output
    bad = run("contacts", "set", "c-1", "--phone", "12345")
    assert bad.exit_code == 1
    assert "E.164" in bad.output
    refused = run("preferences", "set", "c-1", "--disable", "withdrawal:requested")
    assert refused.exit_code == 1
    assert "security notices cannot be turned off: withdrawal:requested" in refused.output
    added = run("preferences", "set", "c-1", "--enable", "login:device:known")
    assert added.exit_code == 0, added.output
    assert "login:device:known" in run("preferences", "show", "c-1").output

"""`kabuguard audit verify` as an operator runs it: a subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from kabuguard.audit.chain import AuditKind
from kabuguard.audit.services import append
from kabuguard.db import Database

KABUGUARD = Path(sys.executable).parent / "kabuguard"
T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _verify(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABUGUARD_")} | {
        "KABUGUARD_DATABASE_URL": database_url,
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [str(KABUGUARD), "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _append_five(database: Database) -> None:
    with database.write() as session:
        for n in range(5):
            append(
                session,
                kind=AuditKind.DECISION_RECORDED,
                actor="apikey:broker-a",
                subject=f"evt-{n}",
                payload={"event_id": f"evt-{n}", "outcome": "allow"},
                at=T0 + timedelta(seconds=n),
            )


def test_verify_exits_zero_on_an_intact_chain(database_url: str, database: Database) -> None:
    _append_five(database)
    result = _verify(database_url)
    assert result.returncode == 0, result.stderr
    assert "audit chain intact: 5 entries" in result.stdout


def test_verify_names_the_tampered_entry(database_url: str, database: Database) -> None:
    _append_five(database)
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET payload = :payload WHERE seq = 3"), {"payload": '{"x":1}'}
        )
    result = _verify(database_url)
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "audit entry 3:" in message
    assert "after 2 good entries" in message
    assert "intact" not in result.stdout


@pytest.mark.parametrize(
    ("tampering", "entry"),
    [
        ("UPDATE audit_log SET recorded_at = 'garbage' WHERE seq = 3", 3),  # was ValueError
        ("UPDATE audit_log SET payload = X'7b7d' WHERE seq = 3", 3),  # a blob: was TypeError
        ("UPDATE audit_log SET recorded_at = 1763596800 WHERE seq = 4", 4),
    ],
)
def test_verify_names_an_entry_tampered_past_reading_as_a_break(
    database_url: str, database: Database, tampering: str, entry: int
) -> None:
    # Was a traceback and exit 1 ("could not be checked"). Only SQLite keeps such values:
    # PostgreSQL's column types refuse them.
    if not database.is_sqlite:
        pytest.skip("PostgreSQL refuses a value of another type in a column")
    _append_five(database)
    with database.engine.begin() as connection:
        connection.execute(text(tampering))
    result = _verify(database_url)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"audit entry {entry}: it no longer reads as an entry" in message
    assert f"after {entry - 1} good entries" in message
    assert "Traceback" not in result.stderr


def test_verify_reports_a_head_tampered_past_reading_as_a_break(
    database_url: str, database: Database
) -> None:
    if not database.is_sqlite:
        pytest.skip("PostgreSQL refuses a value of another type in a column")
    _append_five(database)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_head SET seq = 'abc'"))  # was ValueError
    result = _verify(database_url)
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "the chain's head cannot be read (its seq 'abc' is not a whole number)" in message
    assert "after 5 good entries" in message

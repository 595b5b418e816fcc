"""No message is lost when the dispatcher is killed mid-batch (SIGKILL), on both databases.

SMTP cannot be asked whether it accepted a message, so a kill between the server's 250 and our
commit sends that one message again, byte for byte: every key must arrive, and a repeat must
carry the same Message-ID, which the receiving mailbox deduplicates on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import Submitted
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.kinds import Locale
from kabuguard.notifications.models import OutboxRow
from kabuguard.notifications.wiring import cipher_from
from tests import factories as f
from tests.conftest import TEST_DATA_KEY, TEST_PEPPER
from tests.notifications.conftest import noticing_service
from tests.notifications.servers import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
KILL_AT = 100  # the SMTP server kills the dispatcher while it waits for this message's 250


def _queue(database: Database, settings: Settings) -> None:
    """MESSAGES customers with an e-mail address, one order each: MESSAGES pending e-mails
    (and as many for the in-app inbox)."""
    now = datetime.now(UTC)
    with database.write() as session:
        contacts = CustomerSettings(session, cipher_from(settings), actor="t", at=now)
        for n in range(MESSAGES):
            contacts.set_contacts(f"c-{n}", email=f"c{n}@example.jp", phone=None, locale=Locale.JA)
    occurred = (now - timedelta(minutes=1)).isoformat()
    events = [f.typed(f.order(f"c-{n}", occurred_at=occurred)) for n in range(MESSAGES)]
    service = noticing_service(database, settings, lambda: now)
    assert all(isinstance(r, Submitted) for r in service.decide_many([(e, "t") for e in events]))


def _dispatch(settings: Settings, smtp: SmtpServer, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABUGUARD_")} | {
        "KABUGUARD_ENVIRONMENT": "test",
        "KABUGUARD_API_KEY_PEPPER": TEST_PEPPER,
        "KABUGUARD_DATA_KEY": TEST_DATA_KEY,
        "KABUGUARD_DATABASE_URL": settings.database_url,
        "KABUGUARD_SMTP_HOST": "127.0.0.1",
        "KABUGUARD_SMTP_PORT": str(smtp.port),
        "KABUGUARD_MAIL_FROM": "security@broker.example",
        "KABUGUARD_DISPATCH_LEASE_SECONDS": "2",
        "KABUGUARD_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "tests.notifications.cli_app", "dispatch", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _wait_for_leases_to_pass(database: Database) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with database.read() as session:
            leased = session.execute(
                select(func.count()).where(OutboxRow.claimed_until > datetime.now(UTC))
            ).scalar_one()
        if leased == 0:
            return
        time.sleep(0.1)
    raise AssertionError("leases did not run out")


def test_a_killed_dispatcher_loses_nothing_and_resends_at_most_the_message_in_flight(
    database: Database, settings: Settings
) -> None:
    with SmtpServer() as smtp:
        _queue(database, settings.model_copy(update={"smtp_host": "127.0.0.1"}))
        first = _dispatch(settings, smtp)
        smtp.mailbox.on_message = lambda count: (
            os.kill(first.pid, signal.SIGKILL) if count == KILL_AT else None
        )
        assert first.wait(timeout=60) == -signal.SIGKILL
        arrived_before_restart = len(smtp.mailbox.messages)
        _wait_for_leases_to_pass(database)
        second = _dispatch(settings, smtp, "--once")
        output, _ = second.communicate(timeout=60)
        assert second.returncode == 0, output
        messages = list(smtp.mailbox.messages)
    assert KILL_AT <= arrived_before_restart < MESSAGES  # killed in the middle
    with database.read() as session:
        sent = session.execute(
            select(OutboxRow.idempotency_key, OutboxRow.status).where(OutboxRow.channel == "email")
        ).all()
        undelivered = session.execute(
            select(func.count()).where(OutboxRow.status != "delivered")
        ).scalar_one()
    keys = [str(m["X-Kabuguard-Idempotency-Key"]) for m in messages]
    assert set(keys) == {key for key, _ in sent}  # every message arrived
    assert undelivered == 0
    assert len(keys) - len(set(keys)) <= 1  # at most the one in flight came twice
    by_key: dict[str, set[str]] = {}
    for message in messages:
        by_key.setdefault(str(message["X-Kabuguard-Idempotency-Key"]), set()).add(
            str(message["Message-ID"])
        )
    assert all(len(ids) == 1 for ids in by_key.values())  # a repeat is the same message


def test_dispatch_stops_at_sigterm_after_the_message_in_flight(
    tmp_path: Path, sqlite_template: Path
) -> None:
    copy = tmp_path / "kabuguard.db"
    copy.write_bytes(sqlite_template.read_bytes())
    settings = Settings(database_url=f"sqlite:///{copy}")
    with SmtpServer() as smtp:
        running = _dispatch(settings, smtp)
        assert running.stderr is not None
        assert "dispatching notifications" in running.stderr.readline()  # handlers are set
        running.send_signal(signal.SIGTERM)
        assert running.wait(timeout=60) == 0

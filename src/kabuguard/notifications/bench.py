"""Benchmark hooks for `kabuguard bench`: outbox rows written with decisions, e-mails sent.

`measure_outbox` decides a workload twice on fresh databases, with and without notifications,
so the cost the outbox adds to the decision path is a ratio. `measure_smtp` lets the
dispatcher deliver e-mails to an aiosmtpd server in another process, one commit per message.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete

from kabuguard import migrations
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService, Policies
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.kinds import ChannelKind, Locale
from kabuguard.notifications.models import OutboxRow
from kabuguard.notifications.wiring import build_dispatcher, build_planner, cipher_from
from kabuguard.risk.events import EVENT_ADAPTER, Event
from kabuguard.risk.policy import Policy

_GROUP = 256  # the group-commit size the writer thread reaches under load
# One batch is delivered before the clock starts, as a running dispatcher would have done:
# connecting, compiling the templates and loading the GeoIP table (~0.3 s) are not throughput.
_WARMUP = 100


def measure_outbox(events: int, customers: int = 2_000) -> dict[str, Any]:
    """Outbox rows/s written with decisions (SQLite, synchronous=FULL), and the slowdown."""
    now = datetime.now(UTC)
    workload = _workload(events, customers, now)
    with _fresh_database() as (_, settings):
        plain = _decide(settings, workload, now, notify=False)
    with _fresh_database() as (database, plain_settings):
        settings = plain_settings.model_copy(update={"smtp_host": "127.0.0.1"})  # plan e-mails
        _register_emails(database, settings, customers, now)
        rows, seconds = _decide(settings, workload, now, notify=True)
    return {
        "events": events,
        "outbox_rows": rows,
        "outbox_rows_per_s": round(rows / seconds),
        "decisions_per_s": round(events / seconds),
        "decisions_per_s_without_notifications": round(events / plain[1]),
    }


def measure_smtp(messages: int) -> dict[str, Any]:
    """E-mails/s delivered by the dispatcher to a local SMTP server (target >= 500/s).

    The server is aiosmtpd in a process of its own, so the rate is the dispatcher's, but on a
    small machine both share the cores: each message costs the server about as much CPU as
    the dispatcher. The CPU milliseconds per e-mail of each side are reported too: on a
    shared machine they vary far less than the rate does.
    """
    total = messages + _WARMUP
    with _fresh_database() as (database, plain), _smtp_sink() as (port, received):
        settings = plain.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "dispatch_batch_size": _WARMUP}
        )
        now = datetime.now(UTC)
        _register_emails(database, settings, total, now)
        _decide(settings, _workload(total, total, now, logins=False), now, notify=True)
        with database.write() as session:  # e-mail only: the inbox is a database write
            session.execute(delete(OutboxRow).where(OutboxRow.channel != ChannelKind.EMAIL.value))
        dispatcher = build_dispatcher(settings, database, lambda: datetime.now(UTC))
        warmup = dispatcher.run_once()
        started, cpu = time.perf_counter(), time.process_time()
        report = dispatcher.drain()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        dispatcher.close()
        arrived, server_cpu = received()
    return {
        "messages": messages,
        "warmup_messages": warmup.delivered,
        "delivered": warmup.delivered + report.delivered,
        "received_by_server": arrived,
        "emails_per_s": round(report.delivered / seconds),
        "dispatcher_cpu_ms_per_email": round(cpu * 1000 / report.delivered, 3),
        "server_cpu_ms_per_email": round(server_cpu * 1000 / arrived, 3),
        "smtp_server": "aiosmtpd in a separate process",
        "target_per_s": 500,
    }


def _decide(
    settings: Settings, workload: Sequence[Event], now: datetime, *, notify: bool
) -> tuple[int, float]:
    database = Database.from_settings(settings)
    planner = build_planner(settings, on_enqueued=lambda: None) if notify else None
    service = DecisionService(
        database,
        Policies(Policy.default()),
        clock=lambda: now,
        max_future_skew=timedelta(minutes=5),
        notices=planner,
    )
    started = time.perf_counter()
    for start in range(0, len(workload), _GROUP):
        service.decide_many([(event, "bench") for event in workload[start : start + _GROUP]])
    seconds = time.perf_counter() - started
    with database.read() as session:
        rows = session.query(OutboxRow).count()
    database.dispose()
    return rows, seconds


def _workload(events: int, customers: int, now: datetime, *, logins: bool = True) -> list[Event]:
    """Logins from a few devices, orders and withdrawals, spread over the customers."""
    kinds: list[Callable[[int], dict[str, Any]]] = [_order, _withdrawal]
    if logins:
        kinds.insert(0, _login)
    return [
        EVENT_ADAPTER.validate_python(
            kinds[n % len(kinds)](n)
            | {
                "event_id": f"bench-{n}",
                "customer_id": f"c-{n % customers}",
                "occurred_at": (now - timedelta(hours=1, seconds=-n / 1000)).isoformat(),
                "ip": "126.0.0.1",
                "session_id": f"s-{n}",
            }
        )
        for n in range(events)
    ]


def _login(n: int) -> dict[str, Any]:
    return {
        "type": "login_attempt",
        "step": "password",
        "result": "success",
        "device_id": f"d-{n % 3}",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0)",
    }


def _order(n: int) -> dict[str, Any]:
    return {
        "type": "order",
        "order_id": f"o-{n}",
        "side": "buy",
        "symbol": "7203",
        "market": "TSE",
        "quantity": 100,
        "order_type": "limit",
        "limit_price": "2500",
    }


def _withdrawal(n: int) -> dict[str, Any]:
    return {
        "type": "withdrawal",
        "withdrawal_id": f"w-{n}",
        "amount": "100000",
        "destination_id": "dst-1",
    }


def _register_emails(database: Database, settings: Settings, customers: int, now: datetime) -> None:
    with database.write() as session:
        service = CustomerSettings(session, cipher_from(settings), actor="bench", at=now)
        for n in range(customers):
            service.set_contacts(
                f"c-{n}", email=f"customer{n}@example.jp", phone=None, locale=Locale.JA
            )


class _fresh_database:
    def __enter__(self) -> tuple[Database, Settings]:
        self._dir = tempfile.TemporaryDirectory(prefix="kabuguard-bench-")
        url = f"sqlite:///{Path(self._dir.name) / 'bench.db'}"
        migrations.upgrade(url)
        self._database = Database(url)
        return self._database, Settings(database_url=url)

    def __exit__(self, *_exc: object) -> None:
        self._database.dispose()
        self._dir.cleanup()


class _smtp_sink:
    """aiosmtpd in a child process, as a real mail server would be: not sharing our GIL."""

    def __enter__(self) -> tuple[int, Callable[[], tuple[int, float]]]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        self._process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
            [sys.executable, "-m", "kabuguard.notifications.sink", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self._process.stdout.readline()  # "ready"
        return port, self._count

    def _count(self) -> tuple[int, float]:
        """Messages accepted and CPU seconds used serving them, once the sink has stopped."""
        output, _ = self._process.communicate(timeout=30)
        count, cpu = output.split()
        return int(count), float(cpu)

    def __exit__(self, *_exc: object) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

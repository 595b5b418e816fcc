"""`kabuguard bench` end to end, briefly: every part runs and the figures are written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from kabuguard import migrations
from kabuguard.bench import runner, workload
from kabuguard.db import Database
from kabuguard.notifications.kinds import Status
from kabuguard.notifications.models import OutboxRow
from kabuguard.parsing import parse_event


def test_the_workload_is_valid_canonical_events() -> None:
    events = [parse_event(document) for document in workload.events(2_000)]
    assert len({event.event_id for event in events}) == 2_000
    assert {event.type.value for event in events} >= {"login_attempt", "order", "withdrawal"}


def test_bench_runs_every_measurement_and_writes_latest_json(tmp_path: Path) -> None:
    options = runner.BenchOptions(
        tmp_path, seconds=0.5, warmup=0.0, connections=4, replay_events=2_000, repeat=3,
        simulate_customers=300, simulate_days=2, emails=50, outbox_events=200,
        login_customers=100, login_days=2, orders=200,
    )  # fmt: skip
    results = runner.run(options)
    written = json.loads((tmp_path / "latest.json").read_text())
    assert written["verdict"] == results["verdict"]
    assert written["replay"]["events"] == 2_000
    assert written["replay"]["bad_lines"] == 0
    assert written["simulate"]["customers"] == 300
    assert written["simulate"]["events"] > 0
    assert written["simulate"]["peak_rss_mib"] > 0
    smtp = written["notifications"]["smtp"]
    assert smtp["received_by_server"] == 50 + smtp["warmup_messages"]
    assert written["notifications"]["outbox"]["outbox_rows"] > 0
    assert written["auth"]["password_verifications_per_second"] > 0
    assert written["decisions"]["login"]["logins"] > 0
    assert written["decisions"]["order"]["orders"] == 200
    for run in (written["http"]["closed_loop"], written["http"]["open_loop_500"], written["echo"]):
        assert run["requests"] > 0
        assert run["errors"] == 0
    assert written["engine_to_echo_ratio"] > 0
    closed_runs = written["http"]["closed_loop_runs"]
    assert len(closed_runs) == 3
    middle = sorted(run["throughput_per_s"] for run in closed_runs)[1]
    assert written["http"]["closed_loop"]["throughput_per_s"] == middle
    assert len(written["echo_runs"]) == 3
    # Before each of the six HTTP runs the bench waited for the notices left behind.
    assert len(written["http"]["seconds_waited_for_notices"]) == 6
    for sizes in written["http"]["mean_group_commit_size"].values():
        assert len(sizes) == 3
        assert all(size >= 1 for size in sizes)  # from the writer process's own metrics


def test_a_run_waits_for_due_notices_and_not_for_later_retries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    migrations.upgrade(url)
    now = datetime.now(UTC)
    database = Database(url)
    try:
        with database.write() as session:
            later = now + timedelta(hours=1)
            session.add_all([_outbox_row("due", now), _outbox_row("later", later)])
        assert runner._notices_delivered(url, limit_s=0.3) >= 0.3  # the due one is still there
        with database.write() as session:
            session.execute(update(OutboxRow).where(OutboxRow.idempotency_key == "due").values(
                status=Status.DELIVERED.value, delivered_at=now
            ))  # fmt: skip
        assert runner._notices_delivered(url, limit_s=5) == 0.0  # a retry due later: no wait
    finally:
        database.dispose()


def _outbox_row(key: str, due: datetime) -> OutboxRow:
    return OutboxRow(
        idempotency_key=key, event_id=key, customer_id="c1", channel="inbox", kind="login",
        locale="ja", context="{}", status=Status.PENDING.value, attempts=0,
        next_attempt_at=due, created_at=due,
    )  # fmt: skip

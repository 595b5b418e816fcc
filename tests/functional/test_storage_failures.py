"""The service when its storage fails: 503 with the error shape, never a 500 or a false 200."""

from __future__ import annotations

import fcntl
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kabuguard import migrations
from kabuguard.config import Settings
from kabuguard.db import Database
from tests import factories as f
from tests.conftest import FrozenClock, running_server, settings_for


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """A SQLite file with FULL durability: kabuguard fsyncs the log itself."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    migrations.upgrade(url)
    return settings_for(url)


def test_after_a_failed_fsync_every_decision_is_503_and_readyz_says_why(
    sqlite_settings: Settings, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(sqlite_settings.database_url)
    real_fsync = os.fsync
    failing = [False]

    def disk(descriptor: int) -> None:
        if failing[0]:
            failing[0] = False  # fails once, as a lost writeback is reported once
            raise OSError(5, "Input/output error")
        real_fsync(descriptor)

    with running_server(sqlite_settings, database, clock) as server:
        key = server.key("all")
        monkeypatch.setattr(os, "fsync", disk)
        with server.client(key) as client:
            assert client.get("/readyz").status_code == 200
            event = f.login()
            failing[0] = True
            first = client.post("/v1/events", json=event)
            retried = client.post("/v1/events", json=event)  # fsync works again: still 503
            batch = client.post("/v1/events/batch", json={"events": [f.login(), f.login()]})
            ready = client.get("/readyz")
            halt = {"symbol": "7203", "market": "TSE", "reason": "pump"}
            listed = client.post("/v1/lists/halted-symbols", json=halt)  # another route
            metrics = client.get("/metrics").text
    database.dispose()
    for answer in (first, retried):
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "storage_unavailable"
    assert batch.status_code == 200
    assert [item["status"] for item in batch.json()["results"]] == [503, 503]
    assert {item["error"]["code"] for item in batch.json()["results"]} == {"storage_unavailable"}
    assert (listed.status_code, listed.json()["error"]["code"]) == (503, "storage_unavailable")
    assert listed.headers["retry-after"] == "1"
    assert ready.status_code == 503
    assert "fsync" in ready.json()["reason"]
    assert "kabuguard_storage_log_sync_failed 1.0" in metrics


def test_a_stuck_writer_costs_503s_within_the_deadline_and_the_cap(
    sqlite_settings: Settings, clock: FrozenClock
) -> None:
    """A peer holds the write lock (a CLI import suspended mid-transaction): requests answer
    503 at the decision deadline, those beyond the in-flight cap at once, and a retry after
    the peer lets go is decided."""
    settings = sqlite_settings.model_copy(
        update={"decision_timeout_seconds": 2.0, "max_events_in_flight": 1}
    )
    database = Database(settings.database_url)
    lock_path = settings.database_url.removeprefix("sqlite:///") + ".writelock"
    with running_server(settings, database, clock) as server:
        key = server.key("all")
        event = f.login()
        with server.client(key) as client, open(lock_path, "a+b") as peer:
            fcntl.flock(peer, fcntl.LOCK_EX)
            try:
                with ThreadPoolExecutor(2) as pool:
                    stuck = pool.submit(client.post, "/v1/events", json=event)
                    _until_in_flight(client, 1)
                    beyond = client.post("/v1/events", json=f.login())
                    timed_out = stuck.result()
            finally:
                fcntl.flock(peer, fcntl.LOCK_UN)
            retried = client.post("/v1/events", json=event)
    database.dispose()
    assert (beyond.status_code, beyond.json()["error"]["code"]) == (503, "overloaded")
    assert beyond.headers["retry-after"] == "1"
    assert (timed_out.status_code, timed_out.json()["error"]["code"]) == (503, "decision_timeout")
    assert retried.status_code == 200
    assert retried.json()["event_id"] == event["event_id"]


def _until_in_flight(client: httpx.Client, count: int) -> None:
    deadline = time.monotonic() + 10
    while f"kabuguard_events_in_flight {count}.0" not in client.get("/metrics").text:
        assert time.monotonic() < deadline, "the first event never got in flight"
        time.sleep(0.01)


def test_readyz_refuses_traffic_until_the_schema_is_the_one_this_version_needs(
    database_url: str, database: Database, clock: FrozenClock
) -> None:
    """New code deployed before `db upgrade` (serve migrates only the embedded SQLite) must not
    take traffic it would answer 503 on every decision."""
    head = migrations.head_revision()
    migrations.downgrade(database_url, "0005")
    with (
        running_server(settings_for(database_url), database, clock) as server,
        server.client(server.key("all")) as client,
    ):
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert f"this version needs {head}" in behind.json()["reason"]
        assert "kabuguard db upgrade" in behind.json()["reason"]
        migrations.upgrade(database_url)
        assert client.get("/readyz").json() == {"status": "ready"}

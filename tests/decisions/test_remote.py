"""The writer process (ADR 0008): a real `kabuguard writer` child, driven over its socket."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from kabuguard import migrations
from kabuguard.app import policies_digest
from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.decisions import process as process_module
from kabuguard.decisions.interfaces import AnsweredByWriter, DecisionError, StorageFailed
from kabuguard.decisions.process import READY, WriterFailed, WriterProcess, writer_command
from kabuguard.decisions.records import event_digest, event_document
from kabuguard.decisions.remote import RemoteCommitter, WriterServer
from kabuguard.decisions.services import DecisionService, Policies, Submitted
from kabuguard.parsing import parse_event
from kabuguard.risk.events import EVENT_ADAPTER, Event
from kabuguard.risk.policy import Policy
from tests import factories as f
from tests.conftest import FrozenClock
from tests.metrics_helpers import samples
from tests.risk.test_events import EXAMPLES

DEFAULT_POLICIES = policies_digest(Policies(Policy.default()))


def _migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    migrations.upgrade(url)
    return url


@pytest.fixture
def writer(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[WriterProcess, str]]:
    """A writer process on the test's database, started as `kabuguard serve` starts it."""
    url = database_url
    monkeypatch.setenv("KABUGUARD_DATABASE_URL", url)
    monkeypatch.setenv("KABUGUARD_LOG_LEVEL", "WARNING")
    process = WriterProcess(["--policy-digest", DEFAULT_POLICIES])
    process.start()
    try:
        yield process, url
    finally:
        process.stop()


def _submit_all(
    path: str, events: list[Event], on_notices: Callable[[], None] = lambda: None
) -> list[Submitted | DecisionError]:
    async def submit_all() -> list[Submitted | DecisionError]:
        remote = RemoteCommitter(path, on_notices=on_notices)
        try:
            found = await asyncio.gather(
                *(remote.submit(event, "t") for event in events), return_exceptions=True
            )
        finally:
            remote.stop()
        assert all(isinstance(one, Submitted | DecisionError) for one in found), found
        return [one for one in found if isinstance(one, Submitted | DecisionError)]

    return asyncio.run(submit_all())


def _stored_events(url: str) -> int:
    database = Database(url)
    try:
        with database.read() as session:
            assert verify_chain(session).intact
            count: int = session.execute(text("SELECT count(*) FROM events")).scalar_one()
            return count
    finally:
        database.dispose()


def _comparable(decision: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in decision.items() if key != "decided_at"}


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_an_event_crosses_to_the_writer_unchanged(kind: str) -> None:
    """The server sends the event it validated as JSON; the writer's parse of it is the same
    event, with the same digest (idempotency) and stored payload."""
    event = EVENT_ADAPTER.validate_python(EXAMPLES[kind][0])  # type: ignore[index]
    crossed = parse_event(EVENT_ADAPTER.dump_json(event, exclude_none=True))
    assert crossed == event
    assert event_digest(event_document(crossed)) == event_digest(event_document(event))


def test_the_writer_answers_as_the_server_itself_would(
    writer: tuple[WriterProcess, str], tmp_path: Path
) -> None:
    process, url = writer
    lock, login = f.lock("c-1", minutes=0), f.login("c-1", minutes=1)
    events = [f.typed(e) for e in (f.login("c-2"), lock, login, f.order("c-3", minutes=2))]
    woken: list[bool] = []
    remote = _submit_all(process.socket_path, events, on_notices=lambda: woken.append(True))
    assert woken  # the order queued an inbox notice: the server's dispatcher is told at once
    in_process = DecisionService(
        Database(_migrated(tmp_path / "reference.db")),
        Policies(Policy.default()),
        clock=FrozenClock(f.BASE_TIME + timedelta(days=30)),
        max_future_skew=timedelta(minutes=5),
    ).decide_many([(event, "t") for event in events])
    assert all(isinstance(one, Submitted) and not one.replayed for one in remote)
    assert [_comparable(one.decision) for one in remote if isinstance(one, Submitted)] == [
        _comparable(one.decision) for one in in_process if isinstance(one, Submitted)
    ]
    assert remote[2].decision["outcome"] == "deny"  # type: ignore[union-attr]
    [again, conflict, future] = _submit_all(
        process.socket_path,
        [
            events[0],
            f.typed(login | {"ip": "192.0.2.1"}),
            f.typed(f.login(occurred_at=(f.BASE_TIME + timedelta(days=3650)).isoformat())),
        ],
    )
    assert isinstance(again, Submitted)
    assert again.replayed
    assert again.decision == remote[0].decision  # type: ignore[union-attr]
    assert isinstance(conflict, AnsweredByWriter)
    assert conflict.status == 409
    assert orjson.loads(conflict.body)["error"]["code"] == "idempotency_conflict"
    assert isinstance(future, AnsweredByWriter)
    assert future.status == 422
    assert _stored_events(url) == 4


def _kill(process: WriterProcess) -> int:
    """SIGKILL the writer child; returns once its supervisor has seen it go."""
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.ready and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not process.ready
    return pid


def test_a_lost_writer_answers_503_and_is_started_again(writer: tuple[WriterProcess, str]) -> None:
    process, url = writer
    first = f.typed(f.login("c-1"))
    [decided] = _submit_all(process.socket_path, [first])
    assert isinstance(decided, Submitted)
    pid = _kill(process)
    event = f.typed(f.login("c-2", minutes=1))
    [lost] = _submit_all(process.socket_path, [event])
    assert isinstance(lost, StorageFailed)
    assert "retry with the same event_id" in str(lost)
    deadline = time.monotonic() + 60
    while process.restarts == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.restarts == 1
    assert process.ready
    assert process.pid != pid
    [retried, replayed] = _submit_all(process.socket_path, [event, first])
    assert isinstance(retried, Submitted)
    assert not retried.replayed
    assert isinstance(replayed, Submitted)
    assert replayed.replayed
    assert _stored_events(url) == 2


def _writer_metrics(path: str) -> dict[str, float]:
    async def scrape() -> bytes:
        remote = RemoteCommitter(path)
        try:
            return await remote.metrics()
        finally:
            remote.stop()

    return samples(asyncio.run(scrape()).decode())


def test_the_writer_reports_its_group_commits_to_the_server(
    writer: tuple[WriterProcess, str],
) -> None:
    """Group sizes are the writer's to count: the server's /metrics asks it for them."""
    process, _url = writer
    before = _writer_metrics(process.socket_path)
    assert before["kabuguard_group_commit_batch_size_count"] == 0
    events = [f.typed(f.login(f"c-{n}", minutes=n)) for n in range(20)]
    assert all(isinstance(one, Submitted) for one in _submit_all(process.socket_path, events))
    after = _writer_metrics(process.socket_path)
    assert 1 <= after["kabuguard_group_commit_batch_size_count"] <= 20
    assert after["kabuguard_group_commit_batch_size_sum"] == 20
    _kill(process)
    assert _writer_metrics(process.socket_path) == {}  # no writer: nothing to report, no error


def test_the_writer_stops_when_its_server_is_gone(tmp_path: Path) -> None:
    """Its standard input closes with the server, however the server ended."""
    socket_path = str(tmp_path / "w.sock")
    env = os.environ | {"KABUGUARD_DATABASE_URL": _migrated(tmp_path / "w.db")}
    child = subprocess.Popen(
        [*writer_command(), "--socket", socket_path, "--policy-digest", DEFAULT_POLICIES],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == READY
    assert child.stdin is not None
    child.stdin.close()
    assert child.wait(timeout=60) == 0
    assert child.stderr is not None
    assert b"Fatal" not in child.stderr.read()


def test_a_supervised_writer_ignores_sigterm_and_stops_in_order_when_told(
    writer: tuple[WriterProcess, str],
) -> None:
    """A service manager's SIGTERM reaches the writer with its server; the writer goes on
    until the server stops it. Stopped mid-stream, it answers every event it took:
    decided (200) or not taken (503); nothing is stored without its answer being sent."""
    process, url = writer
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)
    [decided_after_sigterm] = _submit_all(process.socket_path, [f.typed(f.login("c-0"))])
    assert isinstance(decided_after_sigterm, Submitted)
    assert process.pid == pid
    events = [f.typed(f.login(f"c-{n % 7}", minutes=n + 1)) for n in range(300)]

    async def stream() -> list[Submitted | BaseException]:
        remote = RemoteCommitter(process.socket_path)
        pending = [asyncio.ensure_future(remote.submit(event, "t")) for event in events]
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        stopping = asyncio.get_running_loop().run_in_executor(None, process.stop)
        found = await asyncio.gather(*pending, return_exceptions=True)
        await stopping
        remote.stop()
        return found

    found = asyncio.run(stream())
    decided = [one for one in found if isinstance(one, Submitted)]
    refused = [one for one in found if not isinstance(one, Submitted)]
    assert decided
    for one in refused:  # not taken, or taken by nobody: 503 either way, retried safely
        assert isinstance(one, StorageFailed | AnsweredByWriter), one
        assert not isinstance(one, AnsweredByWriter) or one.status == 503
    assert _stored_events(url) == 1 + len(decided)
    assert process.restarts == 0


class _HeldCommitter:
    """Stands in for the group committer in the shutdown protocol's tests: it holds every
    event until released, then answers it with a decision of `size` bytes of reasons."""

    def __init__(self, size: int = 0) -> None:
        self.release = asyncio.Event()
        self.taken: list[str] = []
        self._size = size
        self.metrics_asked = 0

    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def submit(self, event: Event, actor: str) -> Submitted:
        self.taken.append(event.event_id)
        await self.release.wait()
        decision = {"event_id": event.event_id, "outcome": "allow", "reasons": []}
        return Submitted(decision | {"padding": "x" * self._size}, replayed=False)

    async def metrics(self) -> bytes:
        self.metrics_asked += 1
        if self.metrics_asked == 1:
            raise RuntimeError("a defect in collecting metrics")
        return b"held_events %d\n" % len(self.taken)


async def _serving(
    tmp_path: Path, committer: _HeldCommitter
) -> tuple[WriterServer, asyncio.Server, RemoteCommitter]:
    server = WriterServer(committer, threading.Event())
    path = str(tmp_path / "held.sock")
    listener = await asyncio.start_unix_server(server.handle, path)
    return server, listener, RemoteCommitter(path)


def test_a_stopping_writer_refuses_new_events_and_answers_those_it_took(tmp_path: Path) -> None:
    async def scenario() -> tuple[Submitted | BaseException, Submitted | BaseException]:
        committer = _HeldCommitter()
        server, listener, remote = await _serving(tmp_path, committer)
        taken = asyncio.ensure_future(remote.submit(f.typed(f.login(event_id="a")), "t"))
        while committer.taken != ["a"]:
            await asyncio.sleep(0.001)
        listener.close()
        stopping = asyncio.ensure_future(server.shutdown())
        late = asyncio.ensure_future(remote.submit(f.typed(f.login(event_id="b")), "t"))
        [refused] = await asyncio.gather(late, return_exceptions=True)
        assert not stopping.done()  # still owes "a"
        committer.release.set()
        [answered] = await asyncio.gather(taken, return_exceptions=True)
        await stopping
        remote.stop()
        return answered, refused

    answered, refused = asyncio.run(scenario())
    assert isinstance(answered, Submitted)
    assert answered.decision["event_id"] == "a"
    assert isinstance(refused, AnsweredByWriter)
    assert refused.status == 503
    assert orjson.loads(refused.body)["error"]["code"] == "storage_unavailable"


def test_scrapes_share_a_metrics_ask_and_a_defect_in_it_costs_no_decision(
    tmp_path: Path,
) -> None:
    async def scenario() -> tuple[list[bytes], bytes, Submitted | BaseException, int]:
        committer = _HeldCommitter()
        _server, listener, remote = await _serving(tmp_path, committer)
        taken = asyncio.ensure_future(remote.submit(f.typed(f.login(event_id="a")), "t"))
        while committer.taken != ["a"]:
            await asyncio.sleep(0.001)
        scrapes = await asyncio.gather(*(remote.metrics() for _ in range(5)))
        later = await remote.metrics()
        committer.release.set()
        [answered] = await asyncio.gather(taken, return_exceptions=True)
        remote.stop()
        listener.close()
        return scrapes, later, answered, committer.metrics_asked

    scrapes, later, answered, asked = asyncio.run(scenario())
    assert scrapes == [b""] * 5  # one ask for five scrapes at once; it failed: empty
    assert later == b"held_events 1\n"
    assert asked == 2
    assert isinstance(answered, Submitted)  # the connection, and "a", outlived the defect
    assert answered.decision["event_id"] == "a"


def test_a_writer_of_another_release_is_refused_as_a_failed_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an upgrade in place, a restarted writer would speak another wire protocol."""
    speaks_v1 = "import sys; print('ready kabuguard-writer/1', flush=True); sys.stdin.read()"
    older = [sys.executable, "-c", speaks_v1]
    monkeypatch.setattr(process_module, "writer_command", lambda: older)
    process = WriterProcess([])
    try:
        with pytest.raises(
            WriterFailed, match=r"ready kabuguard-writer/1.*restart `kabuguard serve`"
        ):
            process.start()
    finally:
        process.stop()


def test_a_stopping_writer_sends_every_answer_it_has_buffered(tmp_path: Path) -> None:
    """Far more than a socket buffer's worth of answers, all released at once and the writer
    stopped straight after, its loop then closed as the process's would be: each answer
    still arrives."""
    path = str(tmp_path / "held.sock")
    listening, taken_all = threading.Event(), threading.Event()
    events = [f.typed(f.login(event_id=f"e-{n}")) for n in range(200)]

    async def writer_side() -> None:
        committer = _HeldCommitter(size=8_000)
        server = WriterServer(committer, threading.Event())
        listener = await asyncio.start_unix_server(server.handle, path)
        listening.set()
        while len(committer.taken) < len(events):
            await asyncio.sleep(0.001)
        taken_all.set()
        listener.close()
        committer.release.set()
        await server.shutdown()

    writer_thread = threading.Thread(target=asyncio.run, args=(writer_side(),))
    writer_thread.start()
    assert listening.wait(10)

    async def server_side() -> list[Submitted | BaseException]:
        remote = RemoteCommitter(path)
        pending = [asyncio.ensure_future(remote.submit(event, "t")) for event in events]
        while not taken_all.is_set():
            await asyncio.sleep(0.001)
        time.sleep(0.5)  # a busy server: its loop does not read while the writer stops
        found = await asyncio.gather(*pending, return_exceptions=True)
        remote.stop()
        return found

    found = asyncio.run(server_side())
    writer_thread.join(10)
    assert [type(one) for one in found] == [Submitted] * 200

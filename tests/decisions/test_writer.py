"""The group committer: concurrent submissions share transactions and each gets its answer."""

from __future__ import annotations

import asyncio
import fcntl
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from kabuguard import migrations
from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.decisions.interfaces import DecisionTimedOut, IdempotencyConflict, StorageFailed
from kabuguard.decisions.services import DecisionService, Policies, Submitted
from kabuguard.decisions.writer import GroupCommitter
from kabuguard.observability import GROUP_COMMIT_SIZE
from kabuguard.risk.events import Event
from kabuguard.risk.policy import Policy
from kabuguard.wal import LogNotDurable
from tests import factories as f
from tests.conftest import FrozenClock


def _service(database: Database) -> DecisionService:
    clock = FrozenClock(f.BASE_TIME + timedelta(days=30))
    return DecisionService(
        database, Policies(Policy.default()), clock=clock, max_future_skew=timedelta(minutes=5)
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file with FULL durability: the committer answers through its sync thread."""
    url = f"sqlite:///{tmp_path / 'k.db'}"
    migrations.upgrade(url)
    return url


def _batches() -> tuple[float, float]:
    [metric] = GROUP_COMMIT_SIZE.collect()
    sample = {s.name: s.value for s in metric.samples}
    return sample["kabuguard_group_commit_batch_size_count"], sample[
        "kabuguard_group_commit_batch_size_sum"
    ]


def test_concurrent_submissions_are_grouped_and_answered(database: Database) -> None:
    committer = GroupCommitter(_service(database), database)
    events = [f.typed(f.login(f"c-{n % 5}", minutes=n)) for n in range(100)]
    count_before, sum_before = _batches()

    async def submit_all() -> list[str]:
        results = await asyncio.gather(*(committer.submit(e, "t") for e in events))
        return [r.decision["event_id"] for r in results]

    committer.start()
    try:
        answered = asyncio.run(submit_all())
    finally:
        committer.stop()
    count_after, sum_after = _batches()
    assert answered == [e.event_id for e in events]
    assert sum_after - sum_before == 100
    assert count_after - count_before < 100  # some requests shared a transaction
    with database.read() as session:
        assert verify_chain(session).entries == 100


def test_an_item_error_reaches_only_its_caller(database: Database) -> None:
    committer = GroupCommitter(_service(database), database)
    first = f.login("c-1")
    conflicting = f.typed(first | {"ip": "192.0.2.44"})

    async def scenario() -> tuple[object, object]:
        await committer.submit(f.typed(first), "t")
        results = await asyncio.gather(
            committer.submit(conflicting, "t"),
            committer.submit(f.typed(f.login("c-2")), "t"),
            return_exceptions=True,
        )
        return results[0], results[1]

    committer.start()
    try:
        conflict, fine = asyncio.run(scenario())
    finally:
        committer.stop()
    assert isinstance(conflict, IdempotencyConflict)
    assert not isinstance(fine, BaseException)


class _WatchedDatabase(Database):
    """A real database that remembers which decisions each fsync made durable."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.durable: set[str] = set()

    def sync(self) -> None:
        with self.read() as session:
            committed = session.execute(text("SELECT event_id FROM decisions")).scalars()
            ids = set(committed)
        super().sync()
        self.durable |= ids


def test_no_answer_is_given_before_its_decision_is_durable(sqlite_url: str) -> None:
    database = _WatchedDatabase(sqlite_url)
    committer = GroupCommitter(_service(database), database)
    events = [f.typed(f.login(f"c-{n % 5}", minutes=n)) for n in range(60)]
    durable_when_answered: list[bool] = []

    async def submit_all() -> None:
        async def one(event: Event) -> None:
            await committer.submit(event, "t")
            durable_when_answered.append(event.event_id in database.durable)

        await asyncio.gather(*(one(e) for e in events))

    committer.start()
    try:
        asyncio.run(submit_all())
    finally:
        committer.stop()
        database.dispose()
    assert durable_when_answered == [True] * 60


def test_a_failed_fsync_sticks_for_every_process_until_an_operator_clears_it(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux reports a failed writeback once, to whichever process syncs next, and may mark the
    pages clean, so a later fsync succeeding proves nothing: every answer is 503, in every
    process on the database, until an operator removes the marker; then a retry gets the
    stored decision."""
    real_fsync = os.fsync
    failures = [OSError(5, "Input/output error")]  # the disk fails once, then "recovers"

    def disk(descriptor: int) -> None:
        if failures:
            raise failures.pop()
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", disk)
    event = f.typed(f.login("c-1"))
    database = Database(sqlite_url)
    committer = GroupCommitter(_service(database), database)

    async def submit(to: GroupCommitter) -> Submitted:
        return await to.submit(event, "t")

    committer.start()
    try:
        with pytest.raises(StorageFailed):
            asyncio.run(submit(committer))
        with pytest.raises(StorageFailed):  # the retry, though fsync works again
            asyncio.run(submit(committer))
        assert database.durability_problem is not None
        assert "Input/output error" in database.durability_problem
        other = Database(sqlite_url)  # another process on the file: the server, a CLI run
        assert other.durability_problem == database.durability_problem
        with pytest.raises(LogNotDurable):
            other.sync()
        other.dispose()
    finally:
        committer.stop()
        database.dispose()
    Path(sqlite_url.removeprefix("sqlite:///") + ".fsync-failed").unlink()  # the operator's
    restarted = Database(sqlite_url)
    committer = GroupCommitter(_service(restarted), restarted)
    committer.start()
    try:
        retried = asyncio.run(submit(committer))
    finally:
        committer.stop()
        restarted.dispose()
    assert restarted.durability_problem is None
    assert retried.replayed
    assert retried.decision["event_id"] == event.event_id


def test_a_group_the_database_refuses_is_answered_at_once_not_retried_item_by_item(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry would wait out the same busy timeout again: a group of 256 took minutes."""
    database = Database(sqlite_url, busy_timeout_ms=50)
    service = _service(database)
    items = [(f.typed(f.login(f"c-{n}", minutes=n)), "t") for n in range(3)]
    path = sqlite_url.removeprefix("sqlite:///") + ".writelock"
    with open(path, "a+b") as held:  # another process's transaction, stuck
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            answers = service.decide_many(items)
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
            database.dispose()
    assert [type(answer) for answer in answers] == [StorageFailed] * 3
    assert "one by one" not in caplog.text


def test_a_request_queued_past_the_deadline_is_answered_without_being_decided(
    sqlite_url: str,
) -> None:
    """In the writer process this is the only sign that the server stopped waiting: the stale
    copy is not decided (its caller retries), so a slow writer does not fall further behind."""
    database = Database(sqlite_url)
    committer = GroupCommitter(_service(database), database, deadline_seconds=0.3)
    first, second = (f.typed(f.login(f"c-{n}", minutes=n)) for n in range(2))
    path = sqlite_url.removeprefix("sqlite:///") + ".writelock"

    async def submit_while_the_writer_is_stuck() -> list[Submitted | BaseException]:
        groups = _batches()[0]
        with open(path, "a+b") as peer:
            fcntl.flock(peer, fcntl.LOCK_EX)  # another process's transaction
            try:
                decided = asyncio.ensure_future(committer.submit(first, "t"))
                while _batches()[0] == groups:  # the writer has begun deciding `first`
                    await asyncio.sleep(0.005)
                stale = asyncio.ensure_future(committer.submit(second, "t"))
                await asyncio.sleep(0.5)  # `second` waits in the queue past the deadline
            finally:
                fcntl.flock(peer, fcntl.LOCK_UN)
            return list(await asyncio.gather(decided, stale, return_exceptions=True))

    committer.start()
    try:
        answers = asyncio.run(submit_while_the_writer_is_stuck())
    finally:
        committer.stop()
    with database.read() as session:
        stored = set(session.execute(text("SELECT event_id FROM decisions")).scalars())
    database.dispose()
    assert isinstance(answers[0], Submitted)
    assert isinstance(answers[1], DecisionTimedOut)
    assert stored == {first.event_id}

"""The group committer: concurrent submissions share transactions and each gets its answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.decisions.interfaces import IdempotencyConflict
from kabuguard.decisions.services import DecisionService, Policies
from kabuguard.decisions.writer import GroupCommitter
from kabuguard.observability import GROUP_COMMIT_SIZE
from kabuguard.risk.policy import Policy
from tests import factories as f
from tests.conftest import FrozenClock


def _service(database: Database) -> DecisionService:
    clock = FrozenClock(f.BASE_TIME + timedelta(days=30))
    return DecisionService(
        database, Policies(Policy.default()), clock=clock, max_future_skew=timedelta(minutes=5)
    )


def _batches() -> tuple[float, float]:
    [metric] = GROUP_COMMIT_SIZE.collect()
    sample = {s.name: s.value for s in metric.samples}
    return sample["kabuguard_group_commit_batch_size_count"], sample[
        "kabuguard_group_commit_batch_size_sum"
    ]


def test_concurrent_submissions_are_grouped_and_answered(database: Database) -> None:
    committer = GroupCommitter(_service(database))
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
    committer = GroupCommitter(_service(database))
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

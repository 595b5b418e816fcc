"""Group commit: one writer thread decides whatever has queued up, in one transaction.

Every request still gets its own decision, audit entry and answer, and none is answered before
its transaction commits. What changes is that requests arriving together share a commit, the
state loads and the statement round-trips: SQLite takes one writer at a time whatever we do,
and under load the queue forms anyway — this turns the queue into throughput.

On SQLite with FULL durability a second thread makes each committed group durable (one fsync
for every group waiting) and only then answers it, while the writer decides the next group:
the disk's latency overlaps the engine's work instead of adding to it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import generate_latest

from kabuguard import observability
from kabuguard.db import Database
from kabuguard.decisions.interfaces import DecisionError, DecisionTimedOut, StorageFailed
from kabuguard.decisions.services import DecisionService, Submitted
from kabuguard.risk.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Request:
    event: Event
    actor: str
    future: asyncio.Future[Submitted]
    loop: asyncio.AbstractEventLoop
    received: float  # time.monotonic() when queued


class Committer(Protocol):
    """Decides events for the server: in a thread of its own (`GroupCommitter`), or in the
    writer process (`remote.RemoteCommitter`, ADR 0008)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    async def submit(self, event: Event, actor: str) -> Submitted: ...

    async def metrics(self) -> bytes:
        """The writer's own metrics in Prometheus' text format; empty if it cannot answer."""
        ...


class GroupCommitter:
    def __init__(
        self,
        service: DecisionService,
        database: Database,
        *,
        max_batch: int = 256,
        deadline_seconds: float | None = None,
    ) -> None:
        """`deadline_seconds`: a request queued longer than this is answered 503
        `decision_timeout` without being decided. Its caller has been told so already (the
        server's own deadline) and retries; deciding the stale copy only lengthens the queue.
        In the writer process this is the only sign that the server gave up."""
        self._deadline = deadline_seconds
        self._service = service
        self._database = database
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._syncer = _Syncer(database) if database.syncs_after_commit else None

    def start(self) -> None:
        if self._syncer is not None:
            self._syncer.start()
        self._thread = threading.Thread(target=self._run, name="kabuguard-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Decide everything already queued, answer it, then end the threads."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._syncer is not None:
            self._syncer.stop()

    async def submit(self, event: Event, actor: str) -> Submitted:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Submitted] = loop.create_future()
        self._queue.put(_Request(event, actor, future, loop, time.monotonic()))
        return await future

    async def metrics(self) -> bytes:
        return generate_latest(observability.WRITER_REGISTRY)

    def _run(self) -> None:
        running = True
        while running:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    running = False
                    break
                batch.append(item)
            self._decide(batch)

    def _decide(self, batch: list[_Request]) -> None:
        batch = self._still_awaited(batch)
        if not batch:
            return
        observability.GROUP_COMMIT_SIZE.observe(len(batch))
        outcomes: list[Submitted | DecisionError] | list[Exception]
        pairs = [(r.event, r.actor) for r in batch]
        try:
            outcomes = self._service.decide_many(pairs, sync=self._syncer is None)
        except Exception as error:  # the thread must survive to answer the next requests
            log.exception("deciding a batch failed")
            outcomes = [error] * len(batch)
        settlements = [
            (request.loop, request.future, outcome)
            for request, outcome in zip(batch, outcomes, strict=True)
        ]
        if self._syncer is not None:
            self._syncer.hand_over(settlements)
        else:
            _answer(settlements)

    def _still_awaited(self, batch: list[_Request]) -> list[_Request]:
        """The requests whose caller still waits: a cancelled one (its deadline passed in this
        process) is dropped, one queued past the deadline is answered 503 undecided."""
        batch = [request for request in batch if not request.future.cancelled()]
        if self._deadline is None:
            return batch
        oldest = time.monotonic() - self._deadline
        stale = [r for r in batch if r.received < oldest]
        if stale:
            timed_out = DecisionTimedOut(self._deadline)
            _answer([(r.loop, r.future, timed_out) for r in stale])
        return [r for r in batch if r.received >= oldest]


_Settlement = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Submitted]", "Submitted | Exception"]


class _Syncer:
    """Answers committed groups once they are durable: one fsync for every group waiting."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._queue: queue.SimpleQueue[list[_Settlement] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kabuguard-syncer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def hand_over(self, settlements: list[_Settlement]) -> None:
        """Called after the group's commit: what is synced next includes it."""
        self._queue.put(settlements)

    def _run(self) -> None:
        running = True
        while running:
            first = self._queue.get()
            if first is None:
                return
            waiting = [first]
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    running = False
                    break
                waiting.append(more)
            self._sync_then_answer([s for group in waiting for s in group])

    def _sync_then_answer(self, settlements: list[_Settlement]) -> None:
        try:
            self._database.sync()
        except OSError:
            # The commits may not be on disk: answer 503, and every later group too until an
            # operator has checked the disk and restarted (wal.LogNotDurable).
            log.critical("fsync of the database log failed", exc_info=True)
            settlements = [(loop, future, StorageFailed()) for loop, future, _ in settlements]
        _answer(settlements)


def _answer(settlements: list[_Settlement]) -> None:
    # One wake-up per event loop, not per request: each is a syscall and a loop turn.
    by_loop: dict[asyncio.AbstractEventLoop, list[_Settlement]] = {}
    for settlement in settlements:
        by_loop.setdefault(settlement[0], []).append(settlement)
    for loop, group in by_loop.items():
        loop.call_soon_threadsafe(_settle, group)


def _settle(settlements: list[_Settlement]) -> None:
    for _loop, future, outcome in settlements:
        if future.cancelled():  # the caller went away; the decision is stored all the same
            continue
        if isinstance(outcome, Submitted):
            future.set_result(outcome)
        else:
            future.set_exception(outcome)

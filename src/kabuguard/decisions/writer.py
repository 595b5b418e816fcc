"""Group commit: one writer thread decides whatever has queued up, in one transaction.

Every request still gets its own decision, audit entry and answer, and none is answered before
its transaction commits. What changes is that requests arriving together share a commit, the
state loads and the statement round-trips: SQLite takes one writer at a time whatever we do,
and under load the queue forms anyway — this turns the queue into throughput.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass

from kabuguard import observability
from kabuguard.decisions.interfaces import DecisionError
from kabuguard.decisions.services import DecisionService, Submitted
from kabuguard.risk.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Request:
    event: Event
    actor: str
    future: asyncio.Future[Submitted]
    loop: asyncio.AbstractEventLoop


class GroupCommitter:
    def __init__(self, service: DecisionService, *, max_batch: int = 256) -> None:
        self._service = service
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kabuguard-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Decide everything already queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    async def submit(self, event: Event, actor: str) -> Submitted:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Submitted] = loop.create_future()
        self._queue.put(_Request(event, actor, future, loop))
        return await future

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
        observability.GROUP_COMMIT_SIZE.observe(len(batch))
        outcomes: list[Submitted | DecisionError] | list[Exception]
        try:
            outcomes = self._service.decide_many([(r.event, r.actor) for r in batch])
        except Exception as error:  # the thread must survive to answer the next requests
            log.exception("deciding a batch failed")
            outcomes = [error] * len(batch)
        # One wake-up per event loop, not per request: each is a syscall and a loop turn.
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settlement]] = {}
        for request, outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(request.loop, []).append((request.future, outcome))
        for loop, settlements in by_loop.items():
            loop.call_soon_threadsafe(_settle, settlements)


_Settlement = tuple["asyncio.Future[Submitted]", "Submitted | Exception"]


def _settle(settlements: list[_Settlement]) -> None:
    for future, outcome in settlements:
        if future.cancelled():  # the caller went away; the decision is stored all the same
            continue
        if isinstance(outcome, Submitted):
            future.set_result(outcome)
        else:
            future.set_exception(outcome)

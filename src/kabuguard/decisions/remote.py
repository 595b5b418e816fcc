"""The decision writer in a process of its own, and the server's side of it (ADR 0008).

The server's threads share one interpreter lock. Under load the writer held it about two
thirds of the time, the event loop and the dispatcher the rest, and one of the two cores
stood idle. `kabuguard serve` therefore runs the group committer, with its syncer and
checkpointer, in a child process (`kabuguard writer`), and passes it each accepted event over
a unix socket; everything else (HTTP, validation, pages, notices) stays in the server.

The wire is one connection carrying many requests at once, each a length-prefixed frame:
- request: length, request id, kind, actor length, actor, the event as JSON; or, of the
  metrics kind, nothing after the header;
- answer: length, request id, HTTP status, flags (replayed, notices queued, text), body: the
  decision document, the error reply the single-process server would have sent, or the
  writer's metrics in Prometheus' text format.
Nothing here decides anything: answers are the committer's, byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
import threading
from collections.abc import Callable
from typing import Any

import orjson

from kabuguard import observability
from kabuguard.decisions.interfaces import AnsweredByWriter, StorageFailed
from kabuguard.decisions.services import Submitted
from kabuguard.decisions.writer import Committer
from kabuguard.errors import INTERNAL_ERROR, error_reply
from kabuguard.parsing import parse_event
from kabuguard.risk.events import EVENT_ADAPTER, Event

log = logging.getLogger(__name__)

_REQUEST = struct.Struct(">IIBH")  # bytes after the length, request id, kind, actor length
_ANSWER = struct.Struct(">IIHB")  # bytes after the length, request id, status, flags
_EVENT = 0
_METRICS = 1
_REPLAYED = 1
_NOTICES = 2  # the group queued notices: the server's dispatcher should look now
_TEXT = 4  # the body is the writer's metrics, not a decision
_MAX_FRAME = 16 << 20  # far above any event the server accepts; refuses a corrupt length
_CONNECT_SECONDS = 5.0
_CLOSE_SECONDS = 10.0
_METRICS_SECONDS = 2.0  # a scrape must not hang on a busy writer


_Answer = tuple[int, int, bytes | dict[str, Any]]  # status, flags, error body or decision


class _Frames:
    """A connection's outgoing frames: those sent in one turn of the event loop leave in one
    system call. Each write wakes the process at the other end, which may then take this
    thread's core while it holds the interpreter lock: sent one by one, the writer's answers
    held its lock a quarter of the time (py-spy --gil), mostly off the CPU."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._queued: list[bytes] = []

    def send(self, frame: bytes) -> None:
        if not self._queued:
            asyncio.get_running_loop().call_soon(self.flush)
        self._queued.append(frame)

    def flush(self) -> None:
        queued, self._queued = self._queued, []
        if queued and not self.writer.is_closing():
            self.writer.write(b"".join(queued))


class _Connection:
    """One connection to the writer and the answers it owes."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.frames = _Frames(writer)
        self.pending: dict[int, asyncio.Future[_Answer]] = {}
        self.reading: asyncio.Task[None] | None = None  # held: the loop keeps weak references

    @property
    def open(self) -> bool:
        return not self.writer.is_closing()

    def close(self) -> None:
        """On the connection's loop only."""
        self.writer.close()
        pending, self.pending = self.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(StorageFailed())


class RemoteCommitter:
    """The server's committer when the writer runs in its own process (`GroupCommitter`'s
    interface). Should the writer be gone, its events get `503 storage_unavailable`: whether
    their decision was stored is unknown, and a retry with the same event id settles it."""

    def __init__(self, socket_path: str, *, on_notices: Callable[[], None] = lambda: None):
        self._path = socket_path
        self._on_notices = on_notices
        self._ids = itertools.count()
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unreachable = False  # logged once per outage, not once per request
        self._metrics: asyncio.Future[bytes] | None = None  # the ask in flight

    def start(self) -> None:
        """Nothing to start: the connection is opened on the server's loop at first use."""

    def stop(self) -> None:
        """Close the connection; callable from any thread (the server's shutdown runs it on
        a worker thread)."""
        connection, self._connection = self._connection, None
        if connection is None or self._loop is None:
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(connection.close)
        else:
            connection.close()

    async def submit(self, event: Event, actor: str) -> Submitted:
        body = EVENT_ADAPTER.dump_json(event, exclude_none=True)
        status, flags, answer = await self._ask(_EVENT, actor.encode(), body)
        if flags & _NOTICES:
            self._on_notices()
        if isinstance(answer, bytes):
            raise AnsweredByWriter(status, answer)
        return Submitted(answer, bool(flags & _REPLAYED))

    async def metrics(self) -> bytes:
        """The writer's metrics; scrapes at the same time share one ask (/metrics is public).
        Empty while the writer is unreachable or slow to answer, so that /metrics still
        answers with the server's own (`kabuguard_writer_up` says why)."""
        if self._metrics is None or self._metrics.done():
            self._metrics = asyncio.ensure_future(self._ask_metrics())
        return await asyncio.shield(self._metrics)  # a scraper gone does not cancel it

    async def _ask_metrics(self) -> bytes:
        try:
            status, _flags, body = await asyncio.wait_for(
                self._ask(_METRICS, b"", b""), _METRICS_SECONDS
            )
        except (StorageFailed, TimeoutError):
            return b""
        return body if status == 200 and isinstance(body, bytes) else b""

    async def _ask(self, kind: int, actor: bytes, body: bytes) -> _Answer:
        ident = next(self._ids) & 0xFFFFFFFF
        size = _REQUEST.size - 4 + len(actor) + len(body)
        frame = _REQUEST.pack(size, ident, kind, len(actor)) + actor + body
        connection = await self._connect()
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        connection.pending[ident] = future
        connection.frames.send(frame)
        try:
            return await future
        finally:  # answered, or no longer awaited (a metrics ask timed out)
            connection.pending.pop(ident, None)

    async def _connect(self) -> _Connection:
        if self._connection is not None and self._connection.open:
            return self._connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._connection is None or not self._connection.open:
                self._connection = await self._open()
            return self._connection

    async def _open(self) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self._path), _CONNECT_SECONDS
            )
        except (OSError, TimeoutError) as error:
            if not self._unreachable:
                log.error("the decision writer is unreachable at %s: %s", self._path, error)
            self._unreachable = True
            raise StorageFailed() from error
        if self._unreachable:
            log.warning("the decision writer is reachable again")
        self._unreachable = False
        self._loop = asyncio.get_running_loop()
        connection = _Connection(writer)
        connection.reading = self._loop.create_task(_read_answers(reader, connection))
        return connection


async def _read_answers(reader: asyncio.StreamReader, connection: _Connection) -> None:
    try:
        while True:
            (ident, status, flags), body = await _read_frame(reader, _ANSWER)
            answer: bytes | dict[str, Any] = body
            if status == 200 and not flags & _TEXT:
                decision: dict[str, Any] = orjson.loads(body)
                if not flags & _REPLAYED:  # counted once stored, whether or not still awaited
                    observability.record_decision(decision)
                answer = decision
            future = connection.pending.pop(ident, None)
            if future is not None and not future.done():
                future.set_result((status, flags, answer))
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as error:
        if connection.pending or connection.open:
            log.error("the connection to the decision writer was lost: %r", error)
    finally:
        connection.close()  # what it still owed: 503, retried idempotently


class WriterServer:
    """The writer process's end: answers the server's events with the group committer."""

    def __init__(self, committer: Committer, notices: threading.Event) -> None:
        """`notices` is set by the notice planner, on the writer thread, after a group queued
        some: the next answer tells the server's dispatcher to look now."""
        self._committer = committer
        self._notices = notices
        self._tasks: set[asyncio.Task[None]] = set()
        self._connections: set[_Frames] = set()
        self._stopping = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = _Frames(writer)
        self._connections.add(frames)
        try:
            while True:
                (ident, kind, actor_length), rest = await _read_frame(reader, _REQUEST)
                if kind == _METRICS:  # answered while stopping too: it decides nothing
                    _send(frames, ident, 200, _TEXT, await self._metrics_text())
                    continue
                if kind != _EVENT:
                    raise ValueError(f"unknown request kind {kind}")
                if self._stopping:  # nothing new once stopping: the server's retry is safe
                    _send(frames, ident, _UNAVAILABLE.status, 0, _UNAVAILABLE.body)
                    continue
                actor, raw = rest[:actor_length].decode(), rest[actor_length:]
                task = asyncio.get_running_loop().create_task(
                    self._answer(ident, actor, raw, frames)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the server went away; what it sent is decided all the same
        except ValueError as error:
            log.error("refused a malformed frame from the server: %s", error)
        finally:
            if not self._stopping:
                self._connections.discard(frames)
                frames.flush()  # what this turn answered still leaves
                writer.close()

    async def shutdown(self) -> None:
        """Refuse new events, decide and answer those taken, and send every answer."""
        self._stopping = True
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for frames in self._connections:
            frames.flush()
            frames.writer.close()  # after what is buffered has been sent
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(frames.writer.wait_closed(), _CLOSE_SECONDS)

    async def _metrics_text(self) -> bytes:
        try:
            return await self._committer.metrics()
        except Exception:  # a metrics defect must not cost the connection its decisions
            log.exception("collecting the writer's metrics failed")
            return b""

    async def _answer(self, ident: int, actor: str, raw: bytes, frames: _Frames) -> None:
        flags = 0
        try:
            submitted = await self._committer.submit(parse_event(raw), actor)
        except Exception as error:  # answered as the single-process server would answer it
            reply = error_reply(error)
            if reply is None:
                log.exception("deciding an event from the server failed", exc_info=error)
                reply = INTERNAL_ERROR
            status, body = reply.status, reply.body
        else:
            status, body = 200, orjson.dumps(submitted.decision)
            flags |= _REPLAYED if submitted.replayed else 0
        if self._notices.is_set():
            self._notices.clear()
            flags |= _NOTICES
        _send(frames, ident, status, flags, body)


def _send(frames: _Frames, ident: int, status: int, flags: int, body: bytes) -> None:
    frames.send(_ANSWER.pack(_ANSWER.size - 4 + len(body), ident, status, flags) + body)


_UNAVAILABLE = error_reply(StorageFailed()) or INTERNAL_ERROR


async def _read_frame(
    reader: asyncio.StreamReader, header: struct.Struct
) -> tuple[tuple[int, ...], bytes]:
    head = await reader.readexactly(header.size)
    length, *fields = header.unpack(head)
    rest = length - (header.size - 4)
    if not 0 <= rest <= _MAX_FRAME:
        raise ValueError(f"frame length {length} is out of bounds")
    return tuple(fields), await reader.readexactly(rest)

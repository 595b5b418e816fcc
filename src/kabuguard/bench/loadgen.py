"""A small, cheap HTTP/1.1 load generator for benchmarking the service on loopback.

Design goals, in order: measure honestly, stay bounded, and cost the machine as little CPU as
possible (the benchmark host has two cores, one of which the server under test needs).

* Every connection is a plain :class:`asyncio.Protocol` over a keep-alive TCP connection with
  exactly one request in flight; responses are parsed by ``httptools`` (the same C parser
  uvicorn uses), never by hand. The event loop is uvloop when it is importable.
* **Closed loop** (``rate_per_s=None``): each connection sends its next request as soon as the
  previous response has been read. Latency is measured from the moment the request is written.
* **Open loop** (``rate_per_s`` set): request *i* is scheduled at ``t0 + i / rate``. A free
  connection claims the next slot, sleeps until it, then sends. Latency is measured from the
  *scheduled* time, not the send time, which corrects coordinated omission: if the server falls
  behind, queued slots are sent late and their latency grows, rather than the generator quietly
  slowing down. Slots that could not even be sent before the window closed are not issued.
* **Warm-up**: requests whose start (scheduled time in open loop, send time in closed loop) falls
  in the first ``warmup_s`` seconds are sent but not counted; nor are errors during warm-up.
* **Bounded**: nothing new is issued once the measurement window ends; in-flight requests get at
  most :data:`_DRAIN_S` more seconds, after which their connections are aborted and they are
  counted as errors. A refused or failed connection is counted as an error and retried after a
  short, growing back-off.

``errors`` counts connection failures (refused, reset, timed out, unparseable response) plus
completed responses whose status is not 2xx. ``requests`` counts completed responses of any
status, so ``sum(status_counts.values()) == requests``. ``duration_s`` runs from the start of the
measurement window to the arrival of the last counted response (at least the window's length), and
``throughput_per_s == requests / duration_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import httptools

__all__ = ["LoadResult", "run_load"]

# In-flight requests get this long after the window closes before they are abandoned.
_DRAIN_S = 3.0
# Upper bound on a single TCP connect attempt.
_CONNECT_TIMEOUT_S = 2.0
# Back-off after a failed connect: starts at MIN, doubles on each consecutive failure, up to MAX.
_BACKOFF_MIN_S = 0.05
_BACKOFF_MAX_S = 1.0
# How long the initial, uncounted connection set-up may take before the run starts regardless.
_PRECONNECT_TIMEOUT_S = 2.0

_FORBIDDEN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Summary of one load run; latencies are in milliseconds."""

    requests: int  # completed requests
    errors: int  # connection errors + non-2xx responses
    status_counts: dict[int, int]
    duration_s: float
    throughput_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


class _ResponseLost(ConnectionError):
    """The connection ended (or was abandoned) before a full response arrived."""


class _Conn(asyncio.Protocol):
    """One keep-alive client connection with at most one request in flight."""

    __slots__ = ("_parser", "_transport", "_waiter", "closed", "done_at", "keep_alive", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[int] | None = None
        self.closed = False
        self.done_at = 0.0
        self.keep_alive = True

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, AttributeError):  # best effort only
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(_ResponseLost(f"unparseable response: {exc}"))
            self.abort()

    def eof_received(self) -> bool | None:
        return None  # let the transport close; connection_lost fails any waiter

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(_ResponseLost("connection closed before the response completed"))

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_complete(self) -> None:
        self.done_at = time.perf_counter()
        self.keep_alive = self._parser.should_keep_alive()
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(self._parser.get_status_code())

    # -- client side ------------------------------------------------------------------------

    def is_closed(self) -> bool:
        return self.closed

    def send(self, payload: bytes) -> asyncio.Future[int]:
        waiter: asyncio.Future[int] = self.loop.create_future()
        if self.closed or self._transport is None:
            waiter.set_exception(_ResponseLost("connection already closed"))
            return waiter
        self._waiter = waiter
        self._transport.write(payload)
        return waiter

    def abort(self, reason: str = "connection aborted") -> None:
        self._fail(_ResponseLost(reason))
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


def _request_prefix(
    host: str, port: int, path: str, method: str, headers: Mapping[str, str] | None
) -> bytes:
    """Everything of a request up to (not including) the Content-Length value."""
    if not method or not set(method) <= _TOKEN_CHARS:
        raise ValueError(f"invalid HTTP method: {method!r}")
    if method.upper() == "HEAD":
        raise ValueError("HEAD is not supported (its responses carry no body to delimit)")
    if not path.startswith("/") or any(c.isspace() or ord(c) < 0x21 for c in path):
        raise ValueError(f"path must start with '/' and contain no whitespace: {path!r}")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"invalid host: {host!r}")
    host_header = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    given = dict(headers or {})
    lower = {name.lower() for name in given}
    for name, value in given.items():
        if not name or not set(name) <= _TOKEN_CHARS:
            raise ValueError(f"invalid header name: {name!r}")
        if any(c in value for c in "\r\n\0"):
            raise ValueError(f"invalid header value for {name!r}")
        if name.lower() in _FORBIDDEN_HEADERS:
            raise ValueError(f"header {name!r} is managed by the load generator")
    lines = [f"{method} {path} HTTP/1.1"]
    if "host" not in lower:
        lines.append(f"Host: {host_header}")
    if "content-type" not in lower:
        lines.append("Content-Type: application/json")
    lines.extend(f"{name}: {value}" for name, value in given.items())
    lines.append("Content-Length: ")
    try:
        return "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError("request line and headers must be latin-1 encodable") from exc


def _percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list; 0.0 for an empty list."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class _Run:
    """State shared by all workers of one run (single-threaded, so no locking)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        prefix: bytes,
        body_for: Callable[[int], bytes],
        connections: int,
        duration_s: float,
        rate_per_s: float | None,
        warmup_s: float,
    ) -> None:
        self.host = host
        self.port = port
        self.prefix = prefix
        self.body_for = body_for
        self.connections = connections
        self.duration_s = duration_s
        self.rate = rate_per_s
        self.warmup_s = warmup_s
        self.drain_s = _DRAIN_S
        # Timeline (perf_counter seconds); set in main().
        self.t0 = 0.0
        self.measure_start = 0.0
        self.end = 0.0
        self.hard_deadline = 0.0
        self.next_index = 0
        self.live: set[_Conn] = set()
        # Results.
        self.latencies: list[float] = []
        self.status_counts: dict[int, int] = {}
        self.errors = 0
        self.last_done = 0.0

    def measured(self, start: float) -> bool:
        return self.measure_start <= start < self.end

    def payload(self, index: int) -> bytes:
        body = self.body_for(index)
        return b"".join((self.prefix, str(len(body)).encode("ascii"), b"\r\n\r\n", body))

    async def connect(self, timeout: float) -> _Conn | None:
        if timeout <= 0:
            return None
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: _Conn(loop), self.host, self.port),
                timeout=min(timeout, _CONNECT_TIMEOUT_S),
            )
        except (OSError, TimeoutError):
            return None
        self.live.add(proto)
        return proto

    def drop(self, conn: _Conn) -> None:
        conn.close()
        self.live.discard(conn)

    async def exchange(self, conn: _Conn, payload: bytes, start: float | None) -> bool:
        """Send one request; record it. Returns whether the connection is reusable."""
        if start is None:
            start = time.perf_counter()
        try:
            status = await conn.send(payload)
        except _ResponseLost:
            if self.measured(start):
                self.errors += 1
            return False
        if self.measured(start):
            self.latencies.append(conn.done_at - start)
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
            if not 200 <= status < 300:
                self.errors += 1
            self.last_done = max(self.last_done, conn.done_at)
        return conn.keep_alive

    async def reconnect(self, conn: _Conn | None, attempt_at: float) -> _Conn | None:
        """Replace ``conn`` with a fresh connection; a failure is an error if it was measured."""
        if conn is not None:
            self.drop(conn)
        fresh = await self.connect(self.hard_deadline - time.perf_counter())
        if fresh is None and self.measured(attempt_at):
            self.errors += 1
        return fresh

    @staticmethod
    async def sleep_until(when: float) -> None:
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    async def worker(self, conn: _Conn | None) -> None:
        backoff = _BACKOFF_MIN_S
        try:
            while (now := time.perf_counter()) < self.end:
                if conn is None or conn.is_closed():
                    conn = await self.reconnect(conn, now)
                    if conn is None:
                        await self.sleep_until(min(time.perf_counter() + backoff, self.end))
                        backoff = min(backoff * 2, _BACKOFF_MAX_S)
                    else:
                        backoff = _BACKOFF_MIN_S
                    continue  # re-check the clock: connecting takes time
                index = self.next_index
                self.next_index += 1
                scheduled: float | None = None
                if self.rate is not None:
                    scheduled = self.t0 + index / self.rate
                    if scheduled >= self.end:
                        return
                    await self.sleep_until(scheduled)
                    if conn.is_closed():  # e.g. the server timed out the idle keep-alive connection
                        conn = await self.reconnect(conn, scheduled)
                        if conn is None:
                            continue  # this slot is lost (and was counted as an error)
                if not await self.exchange(conn, self.payload(index), scheduled):
                    self.drop(conn)
                    conn = None
        finally:
            if conn is not None:
                self.drop(conn)

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        # Establish connections before the clock starts; failures here are retried (and counted)
        # by the workers.
        pre = await asyncio.gather(
            *(self.connect(_PRECONNECT_TIMEOUT_S) for _ in range(self.connections))
        )
        self.t0 = time.perf_counter()
        self.measure_start = self.t0 + self.warmup_s
        self.end = self.measure_start + self.duration_s
        self.hard_deadline = self.end + self.drain_s
        tasks = [loop.create_task(self.worker(conn)) for conn in pre]
        try:
            _, pending = await asyncio.wait(
                tasks, timeout=max(0.0, self.hard_deadline - time.perf_counter())
            )
            if pending:
                # Abandon whatever is still in flight: waiters fail, workers count the errors.
                for conn in list(self.live):
                    conn.abort("no response before the drain deadline")
                _, pending = await asyncio.wait(pending, timeout=1.0)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for conn in list(self.live):
                self.drop(conn)
            await asyncio.sleep(0)  # let transports deliver connection_lost
        for task in tasks:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc  # e.g. body_for raised: surface it rather than hide it

    def result(self) -> LoadResult:
        latencies_ms = sorted(x * 1000.0 for x in self.latencies)
        requests = len(latencies_ms)
        duration = max(self.end, self.last_done) - self.measure_start
        return LoadResult(
            requests=requests,
            errors=self.errors,
            status_counts=dict(sorted(self.status_counts.items())),
            duration_s=duration,
            throughput_per_s=requests / duration if duration > 0 else 0.0,
            p50_ms=_percentile(latencies_ms, 50),
            p90_ms=_percentile(latencies_ms, 90),
            p99_ms=_percentile(latencies_ms, 99),
            max_ms=latencies_ms[-1] if latencies_ms else 0.0,
        )


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # noqa: PLC0415 - optional accelerator
    except ImportError:  # pragma: no cover - uvloop is a dependency via uvicorn[standard]
        return None
    return uvloop.new_event_loop


def run_load(
    host: str,
    port: int,
    path: str,
    body_for: Callable[[int], bytes],
    *,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
    connections: int = 16,
    duration_s: float = 5.0,
    rate_per_s: float | None = None,
    warmup_s: float = 0.0,
) -> LoadResult:
    """Drive ``method path`` on ``host:port`` and summarise what happened.

    ``body_for(i)`` supplies the body of the *i*-th request issued (warm-up included), so each
    request can carry a unique id. ``rate_per_s=None`` runs a closed loop over ``connections``
    keep-alive connections; a number runs an open loop at that rate, latency measured from each
    request's scheduled time. Runs its own event loop, so it must not be called from a coroutine.
    Total wall time is bounded by roughly ``warmup_s + duration_s + 3 s`` plus connection set-up.
    """
    if connections < 1:
        raise ValueError("connections must be >= 1")
    if not duration_s > 0 or not math.isfinite(duration_s):
        raise ValueError("duration_s must be a positive, finite number")
    if not warmup_s >= 0 or not math.isfinite(warmup_s):
        raise ValueError("warmup_s must be a non-negative, finite number")
    if rate_per_s is not None and (not rate_per_s > 0 or not math.isfinite(rate_per_s)):
        raise ValueError("rate_per_s must be a positive, finite number or None")
    if not 0 < port < 65536:
        raise ValueError(f"invalid port: {port}")
    prefix = _request_prefix(host, port, path, method, headers)
    run = _Run(
        host=host,
        port=port,
        prefix=prefix,
        body_for=body_for,
        connections=connections,
        duration_s=duration_s,
        rate_per_s=rate_per_s,
        warmup_s=warmup_s,
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run.main())
    return run.result()

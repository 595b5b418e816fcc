"""Tests for the benchmark load generator against a real uvicorn server on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from kabuguard.bench import loadgen
from kabuguard.bench.loadgen import LoadResult, run_load


@dataclass
class _App:
    """Tiny ASGI app: /echo echoes (and records) the body, /fail is a 500, /close asks the client
    to drop the connection, /slow answers after a second."""

    bodies: list[bytes] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
        path = scope["path"]
        headers = [(b"content-type", b"application/json")]
        status, out = 200, body
        if path == "/echo":
            self.bodies.append(body)
        elif path == "/fail":
            status, out = 500, b'{"error":"boom"}'
        elif path == "/close":
            headers.append((b"connection", b"close"))
        elif path == "/slow":
            await asyncio.sleep(1.0)
        else:
            status, out = 404, b"{}"
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})


@dataclass
class _Server:
    port: int
    app: _App


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    app = _App()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not srv.started:
        assert thread.is_alive(), "uvicorn exited during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield _Server(port=port, app=app)
    finally:
        srv.should_exit = True
        thread.join(timeout=10.0)
        sock.close()
    assert not thread.is_alive()


def _body(i: int) -> bytes:
    return json.dumps({"id": f"req-{i}", "amount": 100}).encode()


def _assert_percentiles_ordered(result: LoadResult) -> None:
    assert 0.0 <= result.p50_ms <= result.p90_ms <= result.p99_ms <= result.max_ms


def test_closed_loop_counts_successes_with_unique_bodies(server: _Server) -> None:
    server.app.bodies.clear()
    result = run_load("127.0.0.1", server.port, "/echo", _body, connections=8, duration_s=0.5)
    print(f"closed loop: {result.throughput_per_s:.0f} req/s, p50 {result.p50_ms:.2f} ms")
    assert result.requests > 0
    assert result.errors == 0
    assert result.status_counts == {200: result.requests}
    assert result.duration_s >= 0.5
    assert result.throughput_per_s == pytest.approx(result.requests / result.duration_s)
    _assert_percentiles_ordered(result)
    seen = list(server.app.bodies)
    assert len(seen) >= result.requests
    assert len(set(seen)) == len(seen)
    assert all(json.loads(b)["amount"] == 100 for b in seen)


def test_open_loop_sends_about_rate_times_duration(server: _Server) -> None:
    server.app.bodies.clear()
    result = run_load(
        "127.0.0.1",
        server.port,
        "/echo",
        _body,
        connections=4,
        duration_s=0.5,
        rate_per_s=200.0,
    )
    assert result.errors == 0
    assert 75 <= result.requests <= 125
    assert result.status_counts == {200: result.requests}
    assert 75 <= len(server.app.bodies) <= 125
    _assert_percentiles_ordered(result)


def test_warmup_requests_are_sent_but_not_counted(server: _Server) -> None:
    server.app.bodies.clear()
    result = run_load(
        "127.0.0.1",
        server.port,
        "/echo",
        _body,
        connections=4,
        duration_s=0.3,
        rate_per_s=200.0,
        warmup_s=0.2,
    )
    assert result.errors == 0
    assert 45 <= result.requests <= 75
    assert len(server.app.bodies) > result.requests
    assert len(set(server.app.bodies)) == len(server.app.bodies)


def test_server_errors_are_counted(server: _Server) -> None:
    result = run_load("127.0.0.1", server.port, "/fail", _body, connections=4, duration_s=0.3)
    assert result.requests > 0
    assert result.errors == result.requests
    assert result.status_counts == {500: result.requests}
    _assert_percentiles_ordered(result)


def test_connection_close_responses_reconnect_cleanly(server: _Server) -> None:
    result = run_load("127.0.0.1", server.port, "/close", _body, connections=4, duration_s=0.3)
    assert result.requests > 0
    assert result.errors == 0
    assert result.status_counts == {200: result.requests}


def test_custom_headers_and_method(server: _Server) -> None:
    result = run_load(
        "127.0.0.1",
        server.port,
        "/echo",
        lambda _i: b"",
        headers={"X-Request-Source": "bench", "Content-Type": "text/plain"},
        method="GET",
        connections=2,
        duration_s=0.2,
    )
    assert result.requests > 0
    assert result.errors == 0


def test_refused_connections_are_errors_not_a_hang() -> None:
    # Bound but not listening: connects are refused, and nobody else can take the port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        started = time.monotonic()
        result = run_load("127.0.0.1", port, "/echo", _body, connections=4, duration_s=0.3)
        elapsed = time.monotonic() - started
    assert result.errors > 0
    assert result.requests == 0
    assert result.status_counts == {}
    assert result.throughput_per_s == 0.0
    assert elapsed < 5.0  # bounded, not a throughput assertion


def test_unanswered_requests_are_abandoned_after_the_drain(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loadgen, "_DRAIN_S", 0.2)
    started = time.monotonic()
    result = run_load("127.0.0.1", server.port, "/slow", _body, connections=2, duration_s=0.2)
    elapsed = time.monotonic() - started
    assert result.requests == 0
    assert result.errors == 2
    assert elapsed < 0.95  # gave up before the server's one-second answer


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"connections": 0}, "connections"),
        ({"duration_s": 0.0}, "duration_s"),
        ({"rate_per_s": 0.0}, "rate_per_s"),
        ({"warmup_s": -1.0}, "warmup_s"),
        ({"method": "HEAD"}, "HEAD"),
        ({"method": "GET /x"}, "method"),
        ({"headers": {"X-Evil": "a\r\nInjected: 1"}}, "header value"),
        ({"headers": {"Content-Length": "3"}}, "managed"),
    ],
)
def test_invalid_arguments_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_load("127.0.0.1", 1, "/echo", _body, **kwargs)  # type: ignore[arg-type]


def test_path_must_be_origin_form() -> None:
    with pytest.raises(ValueError, match="path"):
        run_load("127.0.0.1", 1, "echo", _body)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert loadgen._percentile(values, 50) == 50.0
    assert loadgen._percentile(values, 90) == 90.0
    assert loadgen._percentile(values, 99) == 99.0
    assert loadgen._percentile([7.0], 99) == 7.0
    assert loadgen._percentile([], 50) == 0.0

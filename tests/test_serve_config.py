"""How `serve` configures uvicorn and what it prints: trusted proxies, no password shown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from kabuguard.cli import _welcome, server_config
from kabuguard.config import Settings
from tests.conftest import settings_for


async def client_address(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the client's address as the server resolved it."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["client"][0].encode()})


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = server_config(client_address, "127.0.0.1", sock.getsockname()[1], settings)
    config.lifespan = "off"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [("127.0.0.1,::1", "203.0.113.7"), ("10.0.0.0/8", "127.0.0.1")],
    ids=["proxy-trusted", "proxy-not-trusted"],
)
def test_the_client_address_comes_from_trusted_proxies_only(trusted: str, seen: str) -> None:
    settings = settings_for("sqlite://").model_copy(update={"forwarded_allow_ips": trusted})
    with serving(settings) as url:
        answer = httpx.get(url, headers={"x-forwarded-for": "203.0.113.7"})
    assert answer.text == seen


def test_the_banner_never_shows_the_database_password() -> None:
    settings = settings_for("postgresql://kabuguard:s3cret-pw@db.internal:5432/kabuguard")
    banner = _welcome("127.0.0.1", 8000, settings)
    assert "s3cret-pw" not in banner
    assert "postgresql://kabuguard:***@db.internal:5432/kabuguard" in banner

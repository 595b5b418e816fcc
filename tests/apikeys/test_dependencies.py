"""The scope check reads the database off the event loop, and only when it must."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from starlette.requests import Request

from kabuguard.apikeys.dependencies import authorize
from kabuguard.apikeys.interfaces import MissingScope, Scope
from kabuguard.apikeys.services import Authenticator
from kabuguard.db import Database
from tests.apikeys.test_services import PEPPER, _create


def _request(authenticator: Authenticator, token: str) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(authenticator=authenticator))
    headers = [(b"authorization", f"Bearer {token}".encode())]
    return Request({"type": "http", "app": app, "headers": headers})


def test_a_key_not_remembered_is_looked_up_on_a_thread_not_the_loop(database: Database) -> None:
    token = _create(database)
    authenticator = Authenticator(database, PEPPER, ttl_seconds=60)
    readers: list[int] = []

    def record(*_: Any) -> None:
        readers.append(threading.get_ident())

    sa_event.listen(database.engine, "before_cursor_execute", record)
    try:

        async def check() -> tuple[int, int]:
            key = await authorize(_request(authenticator, token), Scope.EVENTS_WRITE)
            assert key.name == "k"
            first = len(readers)
            await authorize(_request(authenticator, token), Scope.EVENTS_WRITE)
            with pytest.raises(MissingScope):
                await authorize(_request(authenticator, token), Scope.LISTS_WRITE)
            assert len(readers) == first, "later calls are answered from memory"
            return threading.get_ident(), first

        loop_thread, first = asyncio.run(check())
    finally:
        sa_event.remove(database.engine, "before_cursor_execute", record)
    assert first, "the first call reads the key from the database"
    assert loop_thread not in readers

"""Accepting one event: the shared core of POST /v1/events, and its raw ASGI fast path.

The FastAPI route documents the endpoint and serves it when the fast path is off; the fast path
serves it otherwise, with the same core, limits, errors and metrics. Profiling showed the
framework's per-request layers (routing, request objects, exception and exit-stack middleware)
costing more CPU than deciding the event, on the one endpoint that carries the load (ADR 0005).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from kabuguard import observability
from kabuguard.apikeys.dependencies import authorize_header_async
from kabuguard.apikeys.interfaces import Scope as KeyScope
from kabuguard.apikeys.services import Authenticator
from kabuguard.decisions.interfaces import DecisionTimedOut, Overloaded
from kabuguard.decisions.writer import Committer
from kabuguard.errors import INTERNAL_ERROR, JSON, Reply, error_reply
from kabuguard.http import CLIENT_CLOSED, Disconnected, body_chunks, read_limited, send_reply
from kabuguard.parsing import parse_event

log = logging.getLogger(__name__)
EVENTS_PATH = "/v1/events"


class EventIntake:
    """Accepts events with bounds: at most `max_in_flight` at once, each decided within
    `timeout` seconds (503 past either, with the error shape)."""

    def __init__(
        self,
        authenticator: Authenticator,
        committer: Committer,
        max_event_bytes: int,
        *,
        max_in_flight: int = 5_000,
        timeout: float = 30.0,
    ) -> None:
        self.authenticator = authenticator
        self.committer = committer
        self.max_event_bytes = max_event_bytes
        self._max_in_flight = max_in_flight
        self._timeout = timeout
        self._in_flight = 0  # on the server's one event loop: no lock needed

    async def accept(self, headers: Mapping[str, str], chunks: AsyncIterator[bytes]) -> Reply:
        """Authenticate, read, validate and decide one event (errors are raised, not replied)."""
        if self._in_flight >= self._max_in_flight:
            raise Overloaded()
        self._in_flight += 1
        observability.EVENTS_IN_FLIGHT.inc()
        try:  # the deadline covers the body too: a slow sender must not hold a slot for ever
            async with asyncio.timeout(self._timeout):
                return await self._accept(headers, chunks)
        except TimeoutError:
            raise DecisionTimedOut(self._timeout) from None
        finally:
            self._in_flight -= 1
            observability.EVENTS_IN_FLIGHT.dec()

    async def _accept(self, headers: Mapping[str, str], chunks: AsyncIterator[bytes]) -> Reply:
        key = await authorize_header_async(
            self.authenticator, headers.get("authorization", ""), KeyScope.EVENTS_WRITE
        )
        event = parse_event(await read_limited(headers, chunks, self.max_event_bytes))
        submitted = await self.committer.submit(event, f"apikey:{key.name}")
        extra = {"idempotent-replayed": "true"} if submitted.replayed else {}
        return Reply(200, orjson.dumps(submitted.decision), JSON | extra)


class EventFastPath:
    """Serves POST /v1/events straight from ASGI; every other request goes on to FastAPI."""

    def __init__(self, app: ASGIApp, intake: EventIntake) -> None:
        self._app = app
        self._intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != EVENTS_PATH or scope["method"] != "POST":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        try:
            reply = await self._intake.accept(headers, body_chunks(receive))
        except Disconnected:  # nobody is left to answer, and a partial body is not an event
            _observe(CLIENT_CLOSED, started)  # counted as the framework route counts it
            return
        except Exception as error:
            reply = error_reply(error) or _internal(error)
        await send_reply(send, reply)
        _observe(reply.status, started)


def _observe(status: int, started: float) -> None:
    observability.REQUEST_SECONDS.labels("POST", EVENTS_PATH, str(status)).observe(
        time.perf_counter() - started
    )


def _internal(error: Exception) -> Reply:
    log.exception("unhandled error on the event fast path", exc_info=error)
    return INTERNAL_ERROR

"""Bounded reading of request bodies, for FastAPI routes and the raw ASGI fast path alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping

import orjson
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabuguard.parsing import ApiError


async def read_body(request: Request, limit: int) -> bytes:
    return await read_limited(request.headers, request.stream(), limit)


async def read_limited(
    headers: Mapping[str, str], chunks: AsyncIterator[bytes], limit: int
) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` bytes (declared or streamed)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    content_type = headers.get("content-type", "")
    # Media types are case-insensitive (RFC 9110 §8.3.1): Application/JSON is JSON.
    if content_type and not content_type.split(";")[0].strip().lower().endswith("json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes")


class BodyLimit:
    """Every other request body is read whole, up to `limit` bytes, before the app sees it:
    FastAPI would otherwise read a body of any size into memory. The event routes are left
    alone; they read theirs with their own limits (`read_limited`)."""

    def __init__(self, app: ASGIApp, limit: int, own_limits: Collection[str]) -> None:
        self._app = app
        self._limit = limit
        self._own_limits = frozenset(own_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._own_limits:
            await self._app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._limit:
            await self._refuse(send)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nobody to answer
                return
            size += len(message.get("body", b""))
            if size > self._limit:
                await self._refuse(send)
                return
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        await self._app(scope, _replaying(b"".join(parts), receive), send)

    async def _refuse(self, send: Send) -> None:
        error = _too_large(self._limit)
        body = orjson.dumps(error.body())
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body once, as one message; then the connection's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

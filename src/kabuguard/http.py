"""Bounded reading of request bodies, and answering from raw ASGI, shared by the FastAPI
routes, the event fast path and the body limit on every other endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kabuguard.errors import Reply, error_reply
from kabuguard.parsing import ApiError

# nginx's "client closed request": what a route answers (to no one) when its client went away
# mid-body, so that the metrics count it apart from the server's own failures.
CLIENT_CLOSED = 499


async def read_body(request: Request, limit: int) -> bytes:
    """A JSON body of a FastAPI route (see `read_limited`); `Disconnected` if the client
    went away before sending all of it."""
    return await read_limited(request.headers, request_chunks(request), limit)


async def request_chunks(request: Request) -> AsyncIterator[bytes]:
    """A FastAPI route's request body, chunk by chunk, raising `Disconnected` as
    `body_chunks` does rather than Starlette's `ClientDisconnect`."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise Disconnected from None


async def read_limited(
    headers: Mapping[str, str], chunks: AsyncIterator[bytes], limit: int
) -> bytes:
    """A JSON body, refused with 413 as soon as it passes `limit` bytes (declared or
    streamed), and with 415 when it is declared as something else."""
    if _declared_above(headers, limit):  # too large is the first thing to say
        raise _too_large(limit)
    content_type = headers.get("content-type", "")
    # Media types are case-insensitive (RFC 9110 §8.3.1): Application/JSON is JSON.
    if content_type and not content_type.split(";")[0].strip().lower().endswith("json"):
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return await read_up_to(headers, chunks, limit)


async def read_up_to(headers: Mapping[str, str], chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Any body, refused with 413 as soon as it passes `limit` bytes (declared or streamed),
    and with 415 when it is compressed: no route decodes a content coding (RFC 9110 §8.4), and
    gzip read as JSON would be refused as malformed, which misleads."""
    if _declared_above(headers, limit):
        raise _too_large(limit)
    coding = _content_coding(headers)
    if coding:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"the body is sent with Content-Encoding {coding!r}, which is not supported; "
            "send it uncompressed",
        )
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _content_coding(headers: Mapping[str, str]) -> str:
    """The request's content coding, empty when there is none or only `identity`."""
    declared = headers.get("content-encoding", "")
    codings = [c.strip() for c in declared.split(",") if c.strip().lower() not in {"", "identity"}]
    return ", ".join(codings)


def _declared_above(headers: Mapping[str, str], limit: int) -> bool:
    declared = headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) > limit


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the request body exceeds {limit} bytes")


class Disconnected(Exception):
    """The client went away before sending the whole body."""


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """A raw ASGI request body, chunk by chunk."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def send_reply(send: Send, reply: Reply) -> None:
    # The connection stays open: the server discards a body the app did not read.
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


class BodyLimit:
    """Every other request body is read whole, up to `limit` bytes, before the app sees it:
    FastAPI would otherwise read a body of any size into memory. The event routes are left
    alone; they read theirs with limits of their own (`read_limited`)."""

    def __init__(self, app: ASGIApp, limit: int, own_limits: Collection[str]) -> None:
        self._app = app
        self._limit = limit
        self._own_limits = frozenset(own_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._own_limits:
            await self._app(scope, receive, send)
            return
        try:
            body = await read_up_to(Headers(scope=scope), body_chunks(receive), self._limit)
        except Disconnected:
            return  # nobody is left to answer
        except ApiError as error:
            reply = error_reply(error)
            assert reply is not None  # an ApiError always has its answer
            await send_reply(send, reply)
            return
        await self._app(scope, _replaying(body, receive), send)


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

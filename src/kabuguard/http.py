"""Bounded reading of request bodies, for FastAPI routes and the raw ASGI fast path alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.requests import Request

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
    if content_type and not content_type.split(";")[0].strip().endswith("json"):
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

"""One table from exceptions to HTTP answers, used by every handler and the fast path."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson

from kabuguard.apikeys.interfaces import MissingScope, Unauthenticated
from kabuguard.db import storage_unavailable
from kabuguard.decisions.interfaces import ERROR_STATUS, AnsweredByWriter, StorageFailed
from kabuguard.parsing import ApiError
from kabuguard.state.interfaces import NotListed

log = logging.getLogger(__name__)
JSON = {"content-type": "application/json"}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))


def error_body(code: str, message: str, fields: list[dict[str, str]] | None = None) -> bytes:
    return orjson.dumps({"error": {"code": code, "message": message, "fields": fields or []}})


def error_reply(error: Exception) -> Reply | None:
    """The answer for a known error, or None for one that is a bug (the caller logs a 500)."""
    if isinstance(error, ApiError):
        return Reply(error.status, error_body(error.code, error.message, error.fields))
    if isinstance(error, Unauthenticated):
        headers = JSON | {"www-authenticate": "Bearer"}
        return Reply(401, error_body("unauthenticated", str(error)), headers)
    if isinstance(error, MissingScope):
        return Reply(403, error_body("forbidden", str(error)))
    if isinstance(error, NotListed):
        return Reply(404, error_body("not_listed", str(error)))
    if isinstance(error, AnsweredByWriter):
        return Reply(error.status, error.body, _headers(error.status))
    if storage_unavailable(error):
        log.error("the database is unavailable: %s", type(error).__name__, exc_info=error)
        error = StorageFailed()
    mapped = ERROR_STATUS.get(type(error))
    if mapped is not None:
        status, code = mapped
        return Reply(status, error_body(code, str(error)), _headers(status))
    return None


def _headers(status: int) -> dict[str, str]:
    return JSON | {"retry-after": "1"} if status == 503 else dict(JSON)


INTERNAL_ERROR = Reply(
    500, error_body("internal_error", "an internal error occurred; it has been logged")
)

"""Parsing events and JSON at the edges (API and replay) into clear, field-named errors."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from kabuguard.risk.events import EVENT_ADAPTER, Event, EventType


class ApiError(Exception):
    """An error with its HTTP status and a machine-readable code, raised at the edges only."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


# JSON can carry U+0000 only escaped: a raw control character in a string is invalid JSON.
_NUL_ESCAPE = b"\\u0000"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
# For path parameters of ids the API issued (cases, signing requests, credentials).
WITHOUT_NUL = r"^[^\x00]+$"


def parse_event(raw: bytes | Any) -> Event:
    """Validate one event from JSON bytes or already-parsed JSON values."""
    try:
        if isinstance(raw, bytes):
            event = EVENT_ADAPTER.validate_json(raw)
            if _NUL_ESCAPE not in raw:  # the common case: no text field can hold a NUL
                return event
        else:
            event = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise event_error(error) from None
    _refuse_nul(event)
    return event


def _refuse_nul(event: Event) -> None:
    """A NUL is refused in every text field: PostgreSQL cannot store one (SQLite can), so the
    event would otherwise fail at the database, after validation, as a retryable 503."""
    fields = [
        {"field": name, "message": NUL_MESSAGE}
        for name, value in event
        if isinstance(value, str) and "\x00" in value
    ]
    if fields:
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
        raise ApiError(422, "invalid_event", summary, fields)


class RequestBody(BaseModel):
    """A JSON request body other than an event: its text, nested or not, holds no NUL (see
    `_refuse_nul`); the 422 names the field. A number given for a time is Unix seconds, as
    for events."""

    model_config = ConfigDict(val_temporal_unit="seconds")

    @field_validator("*")
    @classmethod
    def _without_nul(cls, value: object) -> object:
        if holds_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value


def holds_nul(value: object) -> bool:
    """Whether any text in a JSON value, keys included, holds NUL. A loop, not recursion: a
    body nested hundreds deep is valid JSON and must not overflow the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


def malformed_json(detail: object) -> ApiError:
    return ApiError(400, "malformed_json", f"the body is not valid JSON: {detail}")


def load_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise malformed_json(error) from None


def event_error(error: ValidationError) -> ApiError:
    issues = error.errors(include_url=False)
    if any(issue["type"] == "json_invalid" for issue in issues):
        return malformed_json(next(i for i in issues if i["type"] == "json_invalid")["msg"])
    fields = [_field(issue) for issue in issues]
    summary = "; ".join(
        f"{f['field']}: {f['message']}" if f["field"] else f["message"] for f in fields
    )
    return ApiError(422, "invalid_event", summary, fields)


_TYPES = ", ".join(t.value for t in EventType)


def _field(issue: Any) -> dict[str, str]:
    location = [str(part) for part in issue["loc"]]
    # A tagged union puts the tag first ("order.quantity"); the caller knows its own type.
    if location and location[0] in EventType.__members__.values():
        location = location[1:]
    kind = issue["type"]
    if kind == "union_tag_invalid":
        tag = issue.get("ctx", {}).get("tag")
        return {"field": "type", "message": f"unknown event type {tag!r}; expected one of {_TYPES}"}
    if kind == "union_tag_not_found":
        return {"field": "type", "message": f"the event type is missing; expected one of {_TYPES}"}
    if kind in {"model_type", "model_attributes_type"}:
        return {"field": ".".join(location), "message": "expected a JSON object"}
    message = str(issue["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return {"field": ".".join(location), "message": message}

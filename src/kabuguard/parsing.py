"""Parsing events and JSON at the edges (API and replay) into clear, field-named errors."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

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


def parse_event(raw: bytes | Any) -> Event:
    """Validate one event from JSON bytes or already-parsed JSON values."""
    try:
        if isinstance(raw, bytes):
            return EVENT_ADAPTER.validate_json(raw)
        return EVENT_ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise event_error(error) from None


def load_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {error}") from None


def event_error(error: ValidationError) -> ApiError:
    issues = error.errors(include_url=False)
    if any(issue["type"] == "json_invalid" for issue in issues):
        detail = next(i for i in issues if i["type"] == "json_invalid")["msg"]
        return ApiError(400, "malformed_json", f"the body is not valid JSON: {detail}")
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

"""Parsing events and JSON at the edges (API and replay) into clear, field-named errors."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from kabuguard.risk.events import (
    EVENT_ADAPTER,
    INEXACT_MONEY,
    ROUNDED_FLOATS,
    Event,
    EventType,
    JsonNumber,
)


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
    """Validate one event from JSON bytes or already-parsed JSON values.

    Bytes are read by pydantic's own parser, fast, unless they hold what it cannot read
    exactly: money as a JSON number with a fraction or an exponent (it reads a double), or a
    number beyond its range (`1e999999` is valid JSON). Then they are read again by the exact
    parser (`load_exact_json`), so that such an event costs more, and only such an event.
    """
    try:
        if isinstance(raw, bytes):
            try:
                event = EVENT_ADAPTER.validate_json(raw)
            except ValidationError as error:
                if not _read_again(error):
                    raise
                event = EVENT_ADAPTER.validate_python(_exact_or(raw, error))
            if _NUL_ESCAPE not in raw:  # the common case: no text field can hold a NUL
                return event
        else:
            event = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as error:
        raise event_error(error) from None
    _refuse_nul(event)
    return event


def parse_events(items: Sequence[Any], body: bytes) -> list[Event | ApiError]:
    """Each event of a batch, or the error that item alone gets. `items` were read from
    `body` by `load_json`: orjson rounds a number with a fraction to a double, so from the
    first item with such money on, the items are those of `body` read again, exactly (once)."""
    parsed: list[Event | ApiError] = []
    exact: list[Any] | None = None
    tried = False
    for index, raw in enumerate(items):
        try:
            parsed.append(_parse_item(raw if exact is None else exact[index]))
        except _Rounded as error:
            if not tried:
                tried, exact = True, _exact_items(body, len(items))
            parsed.append(event_error(error.error) if exact is None else _or_error(exact[index]))
        except ApiError as error:
            parsed.append(error)
    return parsed


class _Rounded(Exception):
    def __init__(self, error: ValidationError) -> None:
        self.error = error


_ROUNDED = {ROUNDED_FLOATS: True}


def _parse_item(raw: Any) -> Event:
    try:
        event = EVENT_ADAPTER.validate_python(raw, context=_ROUNDED)
    except ValidationError as error:
        if any(issue["type"] == INEXACT_MONEY for issue in error.errors()):
            raise _Rounded(error) from None
        raise event_error(error) from None
    _refuse_nul(event)
    return event


def _or_error(raw: Any) -> Event | ApiError:
    try:
        return parse_event(raw)
    except ApiError as error:
        return error


def _exact_items(body: bytes, count: int) -> list[Any] | None:
    """The batch's items read exactly; None in the rare case the exact parser cannot read what
    orjson did (nesting between their depth limits): those items keep their error."""
    try:
        document = load_exact_json(body)
    except ApiError:
        return None
    items = document.get("events") if isinstance(document, dict) else None
    return items if isinstance(items, list) and len(items) == count else None


def _read_again(error: ValidationError) -> bool:
    """Whether pydantic's parser left JSON to the exact one: money it rounded, or a document
    it refused (a number out of its range; the exact parser refuses real malformation too)."""
    return any(issue["type"] in {INEXACT_MONEY, "json_invalid"} for issue in error.errors())


def _exact_or(raw: bytes, error: ValidationError) -> Any:
    """`raw` read exactly; if it is not JSON after all, pydantic's message says why."""
    try:
        return load_exact_json(raw)
    except ApiError:
        raise error from None


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
    """Whether any text in a JSON value, keys included, holds NUL."""
    return _any_text(value, lambda text: "\x00" in text)


def malformed_json(detail: object) -> ApiError:
    return ApiError(400, "malformed_json", f"the body is not valid JSON: {detail}")


def load_json(raw: bytes) -> Any:
    """JSON read by orjson, fast; its floats are doubles (see `parse_events`). A document
    orjson refuses may still be valid JSON (`1e999999`, an integer of 400 digits): the exact
    parser reads it, and only when that fails too is the body malformed."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        try:
            return load_exact_json(raw)
        except ApiError:
            raise malformed_json(error) from None


def load_exact_json(raw: bytes) -> Any:
    """JSON read with every number as written: a number with a fraction or an exponent as a
    `JsonNumber` (a float that keeps its text: money is read from the text), an integer as an
    int, or as a `JsonNumber` past Python's 4300 digits. Slower than orjson: the edges use it
    only for what orjson or pydantic cannot read exactly. UTF-8 only, like them; a lone
    surrogate escape is refused, as they refuse it, since no text can be stored with one."""
    try:
        text = raw.decode("utf-8")
        document = json.loads(
            text, parse_float=JsonNumber, parse_int=_integer, parse_constant=JsonNumber
        )
    except UnicodeDecodeError as error:
        raise malformed_json(f"not UTF-8: {error.reason} at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise malformed_json(error) from None
    except RecursionError:
        raise malformed_json("nested too deeply") from None
    if _SURROGATE_ESCAPE.search(text) and _holds_surrogate(document):
        raise malformed_json("a string holds a lone surrogate escape (\\ud800 to \\udfff)")
    return document


def _integer(text: str) -> int | JsonNumber:
    try:
        return int(text)
    except ValueError:  # past sys.get_int_max_str_digits(): too large for any field anyway
        return JsonNumber(text)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _holds_surrogate(value: object) -> bool:
    return _any_text(value, lambda text: _SURROGATE.search(text) is not None)


def _any_text(value: object, test: Callable[[str], bool]) -> bool:
    """Whether `test` holds for any text in a JSON value, keys included. A loop, not
    recursion: a body nested hundreds deep is valid JSON and must not overflow the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if test(item):
                return True
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


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

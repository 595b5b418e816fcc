"""The decisions package's errors; app.py maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import orjson


class DecisionError(Exception):
    """Base of the decisions package's errors."""


class IdempotencyConflict(DecisionError):
    """The event id was used before for a different payload."""

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"event_id {event_id!r} was already used for a different event; "
            "resend the original payload or choose a new event_id"
        )
        self.event_id = event_id


class EventFromFuture(DecisionError):
    """The event's timestamp lies further ahead than the allowed clock skew."""

    def __init__(self, event_id: str, occurred_at: datetime, limit: datetime) -> None:
        super().__init__(
            f"occurred_at {occurred_at.isoformat()} is later than the allowed maximum "
            f"{limit.isoformat()}; check the sending system's clock"
        )
        self.event_id = event_id


class DecisionNotFound(DecisionError):
    def __init__(self, event_id: str) -> None:
        super().__init__(f"no decision for event_id {event_id!r}")
        self.event_id = event_id


class InvalidCursor(DecisionError):
    def __init__(self) -> None:
        super().__init__("cursor is not one this API issued; start again without it")


class StorageFailed(DecisionError):
    """The database refused or lost the write; the caller may retry with the same event."""

    def __init__(self) -> None:
        super().__init__(
            "the decision could not be stored; retry with the same event_id (it is idempotent)"
        )


class Overloaded(DecisionError):
    """More events are being decided than the server holds at once: retry shortly."""

    def __init__(self) -> None:
        super().__init__("too many events are being decided at once; retry in a moment")


class DecisionTimedOut(DecisionError):
    """The event was not read and decided within the deadline; it may be decided later."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"not answered within {seconds:g} s; retry with the same event_id (it is "
            "idempotent: a decision stored meanwhile is returned)"
        )


class DecisionFailed(DecisionError):
    """Deciding this event raised an error that is not the database's: a defect, logged with
    the event id. Nothing was stored for it, and its neighbours in the group were decided."""

    def __init__(self, event_id: str) -> None:
        super().__init__(
            f"no decision could be made for event_id {event_id!r}: an internal error, logged "
            "on the server; nothing was stored for it"
        )
        self.event_id = event_id


class AnsweredByWriter(DecisionError):
    """The writer process's error answer for one event (ADR 0008), passed on as it was given:
    its status and body are those the single-process server would have sent."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body.decode("utf-8", "replace"))
        self.status = status
        self.body = body


# One status and code per error, shared by single submissions and batch items.
ERROR_STATUS: Mapping[type[Exception], tuple[int, str]] = {
    IdempotencyConflict: (409, "idempotency_conflict"),
    EventFromFuture: (422, "invalid_event"),
    DecisionNotFound: (404, "not_found"),
    InvalidCursor: (400, "invalid_cursor"),
    StorageFailed: (503, "storage_unavailable"),
    Overloaded: (503, "overloaded"),
    DecisionTimedOut: (503, "decision_timeout"),
    DecisionFailed: (500, "internal_error"),
}


def is_idempotency_conflict(error: BaseException) -> bool:
    """Whether submitting an event failed because its event_id is another event's, raised in
    this process or answered by the writer process (ADR 0008): nothing was stored for it."""
    if isinstance(error, IdempotencyConflict):
        return True
    if not isinstance(error, AnsweredByWriter):
        return False
    status, code = ERROR_STATUS[IdempotencyConflict]
    try:
        answer = orjson.loads(error.body)
    except orjson.JSONDecodeError:
        return False
    found = answer.get("error") if isinstance(answer, dict) else None
    return error.status == status and isinstance(found, dict) and found.get("code") == code

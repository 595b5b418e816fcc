"""The cases package's exceptions (a missing entry is `NotListed`, answered 404)."""

from __future__ import annotations

from kabuguard.parsing import ApiError


class HoldAlreadyDecided(ApiError):
    """A hold can be released or rejected once; its first decision stands."""

    def __init__(self, event_id: str, status: str) -> None:
        super().__init__(409, "hold_decided", f"the hold on {event_id} was already {status}")

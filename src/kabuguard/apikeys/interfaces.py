"""Scopes and the errors of the apikeys package."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    CUSTOMERS_READ = "customers:read"
    DECISIONS_READ = "decisions:read"
    EVENTS_WRITE = "events:write"
    LISTS_READ = "lists:read"
    LISTS_WRITE = "lists:write"


# What a broker's integration needs. Changing lists, reading cases and holds, and deciding holds
# or product restrictions are staff powers: a key gets them only when they are asked for.
DEFAULT_SCOPES = (Scope.EVENTS_WRITE, Scope.DECISIONS_READ, Scope.CUSTOMERS_READ, Scope.LISTS_READ)


class ApiKeyError(Exception):
    """Base of the apikeys package's errors."""


class Unauthenticated(ApiKeyError):
    def __init__(
        self, message: str = "a valid API key is required: Authorization: Bearer <key>"
    ) -> None:
        super().__init__(message)


class MissingScope(ApiKeyError):
    def __init__(self, scope: Scope) -> None:
        super().__init__(f"this API key lacks the {scope.value!r} scope")
        self.scope = scope


class KeyNameTaken(ApiKeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an API key named {name!r} already exists")
        self.name = name


class UnknownKey(ApiKeyError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no active API key named {name!r}")
        self.name = name

"""FastAPI dependency that authenticates the caller and checks one scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request

from kabuguard.apikeys.interfaces import MissingScope, Scope, Unauthenticated
from kabuguard.apikeys.services import ApiKey, Authenticator


def require(scope: Scope) -> Callable[[Request], Awaitable[ApiKey]]:
    async def dependency(request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated()
        authenticator: Authenticator = request.app.state.authenticator
        key = authenticator.authenticate(token.strip())
        if scope not in key.scopes:
            raise MissingScope(scope)
        return key

    return dependency

"""install(app): the auth service, its JSON API, the hosted pages and its error answers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, Response

from kabuguard.auth import routes
from kabuguard.auth.interfaces import AuthError
from kabuguard.auth.notify import OutboxNotices
from kabuguard.auth.service import AuthService
from kabuguard.errors import JSON, error_body
from kabuguard.notifications.wiring import configured_channels
from kabuguard.pages import routes as pages


def install(app: FastAPI, *, on_enqueued: Callable[[], None]) -> None:
    """Wire auth into an app built by create_app (its database, clock, cipher, committer)."""
    state = app.state
    notices = OutboxNotices(
        state.database, state.cipher, configured_channels(state.settings), on_enqueued
    )
    state.auth = AuthService.build(
        state.settings,
        database=state.database,
        clock=state.clock,
        cipher=state.cipher,
        committer=state.committer,
        notices=notices,
        session_hours=state.policies.live.login.session_hours,
    )
    app.include_router(routes.router)
    app.include_router(routes.signing_router)
    app.include_router(pages.router)
    app.mount("/auth/static", pages.static, name="auth-static")
    app.add_exception_handler(AuthError, _answer)


async def _answer(request: Request, error: Exception) -> Response:
    assert isinstance(error, AuthError)  # registered for AuthError only
    if request.url.path.startswith("/auth/"):  # the hosted pages: the customer's language
        if _wants_json(request):  # a webauthn.js call, which shows the message
            return pages.error_reply(request, error)
        return pages.error_page(request, error)  # a form post gets a page
    fields = [{"field": error.field, "message": error.message}] if error.field else []
    return Response(error_body(error.code, error.message, fields), error.status, JSON)


def _wants_json(request: Request) -> bool:
    return "json" in request.headers.get("content-type", "") or request.url.path.startswith(
        "/auth/static/"
    )

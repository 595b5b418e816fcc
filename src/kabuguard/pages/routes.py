"""The hosted pages: forms posted without JavaScript, plus the JSON calls of webauthn.js.

Handlers are thin: they read the form or JSON, call AuthService (the same calls the JSON API
makes) and render or redirect. A refused step is shown on the page in the customer's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from fastapi.staticfiles import StaticFiles

from kabuguard.auth.accounts import NewAccount
from kabuguard.auth.interfaces import (
    AuthError,
    ChangeRefused,
    InvalidInput,
    NotFound,
    SessionRequired,
    SessionScope,
)
from kabuguard.auth.login import CODE_FACTORS
from kabuguard.auth.sessions import SessionInfo
from kabuguard.errors import JSON, error_body
from kabuguard.pages import security
from kabuguard.pages.web import (
    context,
    cookies,
    device_id,
    field,
    finish,
    form,
    json_reply,
    locale,
    read_json,
    redirect,
    render,
    service,
)
from kabuguard.pages.words import WORDS
from kabuguard.risk.events import Factor

router = APIRouter(prefix="/auth", include_in_schema=False)
static = StaticFiles(packages=[("kabuguard.pages", "static")])
_NOTICES = {"unlocked": "unlocked", "locked": "sec_unlock_how"}


def _error_text(request: Request, error: AuthError) -> str:
    words = WORDS[locale(request)]
    if isinstance(error, ChangeRefused) and error.wait_hours is not None:
        return words["err_change_paused"].format(hours=error.wait_hours)
    text = words.get(f"err_{error.code}", words["err_invalid_request"])
    return f"{text} ({error.message})" if error.code in ("weak_password", "conflict") else text


def error_page(request: Request, error: AuthError) -> Response:
    words = WORDS[locale(request)]
    return render(
        request,
        "message.html.j2",
        error.status,
        title=words["error_title"],
        error=_error_text(request, error),
        message=None,
        back="/auth/login",
        back_label=words["back_login"],
    )


def _session(request: Request, *, full: bool = True) -> SessionInfo:
    jar = cookies(request)
    return service(request).session(jar.get(request, "session"), device_id(request), full=full)


def _with_session(request: Request, response: Response, token: str) -> Response:
    jar = cookies(request)
    jar.set(response, "session", token)
    jar.clear(response, "login")
    return response


async def _page_step(
    request: Request,
    template: str,
    title: str,
    step: Callable[[], Awaitable[Response]],
    **values: Any,
) -> Response:
    """Run a form's step; an AuthError re-renders the form with the reason, never a 5xx."""
    try:
        return await step()
    except SessionRequired:
        return redirect(request, "/auth/login")
    except AuthError as error:
        return render(
            request,
            template,
            error.status,
            title=WORDS[locale(request)][title],
            error=_error_text(request, error),
            **values,
        )


# -- login ---------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> Response:
    words = WORDS[locale(request)]
    notice_key = _NOTICES.get(request.query_params.get("notice", ""))
    return render(
        request,
        "login.html.j2",
        title=words["login_title"],
        username="",
        signup=service(request).settings.auth_open_signup,
        notice=words[notice_key] if notice_key else None,
    )


@router.post("/login")
async def login_password(request: Request) -> Response:
    fields = await form(request)
    username = fields.get("username", "")[:64]

    async def step() -> Response:
        pending = await service(request).flow.password(
            context(request), username, fields.get("password", "")
        )
        response = redirect(request, "/auth/login/second")
        ttl = service(request).settings.auth_step_ttl_seconds
        cookies(request).set(response, "login", pending.token, ttl)
        return response

    return await _page_step(
        request,
        "login.html.j2",
        "login_title",
        step,
        username=username,
        signup=service(request).settings.auth_open_signup,
    )


def _second(
    request: Request, notice: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    words = WORDS[locale(request)]
    pending = service(request).flow.pending(
        cookies(request).get(request, "login"), context(request)
    )
    codes = [f.value for f in pending.factors if f in CODE_FACTORS]
    return render(
        request,
        "second.html.j2",
        status,
        title=words["second_title"],
        factors=[f.value for f in pending.factors],
        codes=codes,
        enrol_only=pending.enrol_only,
        notice=notice,
        error=error,
    )


@router.get("/login/second")
async def second_page(request: Request) -> Response:
    try:
        return await to_thread.run_sync(_second, request)
    except AuthError:
        return redirect(request, "/auth/login")


@router.post("/login/email")
async def send_email_code(request: Request) -> Response:
    await form(request)
    ctx = context(request)
    try:
        until = await service(request).flow.send_email_code(
            ctx, cookies(request).get(request, "login")
        )
    except AuthError as error:
        return await _second_or_login(request, error)
    shown = (until + timedelta(hours=9)).strftime("%H:%M") + " JST"
    notice = WORDS[locale(request)]["email_sent"].format(until=shown)
    return await to_thread.run_sync(lambda: _second(request, notice=notice))


async def _second_or_login(request: Request, error: AuthError) -> Response:
    try:
        return await to_thread.run_sync(
            lambda: _second(request, error=_error_text(request, error), status=error.status)
        )
    except AuthError:
        return redirect(request, "/auth/login")


@router.post("/login/code")
async def login_code(request: Request) -> Response:
    fields = await form(request)
    auth, ctx = service(request), context(request)
    try:
        factor = Factor(fields.get("factor", ""))
        logged_in = await auth.audited(
            ctx,
            f"login_{factor.value}",
            lambda: auth.flow.code(
                ctx, cookies(request).get(request, "login"), factor, fields.get("code", "")[:64]
            ),
        )
    except ValueError:
        return await _second_or_login(request, InvalidInput("choose the kind of code"))
    except AuthError as error:
        return await _second_or_login(request, error)
    to = (
        "/auth/passkeys/new"
        if logged_in.issued.session.scope is SessionScope.ENROL
        else ("/auth/security")
    )
    return _with_session(request, redirect(request, to), logged_in.issued.token)


@router.post("/passkey/login/options")
async def passkey_login_options(request: Request) -> Response:
    await read_json(request)
    auth, ctx = service(request), context(request)
    # The login page asks for a passwordless login; the second-step page continues its login.
    second = request.query_params.get("step") == "second"
    login = cookies(request).get(request, "login") if second else None
    issued = await to_thread.run_sync(auth.flow.passkey_options, ctx, login)
    return json_reply(request, {"challenge_id": issued.challenge_id, "public_key": issued.options})


@router.post("/passkey/login")
async def passkey_login(request: Request) -> Response:
    data = await read_json(request)
    auth, ctx = service(request), context(request)
    challenge = field(data, "challenge_id")
    logged_in = await auth.audited(
        ctx, "login_passkey", lambda: auth.flow.passkey(ctx, challenge, data.get("credential"))
    )
    reply = json_reply(request, {"next": "/auth/security"})
    return _with_session(request, reply, logged_in.issued.token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await form(request)
    try:
        info = await to_thread.run_sync(lambda: _session(request, full=False))
        auth = service(request)
        await to_thread.run_sync(
            auth.sessions.revoke, info.customer_id, info.id, "logout", auth.clock()
        )
    except SessionRequired:
        pass
    response = redirect(request, "/auth/login")
    cookies(request).clear(response, "session")
    return response


# -- onboarding and enrolment ---------------------------------------------------------------


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    if not service(request).settings.auth_open_signup:
        raise NotFound("sign-up is done through your broker")
    return render(
        request,
        "signup.html.j2",
        title=WORDS[locale(request)]["signup_title"],
        username="",
        display_name="",
        email="",
    )


@router.post("/signup")
async def signup(request: Request) -> Response:
    if not service(request).settings.auth_open_signup:
        raise NotFound("sign-up is done through your broker")
    fields = await form(request)
    values = {k: fields.get(k, "")[:254] for k in ("username", "display_name", "email")}

    async def step() -> Response:
        new = NewAccount(
            values["username"],
            fields.get("password", ""),
            values["display_name"],
            locale(request),
            None,
            values["email"] or None,
        )
        _, issued = await service(request).create_customer(context(request), new)
        return _with_session(request, redirect(request, "/auth/passkeys/new"), issued.token)

    return await _page_step(request, "signup.html.j2", "signup_title", step, **values)


@router.get("/passkeys/new")
async def passkey_page(request: Request) -> Response:
    try:
        info = await to_thread.run_sync(lambda: _session(request, full=False))
    except SessionRequired:
        return redirect(request, "/auth/login")
    return render(
        request,
        "passkey.html.j2",
        title=WORDS[locale(request)]["passkey_title"],
        full=info.scope is SessionScope.FULL,
    )


@router.post("/passkey/register/options")
async def register_options(request: Request) -> Response:
    await read_json(request)
    info = await to_thread.run_sync(lambda: _session(request, full=False))
    auth = service(request)
    issued = await to_thread.run_sync(auth.passkeys.registration, info.customer_id, auth.clock())
    return json_reply(request, {"challenge_id": issued.challenge_id, "public_key": issued.options})


@router.post("/passkey/register")
async def register(request: Request) -> Response:
    data = await read_json(request)
    info = await to_thread.run_sync(lambda: _session(request, full=False))
    name = str(data.get("name") or "passkey")[:100]
    try:
        await service(request).register_passkey(
            context(request), info, field(data, "challenge_id"), data.get("credential"), name
        )
    except ChangeRefused as error:  # webauthn.js shows this message: the customer's language
        body = error_body(error.code, _error_text(request, error))
        return finish(request, Response(body, error.status, JSON))
    to = "/auth/security" if info.scope is SessionScope.FULL else "/auth/login"
    return json_reply(request, {"next": to})


@router.get("/totp")
async def totp_page(request: Request) -> Response:
    return await security.guarded(
        request,
        lambda info: render(
            request, "totp.html.j2", title=WORDS[locale(request)]["totp_title"], enrolment=None
        ),
    )


@router.post("/totp")
async def totp_begin(request: Request) -> Response:
    await form(request)
    info = await to_thread.run_sync(lambda: _session(request))
    enrolment = await service(request).begin_totp(info)
    return render(
        request, "totp.html.j2", title=WORDS[locale(request)]["totp_title"], enrolment=enrolment
    )


@router.post("/totp/confirm")
async def totp_confirm(request: Request) -> Response:
    fields = await form(request)
    info = await to_thread.run_sync(lambda: _session(request))

    async def step() -> Response:
        await service(request).confirm_totp(context(request), info, fields.get("code", "")[:16])
        return redirect(request, "/auth/security")

    return await _page_step(request, "totp.html.j2", "totp_title", step, enrolment=None)


@router.get("/recovery-codes")
async def recovery_page(request: Request) -> Response:
    auth = service(request)

    def page(info: SessionInfo) -> Response:
        return render(
            request,
            "recovery.html.j2",
            title=WORDS[locale(request)]["recovery_title"],
            codes=None,
            remaining=auth.recovery.remaining(info.customer_id),
        )

    return await security.guarded(request, page)


@router.post("/recovery-codes")
async def recovery_generate(request: Request) -> Response:
    await form(request)
    info = await to_thread.run_sync(lambda: _session(request))
    codes = await service(request).new_recovery_codes(context(request), info)
    return render(
        request,
        "recovery.html.j2",
        title=WORDS[locale(request)]["recovery_title"],
        codes=codes,
        remaining=len(codes),
    )


router.include_router(security.router)

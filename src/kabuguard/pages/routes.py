"""The hosted pages: forms posted without JavaScript, plus the JSON calls of webauthn.js.

Handlers are thin: they read the form or JSON, call AuthService (the same calls the JSON API
makes) and render or redirect. A refused step is shown on the page in the customer's language.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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
    WeakPassword,
)
from kabuguard.auth.login import CODE_FACTORS
from kabuguard.auth.passkeys import MAX_PASSKEYS
from kabuguard.auth.passwords import MAX_LENGTH, MIN_LENGTH
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


# Refusals whose message names a reason the customer can act on, by that message (a test
# checks the auth package still raises each); others are told by their code or field.
REASONS = {
    f"at most {MAX_PASSKEYS} passkeys per customer; remove one first": "err_passkeys_full",
    "this passkey is already registered": "err_passkey_known",
    "this is your only passkey; register another before removing it": "err_only_passkey",
    "staff locked this account; please call us to unlock it": "err_staff_lock",
    "this account is not locked": "err_not_locked",
    "start the authenticator-app set-up first": "err_totp_restart",
    "this authenticator-app set-up was replaced or finished; start again": "err_totp_restart",
    "too many codes were requested for this login; start again": "err_too_many_codes",
    "this signing request is no longer waiting for approval": "sign_closed",
}
_FIELD_REASONS = {
    ("conflict", "username"): "err_username_taken",
    ("invalid_request", "email"): "err_field_email",
    ("invalid_request", "username"): "err_field_username",
}
_WEAK = {
    f"the password must be at least {MIN_LENGTH} characters long": "err_weak_short",
    f"the password must be at most {MAX_LENGTH} characters long": "err_weak_long",
    "the password must not contain the username": "err_weak_username",
    "this password is on a list of common or breached passwords": "err_weak_common",
}


def weak_password_text(error: WeakPassword, words: Mapping[str, str]) -> str:
    text = words[_WEAK.get(error.message, "err_weak_password")]
    return text.format(min=MIN_LENGTH, max=MAX_LENGTH)


def error_text(error: AuthError, words: Mapping[str, str]) -> str:
    """What a refused step says on a page, or through webauthn.js: in the customer's words,
    never the English message the JSON API gives the broker's developers."""
    if isinstance(error, ChangeRefused) and error.wait_hours is not None:
        return words["err_change_paused"].format(hours=error.wait_hours)
    if isinstance(error, WeakPassword):
        return weak_password_text(error, words)
    key = REASONS.get(error.message) or _FIELD_REASONS.get((error.code, error.field))
    return words.get(key or f"err_{error.code}", words["err_invalid_request"])


def _error_text(request: Request, error: AuthError) -> str:
    return error_text(error, WORDS[locale(request)])


def error_page(request: Request, error: AuthError) -> Response:
    words = WORDS[locale(request)]
    back = "/auth/login"
    return render(
        request,
        "message.html.j2",
        error.status,
        here=None if request.method == "GET" else back,  # a POST's answer links to a page
        title=words["error_title"],
        error=_error_text(request, error),
        message=None,
        back=back,
        back_label=words["back_login"],
    )


def error_reply(request: Request, error: AuthError) -> Response:
    """A webauthn.js call's refusal: JSON whose message (Content-Language) the script shows."""
    text = _error_text(request, error)
    fields = [{"field": error.field, "message": text}] if error.field else []
    body = error_body(error.code, text, fields)
    headers = JSON | {"content-language": locale(request).value}
    return finish(request, Response(body, error.status, headers))


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
    *,
    here: str,
    **values: Any,
) -> Response:
    """Run a form's step; an AuthError re-renders the form with the reason, never a 5xx.
    `here` is the form's page (GET), where the re-rendered form's language links lead."""
    try:
        return await step()
    except SessionRequired:
        return redirect(request, "/auth/login")
    except AuthError as error:
        return render(
            request,
            template,
            error.status,
            here=here,
            title=WORDS[locale(request)][title],
            error=_error_text(request, error),
            error_field=error.field,
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
        here="/auth/login",
        username=username,
        signup=service(request).settings.auth_open_signup,
    )


def _second(
    request: Request, notice: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    words = WORDS[locale(request)]
    auth = service(request)
    pending = auth.flow.pending(cookies(request).get(request, "login"), context(request))
    # A recovery code is offered only to a customer who has one left: no dead end on the page.
    spent = not auth.recovery.remaining(pending.customer_id)
    factors = [f for f in pending.factors if not (f is Factor.RECOVERY_CODE and spent)]
    return render(
        request,
        "second.html.j2",
        status,
        here="/auth/login/second",
        title=words["second_title"],
        factors=[f.value for f in factors],
        codes=[f.value for f in factors if f in CODE_FACTORS],
        enrol_only=pending.enrol_only,
        notice=notice,
        error=error if factors else None,  # with no way in, only "please call us" is said
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
    values = {k: fields.get(k, "")[:254].strip() for k in ("username", "display_name", "email")}

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

    return await _page_step(
        request, "signup.html.j2", "signup_title", step, here="/auth/signup", **values
    )


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
    await service(request).register_passkey(
        context(request), info, field(data, "challenge_id"), data.get("credential"), name
    )
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
        request,
        "totp.html.j2",
        here="/auth/totp",
        title=WORDS[locale(request)]["totp_title"],
        enrolment=enrolment,
    )


@router.post("/totp/confirm")
async def totp_confirm(request: Request) -> Response:
    fields = await form(request)
    info = await to_thread.run_sync(lambda: _session(request))

    async def step() -> Response:
        await service(request).confirm_totp(context(request), info, fields.get("code", "")[:16])
        return redirect(request, "/auth/security")

    return await _page_step(
        request, "totp.html.j2", "totp_title", step, here="/auth/totp", enrolment=None
    )


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
        here="/auth/recovery-codes",
        title=WORDS[locale(request)]["recovery_title"],
        codes=codes,
        remaining=len(codes),
    )


router.include_router(security.router)

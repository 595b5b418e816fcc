"""The security centre, self-service lock and unlock, and the signing confirmation page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request, Response

from kabuguard.auth.interfaces import AuthError, InvalidInput, LockScope, SessionRequired
from kabuguard.auth.models import CREDENTIAL_ID_CHARS
from kabuguard.auth.routes import RequestId, SessionId
from kabuguard.auth.sessions import SessionInfo
from kabuguard.auth.signing import Status
from kabuguard.decisions.services import DecisionService
from kabuguard.notifications.kinds import Locale
from kabuguard.notifications.origin import device_summary
from kabuguard.pages import web
from kabuguard.pages.words import WORDS
from kabuguard.risk.codes import Action
from kabuguard.risk.events import EventType
from kabuguard.risk.rules import JST

router = APIRouter()
SHOWN = frozenset(
    {
        EventType.LOGIN_ATTEMPT,
        EventType.CREDENTIAL_CHANGE,
        EventType.CUSTOMER_LOCK,
        EventType.CUSTOMER_UNLOCK,
        EventType.CONTACT_CHANGE,
        EventType.PAYOUT_CHANGE,
        EventType.WITHDRAWAL,
    }
)


def _when(at: datetime | str) -> str:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _current(request: Request, *, full: bool = True) -> SessionInfo:
    jar = web.cookies(request)
    return web.service(request).session(
        jar.get(request, "session"), web.device_id(request), full=full
    )


async def guarded(request: Request, page: Callable[[SessionInfo], Response]) -> Response:
    """Render a page for the logged-in customer, or send them to log in."""
    try:
        info = await to_thread.run_sync(lambda: _current(request))
        return await to_thread.run_sync(page, info)
    except SessionRequired:
        return web.redirect(request, "/auth/login")


def _activity(request: Request, customer_id: str, words: Mapping[str, str]) -> list[dict[str, Any]]:
    """The latest security events: chosen in the query, so no burst of orders hides a login."""
    decisions: DecisionService = request.app.state.decisions
    rows = []
    for item in decisions.timeline(customer_id, limit=15, cursor=None, types=SHOWN).items:
        event, decision = item["event"], item["decision"]
        kind = event["type"]
        what = words.get(f"event_{kind}", words["event_other"])
        if kind == EventType.LOGIN_ATTEMPT:
            step, result = words["step_" + event["step"]], words["result_" + event["result"]]
            what += f" ({step}: {result})"
        rows.append(
            {
                "when": _when(event["occurred_at"]),
                "what": what,
                "ip": event.get("ip"),
                "result": words[f"outcome_{decision['outcome']}"],
            }
        )
    return rows


def _centre(request: Request, info: SessionInfo) -> Response:
    auth = web.service(request)
    words = WORDS[web.locale(request)]
    now = auth.clock()
    sessions = [
        {
            "id": s.id,
            "current": s.id == info.id,
            "ip": s.ip,
            "when": _when(s.authenticated_at),
            "factor": words.get(f"factor_{s.factor}", s.factor),
            "device": device_summary(s.user_agent or "") or s.device_id[:8],
        }
        for s in auth.sessions.list(info.customer_id, now)
    ]
    policy = auth.policy
    until = policy.transition_until
    transition = until.isoformat() if until and policy.in_transition(now) else None
    return web.render(
        request,
        "security.html.j2",
        title=words["security_title"],
        passkeys=[
            {"id": p.credential_id, "name": p.name, "created_at": _when(p.created_at)}
            for p in auth.passkeys.list(info.customer_id)
        ],
        totp=auth.totp.enrolled(info.customer_id),
        recovery=auth.recovery.remaining(info.customer_id),
        sessions=sessions,
        activity=_activity(request, info.customer_id, words),
        transition=transition,
    )


@router.get("/security")
async def security_centre(request: Request) -> Response:
    return await guarded(request, lambda info: _centre(request, info))


@router.post("/passkeys/remove")
async def remove_passkey(request: Request) -> Response:
    fields = await web.form(request)
    try:
        info = await to_thread.run_sync(lambda: _current(request))
        credential = web.field(fields, "credential_id", CREDENTIAL_ID_CHARS)
        await web.service(request).remove_passkey(web.context(request), info, credential)
    except SessionRequired:
        return web.redirect(request, "/auth/login")
    return web.redirect(request, "/auth/security")


@router.post("/sessions/{session_id}/revoke")
async def revoke_one(request: Request, session_id: SessionId) -> Response:
    return await _revoke(request, session_id)


@router.post("/sessions/revoke-all")
async def revoke_all(request: Request) -> Response:
    return await _revoke(request, None)


async def _revoke(request: Request, session_id: int | None) -> Response:
    await web.form(request)
    try:
        info = await to_thread.run_sync(lambda: _current(request))
        await web.service(request).revoke(web.context(request), info, session_id)
    except SessionRequired:
        return web.redirect(request, "/auth/login")
    except AuthError:
        return web.redirect(request, "/auth/security")
    ended_here = session_id is None or session_id == info.id
    return web.redirect(request, "/auth/login" if ended_here else "/auth/security")


@router.post("/lock")
async def lock(request: Request) -> Response:
    fields = await web.form(request)
    try:
        scope = LockScope(fields.get("scope", "login"))
        info = await to_thread.run_sync(lambda: _current(request))
    except ValueError:
        raise InvalidInput("choose what to lock", field="scope") from None
    except SessionRequired:
        return web.redirect(request, "/auth/login")
    await web.service(request).selflock.lock(web.context(request), info.customer_id, scope)
    response = _locked(request, here="/auth/locked")
    web.cookies(request).clear(response, "session")
    return response


@router.get("/locked")
async def locked_page(request: Request) -> Response:
    """What the lock form answers, as a page of its own: its language links lead here."""
    return _locked(request)


def _locked(request: Request, here: str | None = None) -> Response:
    words = WORDS[web.locale(request)]
    return web.render(
        request,
        "message.html.j2",
        here=here,
        title=words["sec_lock"],
        notice=words["sec_orders_run"],
        message=words["sec_unlock_how"],
        back="/auth/unlock",
        back_label=words["unlock_link"],
    )


@router.get("/unlock")
async def unlock_page(request: Request) -> Response:
    return web.render(request, "unlock.html.j2", title=WORDS[web.locale(request)]["unlock_title"])


@router.post("/unlock/options")
async def unlock_options(request: Request) -> Response:
    await web.read_json(request)
    issued = await to_thread.run_sync(
        web.service(request).selflock.unlock_options, web.context(request)
    )
    return _options(request, issued.challenge_id, issued.options)


@router.post("/unlock")
async def unlock(request: Request) -> Response:
    data = await web.read_json(request)
    auth, ctx = web.service(request), web.context(request)
    challenge = web.field(data, "challenge_id")
    await auth.audited(
        ctx, "unlock_passkey", lambda: auth.selflock.unlock(ctx, challenge, data.get("credential"))
    )
    return web.json_reply(request, {"next": "/auth/login?notice=unlocked"})


# -- transaction signing ---------------------------------------------------------------------


@router.get("/sign/{request_id}")
async def sign_page(request: Request, request_id: RequestId) -> Response:
    auth = web.service(request)
    lang = web.locale(request)
    words = WORDS[lang]
    try:
        found = await to_thread.run_sync(auth.signing.get, request_id)
    except AuthError as error:
        return web.render(
            request,
            "message.html.j2",
            error.status,
            title=words["error_title"],
            message=words["err_not_found"],
            back="/auth/login",
            back_label=words["back_login"],
        )
    open_ = found.status is Status.PENDING and not found.expired(auth.clock())
    return web.render(
        request,
        "sign.html.j2",
        title=words["sign_title"],
        sign=found,
        details=shown_details(found.action, found.details, lang),
        open=open_,
        approved=found.status is not Status.PENDING,
    )


@router.post("/sign/{request_id}/options")
async def sign_options(request: Request, request_id: RequestId) -> Response:
    await web.read_json(request)
    auth = web.service(request)
    issued = await to_thread.run_sync(auth.signing.options, request_id, auth.clock())
    return _options(request, issued.challenge_id, issued.options)


@router.post("/sign/{request_id}/approve")
async def sign_approve(request: Request, request_id: RequestId) -> Response:
    data = await web.read_json(request)
    auth, ctx = web.service(request), web.context(request)
    challenge = web.field(data, "challenge_id")
    await auth.audited(
        ctx,
        "signing_approval",
        lambda: to_thread.run_sync(
            lambda: auth.signing.approve(
                request_id, challenge, data.get("credential"), actor=ctx.actor, now=ctx.now
            )
        ),
    )
    return web.json_reply(request, {"next": f"/auth/sign/{request_id}"})


# The order a customer reads each action's details in: what happens first, references last.
# The currency is shown with the amount; a field not listed here still shows, after these.
DETAIL_ORDER: dict[Action, tuple[str, ...]] = {
    Action.WITHDRAWAL: ("amount", "destination_id", "withdrawal_id"),
    Action.PAYOUT_CHANGE: (
        "bank_code",
        "branch_code",
        "account_type",
        "account_number",
        "holder_name_kana",
        "destination_id",
    ),
    Action.CONTACT_CHANGE: ("contact", "new_value"),
}
_NAMED_VALUES = frozenset({"account_type", "contact"})  # enum values: shown as words


def shown_details(
    action: Action, details: Mapping[str, str], lang: Locale
) -> list[tuple[str, str]]:
    """(label, value) rows of a signing request, in the customer's words and fixed order."""
    words = WORDS[lang]
    order = DETAIL_ORDER.get(action, ())
    rest = sorted(set(details) - set(order) - {"currency"})
    rows = []
    for name in (*order, *rest):
        value = details.get(name)
        if value is None:
            continue
        if name == "amount":
            value = amount_text(value, details.get("currency", "JPY"), lang)
        elif name in _NAMED_VALUES:
            value = words.get(f"value_{name}_{value}", value)
        rows.append((words.get(f"detail_{name}", name), value))
    if "currency" in details and "amount" not in details:
        rows.append((words["detail_currency"], details["currency"]))
    return rows


def amount_text(amount: str, currency: str, lang: Locale) -> str:
    """An amount grouped in thousands with its currency: 1,234,567円 or ¥1,234,567."""
    grouped = f"{Decimal(amount):,f}"
    if currency == "JPY":
        return f"{grouped}円" if lang is Locale.JA else f"¥{grouped}"
    return f"{grouped} {currency}" if lang is Locale.JA else f"{currency} {grouped}"


def _options(request: Request, challenge_id: str, options: dict[str, Any]) -> Response:
    return web.json_reply(request, {"challenge_id": challenge_id, "public_key": options})

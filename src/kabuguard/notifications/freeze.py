"""The "this wasn't me" link: one-time, expiring, and a lock through the decision path.

GET only shows a confirmation page, so a mail scanner that follows links locks nothing. POST
submits a `customer_lock` event (initiated by the customer) to the decision service, so the
lock is decided, enforced and audited like any other; its event id derives from the token, so
a double submit is one lock. The token is the form's only secret: without it no other site can
forge the POST (and cross-site POSTs are refused by Origin / Sec-Fetch-Site as well).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select, update
from starlette.concurrency import run_in_threadpool

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.interfaces import DecisionError, is_idempotency_conflict
from kabuguard.decisions.writer import Committer
from kabuguard.notifications.kinds import Locale
from kabuguard.notifications.models import OutboxRow
from kabuguard.notifications.planner import freeze_digest
from kabuguard.risk.events import Channel, CustomerLock, Initiator

router = APIRouter(tags=["freeze link"], include_in_schema=False)
ACTOR = "customer:freeze-link"
_MAX_FORM_BYTES = 1024
# What planner.freeze_token makes: the row's idempotency key (64 hex digits), a dot and
# secrets.token_urlsafe(32). Anything else names no link and never reaches the database
# (PostgreSQL refuses a NUL in a query parameter: that was a 500).
_TOKEN = re.compile(r"[0-9a-f]{64}\.[A-Za-z0-9_-]{43}")

STYLE = (
    "body{margin:0;padding:24px;font-family:sans-serif;font-size:22px;line-height:1.7;"
    "color:#111;background:#fff}main{max-width:640px}h1{font-size:28px}"
    "button{font-size:24px;padding:16px 28px;background:#b00020;color:#fff;border:0;"
    "border-radius:8px}strong{font-size:24px}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    # No script, no external anything; the one inline style block is allowed by its hash.
    "content-security-policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",  # the token must not leak to anywhere else
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
}
_PAGES = Environment(
    loader=PackageLoader("kabuguard.notifications", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


class LinkState(StrEnum):
    CONFIRM = "confirm"  # valid: ask before locking
    LOCKED = "locked"  # just locked
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    REFUSED = "refused"  # a cross-site form post
    FAILED = "failed"  # the lock could not be stored


_STATUS = {
    LinkState.CONFIRM: 200,
    LinkState.LOCKED: 200,
    LinkState.USED: 410,
    LinkState.EXPIRED: 410,
    LinkState.UNKNOWN: 404,
    LinkState.REFUSED: 403,
    LinkState.FAILED: 503,
}


@dataclass(frozen=True, slots=True)
class FreezeLink:
    outbox_id: int
    customer_id: str
    locale: Locale
    created_at: datetime
    used_at: datetime | None

    def state(self, now: datetime, ttl: timedelta) -> LinkState:
        if self.used_at is not None:
            return LinkState.USED
        return LinkState.EXPIRED if now >= self.created_at + ttl else LinkState.CONFIRM


def find_link(database: Database, token: str) -> FreezeLink | None:
    """The link a token names, if its secret matches (compared in constant time)."""
    if not _TOKEN.fullmatch(token):
        return None
    key, _, secret = token.partition(".")
    query = select(
        OutboxRow.id,
        OutboxRow.customer_id,
        OutboxRow.locale,
        OutboxRow.created_at,
        OutboxRow.freeze_used_at,
        OutboxRow.freeze_digest,
    ).where(OutboxRow.idempotency_key == key)
    with database.read() as session:
        row = session.execute(query).first()
    if row is None or row.freeze_digest is None:
        return None
    if not hmac.compare_digest(row.freeze_digest, freeze_digest(secret)):
        return None
    return FreezeLink(
        row.id, row.customer_id, Locale(row.locale), row.created_at, row.freeze_used_at
    )


def mark_used(database: Database, link: FreezeLink, now: datetime) -> None:
    with database.write() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == link.outbox_id, OutboxRow.freeze_used_at.is_(None))
            .values(freeze_used_at=now)
        )


def lock_event_id(token: str) -> str:
    """The lock's event id, the same for every submit through one link."""
    return f"freeze-{token.partition('.')[0][:40]}"


def lock_event(link: FreezeLink, token: str, now: datetime, request: Request) -> CustomerLock:
    return CustomerLock(
        event_id=lock_event_id(token),
        occurred_at=now,
        customer_id=link.customer_id,
        channel=Channel.WEB,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", "")[:1024] or None,
        initiated_by=Initiator.CUSTOMER,
        reason="freeze link in a notification (「心当たりがない」リンク)",
    )


@router.get("/freeze/{token}")
async def confirm_page(request: Request, token: str) -> Response:
    link, now = await _link(request, token)
    state = link.state(now, _ttl(request)) if link else LinkState.UNKNOWN
    return _page(request, state, link, token)


@router.post("/freeze/{token}")
async def lock(request: Request, token: str) -> Response:
    link, now = await _link(request, token)
    if link is None:
        return _page(request, LinkState.UNKNOWN, None, token)
    if _cross_site(request) or not await _confirmed(request):
        return _page(request, LinkState.REFUSED, link, token)
    state = link.state(now, _ttl(request))
    if state is not LinkState.CONFIRM:
        return _page(request, state, link, token)
    committer: Committer = request.app.state.committer
    try:
        await committer.submit(lock_event(link, token, now, request), ACTOR)
    except DecisionError as error:
        # A conflict on the link's own event id: a double submit, or a crash between the
        # submit and mark_used. The lock is stored already.
        if not is_idempotency_conflict(error):
            return _page(request, LinkState.FAILED, link, token)
    await run_in_threadpool(mark_used, request.app.state.database, link, now)
    return _page(request, LinkState.LOCKED, link, token)


async def _link(request: Request, token: str) -> tuple[FreezeLink | None, datetime]:
    now: datetime = request.app.state.clock()
    return await run_in_threadpool(find_link, request.app.state.database, token), now


def _ttl(request: Request) -> timedelta:
    settings: Settings = request.app.state.settings
    return timedelta(days=settings.freeze_link_days)


def _cross_site(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    settings: Settings = request.app.state.settings
    public = urlsplit(settings.public_base_url)
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin not in (f"{public.scheme}://{public.netloc}", own)


async def _confirmed(request: Request) -> bool:
    """The form's one field, read without buffering more than the form can hold."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return False
    return parse_qs(body.decode("ascii", "replace")).get("confirm") == ["lock"]


def _page(request: Request, state: LinkState, link: FreezeLink | None, token: str) -> Response:
    settings: Settings = request.app.state.settings
    locale = link.locale if link is not None else Locale.JA
    html = _PAGES.get_template(f"{locale.value}/freeze.html.j2").render(
        state=state.value,
        style=STYLE,
        action=f"/freeze/{token}",
        broker=settings.broker_name,
        phone=settings.broker_phone,
    )
    return Response(html, _STATUS[state], HEADERS, media_type="text/html; charset=utf-8")

"""What every hosted page shares: cookies, CSRF, security headers, language, rendering.

Cookies carry the `__Host-` prefix (Secure, Path=/, no Domain: no subdomain can set or read
them) unless Secure is switched off for http://localhost development. CSRF uses a signed
double-submit token: a random cookie, and in each form (or the X-CSRF-Token header of the
WebAuthn calls) HMAC(key, cookie); the Origin / Sec-Fetch-Site headers are checked as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

import orjson
from fastapi import Request, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from kabuguard.auth.interfaces import AuthError, InvalidInput
from kabuguard.auth.service import AuthService
from kabuguard.auth.sessions import Origin
from kabuguard.auth.steps import Context
from kabuguard.notifications.kinds import Locale
from kabuguard.pages.words import WORDS
from kabuguard.parsing import NUL_MESSAGE, holds_nul
from kabuguard.risk.events import Channel

ACTOR = "auth:pages"
MAX_FORM_BYTES = 16 * 1024
MAX_JSON_BYTES = 64 * 1024
_YEAR = 400 * 24 * 3600  # the longest a browser keeps a cookie (RFC 6265bis)

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "publickey-credentials-get=(self), publickey-credentials-create=(self)",
}

TEMPLATES = Environment(
    loader=PackageLoader("kabuguard.pages", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class Refused(AuthError):
    status, code = 403, "csrf_failed"


@dataclass(frozen=True, slots=True)
class Cookies:
    secure: bool

    def name(self, base: str) -> str:
        return f"__Host-kg_{base}" if self.secure else f"kg_{base}"

    def get(self, request: Request, base: str) -> str | None:
        value = request.cookies.get(self.name(base))
        # A cookie is unquoted: `"a\\000b"` arrives holding NUL, which no store may keep.
        return value if value and len(value) <= 200 and "\x00" not in value else None

    def set(
        self,
        response: Response,
        base: str,
        value: str,
        max_age: int | None = None,
        *,
        same_site: str = "lax",
    ) -> None:
        response.set_cookie(
            self.name(base),
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite=same_site,  # type: ignore[arg-type]
        )

    def clear(self, response: Response, base: str) -> None:
        response.delete_cookie(self.name(base), path="/", secure=self.secure, httponly=True)


def service(request: Request) -> AuthService:
    auth: AuthService = request.app.state.auth
    return auth


def cookies(request: Request) -> Cookies:
    return Cookies(service(request).settings.auth_cookie_secure)


def locale(request: Request) -> Locale:
    wanted = request.query_params.get("lang") or cookies(request).get(request, "lang")
    return Locale.EN if wanted == "en" else Locale.JA


def device_id(request: Request) -> str:
    """The browser's device id: a random id in a long-lived cookie, set on first visit."""
    return cookies(request).get(request, "device") or _fresh(request, "new_device")


def context(request: Request) -> Context:
    origin = Origin(
        device_id(request),
        request.client.host if request.client else None,
        request.headers.get("user-agent", "")[:1024] or None,
    )
    return service(request).context(origin, Channel.WEB, ACTOR)


def _csrf_key(request: Request) -> bytes:
    pepper = service(request).settings.api_key_pepper.get_secret_value().encode()
    return hmac.new(pepper, b"kabuguard csrf key", hashlib.sha256).digest()


def csrf_seed(request: Request) -> str:
    return cookies(request).get(request, "csrf") or _fresh(request, "new_csrf")


def _fresh(request: Request, name: str) -> str:
    """A new random value for a cookie this response sets (the same one all request long)."""
    value: str | None = getattr(request.state, name, None)
    if value is None:
        value = secrets.token_urlsafe(24)
        setattr(request.state, name, value)
    return value


def csrf_token(request: Request) -> str:
    return hmac.new(_csrf_key(request), csrf_seed(request).encode(), hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str | None) -> None:
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise Refused("this form was sent from another site")
    origin = request.headers.get("origin")
    if origin is not None and origin != "null" and origin not in service(request).rp.origins:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            raise Refused("this form was sent from another site")
    seed = cookies(request).get(request, "csrf")
    expected = hmac.new(_csrf_key(request), (seed or "").encode(), hashlib.sha256).hexdigest()
    if not seed or not submitted or not hmac.compare_digest(expected, submitted):
        raise Refused("the form has expired; please reload the page and try again")


async def form(request: Request) -> dict[str, str]:
    """The posted form (first value per field), after the CSRF check."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused("the form is too large")
    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    check_csrf(request, fields.get("csrf"))
    if holds_nul(fields):  # %00 decodes to NUL, which PostgreSQL cannot store
        raise Refused("the form holds a character that is not allowed (NUL)")
    return fields


async def read_json(request: Request) -> dict[str, Any]:
    """The JSON body of a webauthn.js call, after the CSRF header check."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise InvalidInput("the request is too large")
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise InvalidInput("the request is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request must be a JSON object")
    if holds_nul(data):
        raise InvalidInput(f"the request {NUL_MESSAGE}")
    return data


def field(data: dict[str, Any], name: str, limit: int = 64) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"{name} is missing or invalid", field=name)
    return value


def json_reply(request: Request, body: dict[str, Any]) -> Response:
    return finish(request, Response(orjson.dumps(body), 200, media_type="application/json"))


def render(
    request: Request, name: str, status: int = 200, *, here: str | None = None, **values: Any
) -> Response:
    """A page in the customer's language. `here` is the page's own address (a GET), where its
    language links lead: by default the address requested, which suits a GET; a page answering
    a POST passes it, since the POST's path may have no page to GET (a 405)."""
    lang = locale(request)
    page = {
        "t": WORDS[lang],
        "lang": lang.value,
        "csrf": csrf_token(request),
        "languages": language_links(request, here),
        "broker": service(request).settings.broker_name,
        "error": None,
        "error_field": "",
        "notice": None,
    }
    html = TEMPLATES.get_template(name).render(page | values)
    response = Response(html, status, HEADERS, media_type="text/html; charset=utf-8")
    return finish(request, response)


def language_links(request: Request, here: str | None = None) -> dict[str, str]:
    """The page in each language: its path and other query parameters, with `lang` set."""
    if here is None:
        path, query = request.url.path, request.url.query
    else:
        path, _, query = here.partition("?")
    kept = [(key, value) for key, value in parse_qsl(query) if key != "lang"]
    return {lang.value: f"{path}?{urlencode([*kept, ('lang', lang.value)])}" for lang in Locale}


def finish(request: Request, response: Response) -> Response:
    """Set the cookies a first visit needs and the page's security headers."""
    jar = cookies(request)
    for name, base, age in (("new_device", "device", _YEAR), ("new_csrf", "csrf", None)):
        value = getattr(request.state, name, None)
        if value is not None:
            jar.set(response, base, value, age)
    if request.query_params.get("lang") in ("ja", "en"):
        jar.set(response, "lang", request.query_params["lang"], _YEAR)
    response.headers.update(HEADERS)
    return response


def redirect(request: Request, to: str) -> Response:
    return finish(request, Response(status_code=303, headers={"location": to}))

"""Bad input for the API's property tests: the error contract as assertions, and hypothesis
strategies of malformed and adversarial values.

The contract (docs/events.md, "Errors"): never a 5xx; every error is
`{"error": {"code", "message", "fields"}}` with a code its status allows; `fields` names what
is wrong and the message names every field it lists.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from kabuguard.risk.events import EventType
from tests import factories as f

# Bounded and reproducible (CI runs the same examples every time). Each test function runs
# one live server and generates inside it, hence the function-scoped-fixture health check.
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(PROPERTY, max_examples=15)

JSON_TYPE = {"content-type": "application/json"}
MAX_EVENT_BYTES = 64 * 1024  # the default KABUGUARD_MAX_EVENT_BYTES of the test server
IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}")
TYPES = {t.value for t in EventType}

# docs/events.md, "Errors": the codes each status may carry.
DOCUMENTED = {
    400: {"malformed_json", "invalid_cursor", "http_error"},
    401: {"unauthenticated"},
    403: {"forbidden"},
    404: {"not_found", "not_listed"},
    405: {"method_not_allowed"},
    409: {"idempotency_conflict"},
    413: {"body_too_large", "batch_too_large"},
    415: {"unsupported_media_type"},
    422: {"invalid_event", "invalid_batch", "invalid_request", "invalid_network"},
}


def check_error(error: Any, status: int) -> dict[str, Any]:
    """An error object in the documented shape, with a code its status allows."""
    assert isinstance(error, dict), error
    assert set(error) == {"code", "message", "fields"}, error
    assert error["code"] in DOCUMENTED[status], (status, error)
    assert isinstance(error["message"], str), error
    assert error["message"], error
    assert isinstance(error["fields"], list), error
    for item in error["fields"]:
        assert isinstance(item, dict), error
        assert set(item) == {"field", "message"}, error
        assert isinstance(item["field"], str), error
        assert isinstance(item["message"], str), error
        assert item["message"], error
        assert item["field"] in error["message"], error
    return error


def refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The error of a refused request: a 4xx among `statuses`, in the documented shape."""
    assert response.status_code < 500, f"{response.status_code} {response.text}"
    assert response.status_code in statuses, f"{response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    return check_error(body["error"], response.status_code)


def names(error: dict[str, Any], key: str) -> bool:
    """The error blames `key`, or the body as a whole (`"field": ""`)."""
    return key in error["message"] or "" in [item["field"] for item in error["fields"]]


def blames(error: dict[str, Any], key: str) -> bool:
    """`fields` names `key` itself."""
    return key in [item["field"] for item in error["fields"]]


def dumps(document: Any, *, ascii_only: bool = True) -> bytes:
    """JSON as a careless client writes it: NaN and Infinity as literals, lone surrogates as
    `\\ud800` escapes (or, unescaped, as bytes that are not UTF-8)."""
    text = json.dumps(document, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


MARKER = "@@fragment@@"


def with_fragment(document: dict[str, Any], key: str, fragment: str) -> bytes:
    """`document` as JSON with the raw text `fragment` as the value of `key`."""
    return dumps(document | {key: MARKER}).replace(f'"{MARKER}"'.encode(), fragment.encode())


def segment(text: str) -> str:
    """`text` as one path segment."""
    return quote(text, safe="")


def route_mismatch(text: str) -> bool:
    """A path segment that takes the request to no route at all."""
    return text in {"", ".", ".."} or "/" in text


def storable(moment: datetime) -> bool:
    """Within the instants the API stores (years 1970 to 2199, in UTC)."""
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) <= moment < datetime(2200, 1, 1, tzinfo=UTC)
    except OverflowError:
        return False


# ---------------------------------------------------------------------------------- strategies

BUILDERS: tuple[Callable[[], dict[str, Any]], ...] = (
    f.login,
    f.order,
    f.withdrawal,
    f.payout_change,
    f.instrument,
    f.lock,
    f.unlock,
    lambda: f.login(customer=None, attempted_username="someone"),
    lambda: f.order(order_type="market", limit_price=None, side="sell"),
)
events = st.sampled_from(BUILDERS).map(lambda build: build())  # a new event id every draw

BAD_TIMES = [
    "2026-11-20T09:00:00",  # no zone
    "2026-11-20",
    "2026-02-30T00:00:00Z",
    "2026-11-20T09:00:00+25:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2099-01-01T00:00:00Z",  # the future
]
NASTY_TEXT = [
    *BAD_TIMES,
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202etxet",
    "🍣" * 5,
    "ﾔﾏﾀﾞ ﾀﾛｳ",
    "x" * 129,
    "x" * 70_000,  # past the body limit
    "-1",
    "1e3",
    "NaN",
    "teleport",
    "10.0.0.0/33",
]
NASTY_NUMBERS: list[int | float] = [
    0,
    -1,
    10**12,
    10**12 + 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**100,
    253402300800,  # year 10000 in Unix seconds
    -62135596801,  # before year 1
    0.5,
    -0.0,
    1e308,
    5e-324,
    float("nan"),
    float("inf"),
    float("-inf"),
]
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=20),
        st.sampled_from(NASTY_TEXT),
        st.sampled_from(NASTY_NUMBERS),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
# What every JSON parser reads: finite numbers within 64 bits, no lone surrogates.
strict_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from([t for t in NASTY_TEXT if len(t) < 1000]),
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)

# Raw JSON no field accepts: non-finite numbers, lone surrogates, NUL, nesting past any
# parser's limit, and tokens that are not JSON.
FRAGMENTS = [
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "9" * 5000,
    '"\\ud800"',
    '"\\udfff"',
    '"a\\ud83cb"',
    '"\\u0000"',
    '"x\\u0000y"',
    "[" * 3000 + "]" * 3000,
    '{"a":' * 2000 + "1" + "}" * 2000,
    "01",
    "+1",
    ".5",
    "1.",
    "0x10",
    "tru",
    "'x'",
    '"\\x41"',
    '"unterminated',
    "[1,]",
    "{}}",
]


@dataclass(frozen=True)
class Mutation:
    kind: str  # drop, replace or add
    key: str
    document: dict[str, Any]
    value: Any = None


@st.composite
def mutations(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> Mutation:
    """A valid body with one field dropped, replaced by any JSON value, or added."""
    document = draw(base)
    kind = draw(st.sampled_from(["drop", "replace", "add"]))
    if kind == "add":
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in document))
    else:
        key = draw(st.sampled_from(sorted(document)))
    if kind == "drop":
        return Mutation(kind, key, {k: v for k, v in document.items() if k != key})
    value = draw(json_values)
    return Mutation(kind, key, document | {key: value}, value)


media_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/problem+json",
            "text/json",
            "application/jsonx",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "json",
            ";json",
        ]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "/+-.;= ", max_size=30),
).map(str.strip)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)

path_texts = st.one_of(
    st.text(max_size=140),
    st.from_regex(IDENTIFIER, fullmatch=True),
    st.sampled_from(["", ".", "..", "a/b", "a%2Fb", "%00", "a\x00b", "x" * 129, "evt 1", "-x"]),
)

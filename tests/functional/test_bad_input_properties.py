"""Bad input to the event endpoints over real HTTP, as properties (hypothesis).

POST /v1/events and /v1/events/batch: whatever a client sends is decided or refused with a
4xx in the documented shape that names the field to blame; never a 5xx; a bad batch item
never costs the others their decisions; the same event twice gets the same decision, a changed
one under the same id a 409. One live server per test function, on SQLite and on PostgreSQL;
hypothesis generates inside it, every generated event with an id of its own. Reads and the
list endpoints: test_bad_input_read_list_properties.py. The defects these found:
test_bad_input_regressions.py.
"""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests import factories as f
from tests.bad_input import (
    FEW,
    FRAGMENTS,
    JSON_TYPE,
    MAX_EVENT_BYTES,
    PROPERTY,
    TYPES,
    Mutation,
    blames,
    check_error,
    dumps,
    events,
    json_values,
    media_types,
    mutations,
    names,
    offsets,
    refused,
    storable,
    strict_values,
    with_fragment,
)
from tests.conftest import LiveServer

# ------------------------------------------------------------------------------ POST /v1/events


@PROPERTY
@given(mutation=mutations(events), ascii_only=st.booleans())
def test_a_mutated_event_is_decided_or_refused_naming_the_field(
    api: httpx.Client, mutation: Mutation, ascii_only: bool
) -> None:
    body = dumps(mutation.document, ascii_only=ascii_only)
    response = api.post("/v1/events", content=body, headers=JSON_TYPE)
    if response.status_code == 200:
        assert response.json()["event_id"] == mutation.document["event_id"]
        return
    error = refused(response, 400, 409, 413, 422)
    if response.status_code == 413:
        assert len(body) > MAX_EVENT_BYTES
    retyped = mutation.key == "type" and isinstance(mutation.value, str) and mutation.value in TYPES
    if response.status_code == 422 and not retyped:  # another type names the fields it refuses
        assert names(error, mutation.key), (mutation, error)


@PROPERTY
@given(data=st.data(), fragment=st.sampled_from(FRAGMENTS))
def test_non_finite_numbers_surrogates_nul_and_deep_nesting_are_refused(
    api: httpx.Client, data: st.DataObject, fragment: str
) -> None:
    event = data.draw(events)
    key = data.draw(st.sampled_from(sorted(event)))
    response = api.post("/v1/events", content=with_fragment(event, key, fragment))
    error = refused(response, 400, 422)
    if response.status_code == 400:
        assert error["code"] == "malformed_json"
    else:
        assert error["code"] == "invalid_event"
        assert names(error, key), (key, fragment, error)


# Free text: any text within the length limits is taken, except a NUL (which PostgreSQL
# cannot store); each type with the builder that carries the field.
FREE_TEXT = [
    (f.login, "user_agent", 0, 1024),
    (f.login, "device_id", 1, 256),
    (f.order, "ip", 0, 64),  # unparseable is scored, not refused
    (lambda: f.login(customer=None, attempted_username="x"), "attempted_username", 1, 256),
    (f.lock, "reason", 0, 500),
    (f.payout_change, "holder_name_kana", 1, 100),
    (f.instrument, "name", 0, 200),
]
texts = st.one_of(st.text(max_size=40), st.text(min_size=90, max_size=1100))
with_nul = texts.map(lambda t: t[: len(t) // 2] + "\x00" + t[len(t) // 2 :])


@PROPERTY
@given(field=st.sampled_from(FREE_TEXT), text=texts | with_nul)
def test_free_text_fields_take_any_text_but_a_nul(
    api: httpx.Client, field: tuple[Any, str, int, int], text: str
) -> None:
    build, key, shortest, longest = field
    event = build() | {key: text}
    response = api.post("/v1/events", content=dumps(event), headers=JSON_TYPE)
    if "\x00" not in text and shortest <= len(text) <= longest:
        assert response.status_code == 200, response.text
        assert api.get(f"/v1/decisions/{event['event_id']}").json() == response.json()
    else:
        assert blames(refused(response, 422), key)


@PROPERTY
@given(data=st.data())
def test_any_instant_is_decided_or_refused_naming_occurred_at(
    api: httpx.Client, live_server: LiveServer, data: st.DataObject
) -> None:
    now = live_server.clock()
    skew = timedelta(seconds=live_server.settings.max_future_skew_seconds)
    at = data.draw(
        st.one_of(
            st.datetimes(timezones=st.none() | offsets),
            st.integers(-(10**6), 10**6).map(lambda s: now + timedelta(seconds=s)),
            st.integers(-5, 5).map(lambda s: now + skew + timedelta(seconds=s)),  # the edge
            st.just(datetime(1970, 1, 1, tzinfo=UTC)),
            st.just(datetime(2026, 11, 20, 9)),  # noqa: DTZ001 (the point: no zone)
        ).map(lambda moment: moment.isoformat())
        | st.floats(min_value=-1e6, max_value=now.timestamp() + 1e6)  # Unix seconds
    )
    event = f.login(occurred_at=at)
    event["customer_id"] = f"c-{event['event_id']}"  # a timeline of its own
    response = api.post("/v1/events", content=dumps(event), headers=JSON_TYPE)
    moment = datetime.fromtimestamp(at, UTC) if isinstance(at, float) else at
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    fine = moment.tzinfo is not None and storable(moment) and moment <= now + skew
    if not fine:
        assert "occurred_at" in refused(response, 422)["message"]
        return
    assert response.status_code == 200, response.text
    [stored] = api.get(f"/v1/customers/{event['customer_id']}/timeline").json()["items"]
    error = datetime.fromisoformat(stored["event"]["occurred_at"]) - moment
    assert abs(error) <= (timedelta(milliseconds=1) if isinstance(at, float) else timedelta(0))


@PROPERTY
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.filter(lambda v: not isinstance(v, dict)).map(dumps),
        st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(dumps),
    )
)
def test_a_body_that_is_no_event_is_refused(api: httpx.Client, body: bytes) -> None:
    response = api.post("/v1/events", content=body, headers=JSON_TYPE)
    error = refused(response, 400, 422)
    assert error["code"] == ("malformed_json" if response.status_code == 400 else "invalid_event")


@PROPERTY
@given(content_type=media_types)
def test_only_json_media_types_are_read(api: httpx.Client, content_type: str) -> None:
    """The documented rule: the Content-Type must end in `json` (in any case) or be absent."""
    headers = {"content-type": content_type} if content_type else {}
    response = api.post("/v1/events", content=dumps(f.login()), headers=headers)
    if not content_type or content_type.partition(";")[0].strip().lower().endswith("json"):
        assert response.status_code == 200, response.text
    else:
        assert refused(response, 415)["code"] == "unsupported_media_type"


@FEW
@given(padding=st.integers(min_value=0, max_value=2 * MAX_EVENT_BYTES))
def test_the_body_limit_refuses_only_what_exceeds_it(api: httpx.Client, padding: int) -> None:
    body = dumps(f.login(user_agent="x" * padding))
    response = api.post("/v1/events", content=body, headers=JSON_TYPE)
    if len(body) > MAX_EVENT_BYTES:
        assert refused(response, 413)["code"] == "body_too_large"
    elif padding > 1024:
        assert blames(refused(response, 422), "user_agent")
    else:
        assert response.status_code == 200, response.text


@FEW
@given(header=st.text(alphabet=string.printable.strip() + " ", max_size=60).map(str.strip))
def test_a_malformed_key_is_401(live_server: LiveServer, header: str) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        headers = {"authorization": header} if header else {}
        response = client.post("/v1/events", json=f.login(), headers=headers)
        assert refused(response, 401)["code"] == "unauthenticated"
        assert response.headers["www-authenticate"] == "Bearer"


# ------------------------------------------------------------------------ POST /v1/events/batch


def _without(key: str) -> Any:
    return st.builds(lambda e: ({k: v for k, v in e.items() if k != key}, key), events)


def _with(key: str, values: st.SearchStrategy[Any]) -> Any:
    return st.builds(lambda e, v: (e | {key: v}, key), events, values)


# Items that break an event but keep the batch valid JSON, each with the field it breaks
# (None: the item is no object at all).
bad_items = st.one_of(
    _without("occurred_at"),
    _without("event_id"),
    _without("type"),
    _with("type", st.text(max_size=12).filter(lambda t: t not in TYPES)),
    _with("occurred_at", st.sampled_from(["2026-11-20T09:00:00", "2099-01-01T00:00:00Z"])),
    _with("user_agent", st.text(max_size=20).map(lambda t: t + "\x00") | st.integers()),
    _with("customer_id", st.integers() | st.just("a b")),
    st.builds(lambda e, k: (e | {k: 1}, k), events, st.text(max_size=8).map(lambda k: "x-" + k)),
    strict_values.filter(lambda v: not isinstance(v, dict)).map(lambda v: (v, None)),
)


@PROPERTY
@given(
    items=st.lists(events.map(lambda e: (e, "good")) | bad_items, min_size=1, max_size=8),
    replay=st.booleans(),
)
def test_a_bad_batch_item_never_fails_the_others(
    api: httpx.Client, items: list[tuple[Any, str | None]], replay: bool
) -> None:
    good = [item for item, tag in items if tag == "good"]
    if replay and good:  # an earlier copy in the same batch: replayed, not decided twice
        items = [*items, (good[0], "replay")]
    response = api.post("/v1/events/batch", content=dumps({"events": [i for i, _ in items]}))
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [result["index"] for result in results] == list(range(len(items)))
    accepted = sum(tag in {"good", "replay"} for _, tag in items)
    assert (body["accepted"], body["rejected"]) == (accepted, len(items) - accepted)
    for (item, tag), result in zip(items, results, strict=True):
        if tag in {"good", "replay"}:
            assert result["status"] == 200, result
            assert result["replayed"] is (tag == "replay")
            assert result["decision"]["event_id"] == result["event_id"] == item["event_id"]
            stored = api.get(f"/v1/decisions/{item['event_id']}")
            assert stored.json() == result["decision"]  # committed, not only answered
            continue
        assert 400 <= result["status"] < 500, result
        check_error(result["error"], result["status"])
        assert "decision" not in result
        named = item.get("event_id") if isinstance(item, dict) else None
        assert result["event_id"] == (named if isinstance(named, str) else None), result
        if tag is not None:
            assert names(result["error"], tag), (item, result)


@PROPERTY
@given(
    body=st.one_of(
        st.binary(max_size=100),
        json_values.map(dumps),
        st.dictionaries(st.sampled_from(["events", "event", "items"]), json_values).map(dumps),
    )
)
def test_a_batch_body_that_is_no_batch_is_refused(api: httpx.Client, body: bytes) -> None:
    response = api.post("/v1/events/batch", content=body, headers=JSON_TYPE)
    if response.status_code == 200:
        document = json.loads(body)
        assert isinstance(document, dict)
        assert isinstance(document.get("events"), list)
        assert len(response.json()["results"]) == len(document["events"])
        return
    error = refused(response, 400, 415, 422)
    assert error["code"] == ("malformed_json" if response.status_code == 400 else "invalid_batch")


# ---------------------------------------------------------------------------------- idempotency

CURRENCY_TYPES = {"order", "withdrawal", "instrument"}


@st.composite
def equivalents(draw: st.DrawFn, event: dict[str, Any]) -> bytes:
    """The same event as another client writes it: keys in another order, other whitespace,
    codes in lower case, the default currency spelt out or left out, money spelt otherwise
    (`2500` as `2500.00`, `2.5E+3` or a number)."""
    document = dict(event)
    for key, value in event.items():
        if key in MONEY_FIELDS and value is not None:
            amount = Decimal(str(value))
            document[key] = draw(
                st.sampled_from([f"{amount:.2f}", f"{amount:E}", float(amount), str(amount)])
            )
    for key in ("symbol", "market"):
        if key in document and draw(st.booleans()):
            document[key] = document[key].lower()
    if event["type"] in CURRENCY_TYPES:
        if "currency" in document:
            del document["currency"]
        else:
            document["currency"] = draw(st.sampled_from(["JPY", "jpy"]))
    order = draw(st.permutations(sorted(document)))
    indent = draw(st.sampled_from([None, 0, 2]))
    return json.dumps({k: document[k] for k in order}, indent=indent).encode()


MONEY_FIELDS = frozenset(
    {"limit_price", "price", "amount", "last", "previous_close", "limit_up", "limit_down"}
)
CHANGES: list[tuple[str, st.SearchStrategy[Any]]] = [
    ("user_agent", st.text(min_size=1, max_size=50).filter(lambda t: "\x00" not in t)),
    ("device_id", st.text(min_size=1, max_size=50).filter(lambda t: "\x00" not in t)),
    ("session_id", st.from_regex(r"[a-z0-9][a-z0-9._:@\-]{0,20}", fullmatch=True)),
    ("channel", st.sampled_from(["app", "api", "branch", "call_centre", "system"])),
    ("occurred_at", st.integers(min_value=1, max_value=10**5).map(lambda m: f.at(-m))),
]


@PROPERTY
@given(data=st.data(), event=events)
def test_the_same_event_gets_the_same_decision_and_a_changed_one_409(
    api: httpx.Client, data: st.DataObject, event: dict[str, Any]
) -> None:
    first = api.post("/v1/events", content=dumps(event), headers=JSON_TYPE)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    again = api.post("/v1/events", content=data.draw(equivalents(event)), headers=JSON_TYPE)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()

    key, values = data.draw(st.sampled_from(CHANGES))
    value = data.draw(values.filter(lambda v: v != event[key]))
    changed = api.post("/v1/events", content=dumps(event | {key: value}), headers=JSON_TYPE)
    error = refused(changed, 409)
    assert error["code"] == "idempotency_conflict"
    assert event["event_id"] in error["message"]
    assert api.get(f"/v1/decisions/{event['event_id']}").json() == first.json()

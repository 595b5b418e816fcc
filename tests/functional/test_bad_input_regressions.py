"""Defects the bad-input properties found, each minimised to one example (SQLite, PostgreSQL)."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from tests import factories as f
from tests.bad_input import blames, refused


def post_json(api: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return api.post(path, content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (f.login(user_agent="Mozilla\x00"), "user_agent"),
        (f.login(device_id="\x00"), "device_id"),
        (f.lock(reason="a\x00b"), "reason"),
        (f.payout_change(holder_name_kana="ヤマダ\x00"), "holder_name_kana"),
    ],
)
def test_a_nul_in_a_text_field_is_a_422_naming_it(
    api: httpx.Client, event: dict[str, Any], field: str
) -> None:
    # Was 503 storage_unavailable on PostgreSQL, which cannot store a NUL (and a retry never
    # succeeds); stored on SQLite.
    response = post_json(api, "/v1/events", orjson.dumps(event))
    error = refused(response, 422)
    assert error["code"] == "invalid_event"
    assert blames(error, field)
    assert "NUL" in error["message"]


def test_a_nul_in_one_batch_item_fails_that_item_only(api: httpx.Client) -> None:
    good, bad = f.login("c-nul"), f.login("c-nul", user_agent="\x00")
    response = api.post("/v1/events/batch", json={"events": [bad, good]})
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first["status"] == 422
    assert blames(first["error"], "user_agent")
    assert second["status"] == 200
    assert refused(api.get(f"/v1/decisions/{bad['event_id']}"), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/decisions/a%00b", "path.event_id"),
        ("/v1/customers/a%00b/timeline", "path.customer_id"),
        ("/v1/decisions/a%20b", "path.event_id"),
    ],
)
def test_an_id_that_is_no_identifier_is_a_422(api: httpx.Client, path: str, field: str) -> None:
    # Was 500 on PostgreSQL for a NUL (the database refused the query); 404 otherwise.
    error = refused(api.get(path), 422)
    assert error["code"] == "invalid_request"
    assert blames(error, field)


def test_a_list_reason_with_a_nul_is_a_422(api: httpx.Client) -> None:
    # Was 500 on PostgreSQL.
    for path, body in [
        ("/v1/lists/halted-symbols", {"symbol": "7203", "market": "TSE", "reason": "a\x00"}),
        ("/v1/lists/blocked-networks", {"network": "203.0.113.0/24", "reason": "a\x00"}),
    ]:
        assert blames(refused(api.post(path, json=body), 422), "reason")


@pytest.mark.parametrize("until", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
def test_a_list_until_beyond_storage_is_a_422(api: httpx.Client, until: str) -> None:
    # Was 500 on both databases: stored in UTC, the instant overflowed.
    halt = {"symbol": "7203", "market": "TSE", "reason": "pump", "until": until}
    error = refused(api.post("/v1/lists/halted-symbols", json=halt), 422)
    assert blames(error, "until")
    assert api.get("/v1/lists/halted-symbols").json() == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"symbol": "7203", "market": ',  # was 422 invalid_request naming a field "28"
        b"[" * 5000 + b"]" * 5000,  # was 400 http_error "There was an error parsing the body"
        b'{"symbol": "7203", "market": "TSE", "reason": ' + b"9" * 5000 + b"}",  # likewise
        b'{"reason": "\xff"}',  # not UTF-8: likewise
    ],
)
def test_a_list_body_that_is_no_json_is_400_malformed_json(api: httpx.Client, body: bytes) -> None:
    error = refused(post_json(api, "/v1/lists/halted-symbols", body), 400)
    assert error["code"] == "malformed_json"
    assert error["message"].startswith("the body is not valid JSON")


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"", {"content-type": "application/json"}, "the body is missing"),  # was ": Field ..."
        (b"[1]", {"content-type": "application/json"}, "the body must be a JSON object"),
        (b'{"symbol": "7203"}', {"content-type": "text/plain"}, "the body must be a JSON object"),
    ],
)
def test_a_list_body_that_is_no_object_says_so(
    api: httpx.Client, body: bytes, headers: dict[str, str], message: str
) -> None:
    error = refused(api.post("/v1/lists/halted-symbols", content=body, headers=headers), 422)
    assert error["message"].startswith(message)
    assert error["fields"] == [{"field": "", "message": error["message"]}]


def test_a_media_type_is_json_in_any_case(api: httpx.Client) -> None:
    # Was 415: media types are case-insensitive (RFC 9110 §8.3.1).
    headers = {"content-type": "Application/JSON; charset=UTF-8"}
    assert api.post("/v1/events", content=orjson.dumps(f.login()), headers=headers).is_success
    batch = orjson.dumps({"events": [f.login()]})
    assert api.post("/v1/events/batch", content=batch, headers=headers).is_success


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_cursor_with_an_instant_beyond_storage_is_400(api: httpx.Client, at: str) -> None:
    # Was 500 on both databases: the instant overflowed when converted for storage.
    response = api.get("/v1/customers/c-1/timeline", params={"cursor": _cursor(f"{at}|x")})
    assert refused(response, 400)["code"] == "invalid_cursor"


def test_a_cursor_with_a_nul_is_400(api: httpx.Client) -> None:
    # Was 500 on PostgreSQL, which cannot compare a text holding NUL; no cursor issued has one.
    cursor = _cursor("2026-11-20T00:00:00+00:00|a\x00b")
    response = api.get("/v1/customers/c-1/timeline", params={"cursor": cursor})
    assert refused(response, 400)["code"] == "invalid_cursor"


def test_money_is_compared_by_value_for_idempotency(api: httpx.Client) -> None:
    # Was 409: the digest compared the amount's text. Stored in its shortest form.
    event = f.order(limit_price="2500.0")
    first = api.post("/v1/events", json=event)
    assert first.status_code == 200, first.text
    for same in ("2500", "2.5E+3", 2500, "2500.000"):
        again = api.post("/v1/events", json=event | {"limit_price": same})
        assert again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    assert api.post("/v1/events", json=event | {"limit_price": "2500.5"}).status_code == 409
    timeline = api.get(f"/v1/customers/{event['customer_id']}/timeline").json()
    assert timeline["items"][0]["event"]["limit_price"] == "2500"


def test_a_number_is_read_as_unix_seconds(api: httpx.Client) -> None:
    # 2e10 + 1 seconds is in the year 2603, beyond the accepted range; it was taken as
    # milliseconds, 1970-08-20, and decided. Pydantic reads numbers past 2e10 that way
    # unless told the unit.
    response = api.post("/v1/events", json=f.login(occurred_at=20_000_000_001))
    assert blames(refused(response, 422), "occurred_at")


def test_a_body_past_the_limit_is_refused_before_it_is_read(api: httpx.Client) -> None:
    # Was read whole into memory, however large, on every endpoint FastAPI parses.
    halt = {"symbol": "7203", "market": "TSE", "reason": "r" * 400}
    huge = orjson.dumps(halt | {"padding": "x" * 300_000})
    path, headers = "/v1/lists/halted-symbols", {"content-type": "application/json"}
    declared = api.post(path, content=huge, headers=headers)
    assert refused(declared, 413)["code"] == "body_too_large"
    streamed = api.post(path, content=iter([huge[:1000], huge[1000:]]), headers=headers)
    assert refused(streamed, 413)["code"] == "body_too_large"  # chunked: no length declared
    added = api.post(path, content=iter([orjson.dumps(halt)]), headers=headers)
    assert added.status_code == 201, added.text  # a chunked body within the limit is read
    batch = orjson.dumps({"events": [f.login() | {"user_agent": "u" * 1000}] * 300})
    assert len(batch) > 300_000
    assert api.post("/v1/events/batch", content=batch).is_success  # its own, larger limit


@pytest.mark.parametrize(
    "path", ["/v1/cases/a%00b", "/v1/signing/requests/a%00b", "/v1/decisions/a%00b"]
)
def test_a_nul_in_an_id_in_the_path_is_a_422(api: httpx.Client, path: str) -> None:
    # Was 500 on PostgreSQL, which cannot compare a text holding NUL.
    assert refused(api.get(path), 422)["code"] == "invalid_request"

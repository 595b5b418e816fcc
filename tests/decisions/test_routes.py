"""The event endpoints over real HTTP: numbers read exactly, batch items failing alone, clients
that go away, empty ips, compressed bodies and times in another zone (SQLite, PostgreSQL)."""

from __future__ import annotations

import gzip
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson
import pytest

from kabuguard import observability
from tests import factories as f
from tests.bad_input import blames, check_error, refused
from tests.conftest import LiveServer

JSON_TYPE = {"content-type": "application/json"}


@pytest.fixture
def client(server_on_either_path: LiveServer) -> Iterator[httpx.Client]:
    with server_on_either_path.client(server_on_either_path.key()) as http:
        yield http


def _with_amount(event: dict[str, Any], text: str) -> bytes:
    """`event` (a withdrawal) as JSON with the raw JSON `text` as its amount."""
    raw = orjson.dumps(event)
    assert b'"amount":"100000"' in raw
    return raw.replace(b'"amount":"100000"', b'"amount":' + text.encode())


def _batch(*items: bytes) -> bytes:
    return b'{"events":[' + b",".join(items) + b"]}"


def _stored_amount(api: httpx.Client, customer: str) -> str:
    timeline = api.get(f"/v1/customers/{customer}/timeline").json()
    amount: str = timeline["items"][0]["event"]["amount"]
    return amount


# ------------------------------------------------------------------------------ money, exactly


def test_money_sent_as_a_json_number_is_stored_exactly(client: httpx.Client) -> None:
    # Was stored as 12345678901234.123 (a double), through both endpoints.
    single = f.withdrawal(customer="c-exact-1")
    answer = client.post("/v1/events", content=_with_amount(single, "12345678901234.123456"))
    assert answer.status_code == 200, answer.text
    assert _stored_amount(client, "c-exact-1") == "12345678901234.123456"

    in_batch = f.withdrawal(customer="c-exact-2")
    batch = client.post("/v1/events/batch", content=_batch(_with_amount(in_batch, "1234.5678")))
    assert batch.json()["results"][0]["status"] == 200, batch.text
    assert _stored_amount(client, "c-exact-2") == "1234.5678"  # was 1234.5678 by luck only


def test_the_same_money_as_number_and_as_string_is_one_event(client: httpx.Client) -> None:
    # Was 409 idempotency_conflict: the number was rounded, the string was not.
    event = f.withdrawal()
    first = client.post("/v1/events", content=_with_amount(event, "1234567890123.45678"))
    assert first.status_code == 200, first.text
    again = client.post("/v1/events", json=event | {"amount": "1234567890123.45678"})
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    batch = client.post(
        "/v1/events/batch", content=_batch(_with_amount(event, "1234567890123.456780"))
    )
    [result] = batch.json()["results"]
    assert (result["status"], result["replayed"]) == (200, True), result


def test_the_largest_amount_is_taken_as_a_json_number(client: httpx.Client) -> None:
    # Was refused: 99999999999999.999999 read as the double 100000000000000.
    event = f.withdrawal(customer="c-largest")
    answer = client.post("/v1/events", content=_with_amount(event, "99999999999999.999999"))
    assert answer.status_code == 200, answer.text
    assert _stored_amount(client, "c-largest") == "99999999999999.999999"


def test_an_integer_past_any_parser_range_is_a_422_naming_the_field(client: httpx.Client) -> None:
    # Was 400 malformed_json ("number out of range"): 5000 digits are valid JSON.
    answer = client.post("/v1/events", content=_with_amount(f.withdrawal(), "9" * 5000))
    assert blames(refused(answer, 422), "amount")


def test_a_number_past_a_parser_range_fails_its_batch_item_alone(api: httpx.Client) -> None:
    # Was 400 malformed_json for the whole batch, with no item named: orjson refuses numbers
    # a double cannot hold, though they are valid JSON.
    first, last = f.login(), f.login()
    order = orjson.dumps(f.order(quantity=7)).replace(b'"quantity":7', b'"quantity":1e999999')
    items = [
        orjson.dumps(first),
        _with_amount(f.withdrawal(event_id="w-inf"), "1e999999"),
        _with_amount(f.withdrawal(event_id="w-long"), "1" + "0" * 400),
        order,
        orjson.dumps(last),
    ]
    response = api.post("/v1/events/batch", content=_batch(*items), headers=JSON_TYPE)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    results = body["results"]
    assert [(r["index"], r["status"]) for r in results] == [
        (0, 200),
        (1, 422),
        (2, 422),
        (3, 422),
        (4, 200),
    ]
    for result, field in zip(results[1:4], ["amount", "amount", "quantity"], strict=True):
        error = check_error(result["error"], 422)
        assert blames(error, field), result
    assert [r["event_id"] for r in results[1:3]] == ["w-inf", "w-long"]
    assert api.get(f"/v1/decisions/{last['event_id']}").status_code == 200


# ----------------------------------------------------------------------- a client that goes away


def _count(path: str, status: int) -> float:
    labels = {"method": "POST", "route": path, "status": str(status)}
    value = observability.REGISTRY.get_sample_value(
        "kabuguard_http_request_duration_seconds_count", labels
    )
    return value or 0.0


@pytest.mark.parametrize("path", ["/v1/events/batch", "/v1/events"])
def test_a_client_gone_mid_body_is_no_server_error(
    server_on_either_path: LiveServer, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Was "ERROR kabuguard unhandled error ClientDisconnect", uvicorn's "Exception in ASGI
    # application" and a 500 in the metrics, on the batch endpoint and on the FastAPI route.
    caplog.set_level(logging.WARNING)
    key = server_on_either_path.key()
    gone = _count(path, 499)
    address = urlparse(server_on_either_path.url)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: kabuguard\r\nAuthorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(head.encode() + b'{"events": [')
    deadline = time.monotonic() + 10
    while _count(path, 499) == gone:  # counted apart, as nginx's "client closed request"
        assert time.monotonic() < deadline, "the disconnect was never counted as 499"
        time.sleep(0.02)
    assert _count(path, 500) == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    with server_on_either_path.client(key) as client:  # and the server serves on
        assert client.post("/v1/events", json=f.login()).status_code == 200


# ------------------------------------------------------------------------------------ empty ip


def test_an_empty_ip_is_absent_for_idempotency_too(client: httpx.Client) -> None:
    # Was 409: "" was kept in the digest, though the docs treat an empty ip as absent.
    event = {k: v for k, v in f.login().items() if k != "ip"}
    first = client.post("/v1/events", json=event)
    assert first.status_code == 200, first.text
    for same in ({"ip": ""}, {"ip": None}):
        again = client.post("/v1/events", json=event | same)
        assert again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
    other = f.withdrawal(ip="")  # the other way round, and within one batch
    batch = client.post("/v1/events/batch", json={"events": [other, other | {"ip": None}]})
    assert [r["replayed"] for r in batch.json()["results"]] == [False, True], batch.text


# -------------------------------------------------------------------------- compressed bodies


@pytest.mark.parametrize("path", ["/v1/events", "/v1/events/batch", "/v1/lists/halted-symbols"])
def test_a_compressed_body_is_415_naming_the_encoding(client: httpx.Client, path: str) -> None:
    # Was 400 malformed_json "expected value": the gzip bytes were read as JSON.
    body = {
        "/v1/events": f.login(),
        "/v1/events/batch": {"events": [f.login()]},
        "/v1/lists/halted-symbols": {"symbol": "7203", "market": "TSE", "reason": "r"},
    }[path]
    headers = JSON_TYPE | {"content-encoding": "gzip"}
    answer = client.post(path, content=gzip.compress(orjson.dumps(body)), headers=headers)
    error = refused(answer, 415)
    assert error["code"] == "unsupported_media_type"
    assert "Content-Encoding 'gzip'" in error["message"], error
    plain = client.post(path, json=body, headers={"content-encoding": "identity"})
    assert plain.is_success, plain.text


# --------------------------------------------------------------------------- times in a zone


def test_the_same_instant_in_another_zone_is_another_payload(api: httpx.Client) -> None:
    # Documented (docs/events.md, Idempotency): a time is compared as written, offset and all.
    event = f.withdrawal(occurred_at="2026-11-20T09:00:00+09:00")
    assert api.post("/v1/events", json=event).status_code == 200
    same = api.post("/v1/events", json=event | {"occurred_at": "2026-11-20T09:00:00.000+09:00"})
    assert same.headers["idempotent-replayed"] == "true"
    elsewhere = api.post("/v1/events", json=event | {"occurred_at": "2026-11-20T00:00:00Z"})
    assert refused(elsewhere, 409)["code"] == "idempotency_conflict"

"""Reading events at the edges: fast parsers for the common case, an exact one for numbers."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

import orjson
import pytest

from kabuguard.decisions.records import event_digest, event_document
from kabuguard.parsing import ApiError, load_json, parse_event, parse_events
from kabuguard.risk.events import Event, Order, Withdrawal
from tests import factories as f


def _with_amount(text: str, event: dict[str, Any] | None = None) -> bytes:
    """A withdrawal whose amount is the raw JSON `text`."""
    document = event or f.withdrawal()
    return orjson.dumps(document).replace(b'"amount":"100000"', b'"amount":' + text.encode())


def _refused(raw: bytes | Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_event(raw)
    return caught.value


@pytest.mark.parametrize(
    "amount",
    [
        "12345678901234.123456",  # was 12345678901234.123
        "1234567890123.45678",  # was 1234567890123.4568
        "99999999999999.999999",  # the largest amount; was refused as 100000000000000
        "0.000001",
        "1e5",
        "2.5E+3",
    ],
)
def test_money_sent_as_a_json_number_is_read_exactly(amount: str) -> None:
    event = parse_event(_with_amount(amount))
    assert isinstance(event, Withdrawal)
    assert event.amount == Decimal(amount)


def test_the_same_money_as_number_and_as_string_is_the_same_event() -> None:
    # Was 409: the number was rounded, the string was not.
    document = f.withdrawal()
    as_number = parse_event(_with_amount("12345678901234.123456", document))
    as_string = parse_event(orjson.dumps(document | {"amount": "12345678901234.123456"}))
    assert as_number == as_string
    assert event_digest(event_document(as_number)) == event_digest(event_document(as_string))


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e999999", "no more than 20 digits"),  # beyond a double: was read as infinity
        ("1" + "0" * 400, "no more than 20 digits"),
        ("9" * 5000, "no more than 20 digits"),  # was 400: "number out of range"
        ("123456789012345.1234567", "no more than 20 digits"),
        ("1.0000001", "no more than 6 decimal places"),
        ("-1.5", "greater than 0"),
        ("NaN", "finite number"),
    ],
)
def test_money_no_double_holds_gets_a_422_naming_the_field(amount: str, message: str) -> None:
    error = _refused(_with_amount(amount))
    assert (error.status, error.code) == (422, "invalid_event")
    [field] = error.fields
    assert field["field"] == "amount"
    assert message in field["message"]


@pytest.mark.parametrize(("key", "number"), [("quantity", "1e999999"), ("quantity", "9" * 5000)])
def test_any_number_past_a_parser_range_is_refused_by_name(key: str, number: str) -> None:
    raw = orjson.dumps(f.order(quantity=7)).replace(b'"quantity":7', f'"{key}":{number}'.encode())
    error = _refused(raw)
    assert (error.status, [item["field"] for item in error.fields]) == (422, [key])


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"", "EOF while parsing"),
        (b'{"type": "order", ', "EOF while parsing"),
        (b"\xef\xbb\xbf{}", "expected value"),  # a BOM: not read by the exact parser either
        (b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}", "recursion limit"),
        (_with_amount("1.5").replace(b'"dst-1"', b'"\\ud800"'), "hex escape"),
        (_with_amount("1.5").replace(b'"dst-1"', b'"\xff"'), "unicode"),
    ],
)
def test_what_no_parser_reads_is_still_malformed(raw: bytes, detail: str) -> None:
    # The exact parser reads only what the fast one could not hold: never more.
    error = _refused(raw)
    assert (error.status, error.code) == (400, "malformed_json")
    assert detail in error.message


def test_load_json_reads_what_orjson_cannot_hold() -> None:
    # Was 400 malformed_json for the whole batch: 1e999999 is valid JSON.
    document = load_json(b'{"events": [{"amount": 1e999999}, {"amount": 1' + b"0" * 400 + b"}]}")
    assert document["events"][0]["amount"].text == "1e999999"
    assert document["events"][1]["amount"] == 10**400
    with pytest.raises(ApiError) as caught:
        load_json(b'{"events": [1e999999, "\\udfff"]}')
    assert (caught.value.status, caught.value.code) == (400, "malformed_json")
    with pytest.raises(ApiError):
        load_json(b'{"events": [1,]}')


def _batch(items: list[bytes]) -> tuple[list[Any], bytes]:
    body = b'{"events": [' + b",".join(items) + b"]}"
    return load_json(body)["events"], body


def test_each_batch_item_is_read_exactly_and_fails_alone() -> None:
    login = f.login()
    items, body = _batch(
        [
            _with_amount("12345678901234.123456"),
            _with_amount("1e999999"),
            orjson.dumps(login),
            orjson.dumps(f.order(limit_price="1")).replace(b'"1"', b"2950.5"),
            _with_amount("9" * 400),
        ]
    )
    parsed = parse_events(items, body)
    assert isinstance(parsed[0], Withdrawal)
    assert parsed[0].amount == Decimal("12345678901234.123456")
    assert isinstance(parsed[1], ApiError)
    assert [item["field"] for item in parsed[1].fields] == ["amount"]
    assert not isinstance(parsed[2], ApiError)
    assert parsed[2].event_id == login["event_id"]
    assert isinstance(parsed[3], Order)
    assert parsed[3].limit_price == Decimal("2950.5")
    assert isinstance(parsed[4], ApiError)
    assert parsed[4].status == 422


def test_a_batch_item_parses_as_the_same_event_sent_alone() -> None:
    raw = _with_amount("1234567890123.45678")
    items, body = _batch([raw])
    [alone] = parse_events(items, body)
    assert alone == parse_event(raw)


def test_an_item_the_exact_parser_cannot_reach_keeps_a_named_error() -> None:
    # orjson nests to 1024, the stdlib parser to Python's recursion limit (1000 by default):
    # a batch nested between the two cannot be read exactly. The money an item holds is then
    # refused by name, never rounded.
    deep = b"[" * 1010 + b"]" * 1010
    items, body = _batch([_with_amount("12345678901234.123456"), deep])
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        parsed = parse_events(items, body)
    finally:
        sys.setrecursionlimit(limit)
    assert isinstance(parsed[0], ApiError)
    assert (parsed[0].status, parsed[0].fields[0]["field"]) == (422, "amount")
    assert "send it as a string" in parsed[0].message
    assert isinstance(parsed[1], ApiError)


def test_an_event_from_python_values_keeps_its_floats() -> None:
    # Replay, scoreboard and stored payloads parse values, not bytes: a float is theirs.
    event: Event = parse_event(json.loads(json.dumps(f.withdrawal(amount=2950.5))))
    assert isinstance(event, Withdrawal)
    assert event.amount == Decimal("2950.5")

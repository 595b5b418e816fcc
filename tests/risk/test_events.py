"""The canonical event schema: every type validates from a realistic example; bad input fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from kabuguard.risk.events import (
    EVENT_ADAPTER,
    INEXACT_MONEY,
    ROUNDED_FLOATS,
    Cancellation,
    ContactChange,
    CredentialChange,
    CustomerLock,
    CustomerUnlock,
    EventType,
    Execution,
    Instrument,
    JsonNumber,
    LoginAttempt,
    Logout,
    Order,
    PayoutChange,
    Price,
    Withdrawal,
)
from tests import factories

JST = timezone(timedelta(hours=9))


def _base(kind: str, **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": kind,
        "event_id": f"evt-{kind}-1",
        "occurred_at": "2026-11-20T09:15:30.123+09:00",
        "customer_id": "c-100234",
        "session_id": "sess-9f2c",
        "channel": "web",
        "ip": "203.0.113.45",
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15",
        "device_id": "dev-8a1b7c",
    }
    document.update(fields)
    return {key: value for key, value in document.items() if value is not None}


EXAMPLES: dict[EventType, tuple[dict[str, Any], type]] = {
    EventType.LOGIN_ATTEMPT: (
        _base("login_attempt", step="second_factor", result="success", factor="passkey"),
        LoginAttempt,
    ),
    EventType.LOGOUT: (_base("logout"), Logout),
    EventType.ORDER: (
        _base(
            "order",
            order_id="ord-20261120-0001",
            side="buy",
            symbol="7203",
            market="TSE",
            quantity=100,
            order_type="limit",
            limit_price="2512.5",
        ),
        Order,
    ),
    EventType.EXECUTION: (
        _base(
            "execution",
            order_id="ord-20261120-0001",
            side="buy",
            symbol="7203",
            market="TSE",
            quantity=100,
            price="2512.5",
        ),
        Execution,
    ),
    EventType.CANCELLATION: (_base("cancellation", order_id="ord-20261120-0001"), Cancellation),
    EventType.WITHDRAWAL: (
        _base("withdrawal", withdrawal_id="wd-77", amount="1500000", destination_id="dst-1"),
        Withdrawal,
    ),
    EventType.PAYOUT_CHANGE: (
        _base(
            "payout_change",
            destination_id="dst-2",
            bank_code="0005",
            branch_code="041",
            account_type="ordinary",
            account_number="1234567",
            holder_name_kana="ヤマダ タロウ",
        ),
        PayoutChange,
    ),
    EventType.CONTACT_CHANGE: (
        _base("contact_change", contact="email", new_value="taro@example.jp"),
        ContactChange,
    ),
    EventType.CREDENTIAL_CHANGE: (
        _base("credential_change", credential="passkey", action="added"),
        CredentialChange,
    ),
    EventType.CUSTOMER_LOCK: (
        _base("customer_lock", initiated_by="customer", reason="suspicious login reported"),
        CustomerLock,
    ),
    EventType.CUSTOMER_UNLOCK: (
        _base("customer_unlock", initiated_by="staff", reason="identity re-verified at branch"),
        CustomerUnlock,
    ),
    EventType.INSTRUMENT: (
        _base(
            "instrument",
            customer_id=None,
            session_id=None,
            ip=None,
            user_agent=None,
            device_id=None,
            channel="system",
            symbol="7203",
            market="TSE",
            name="トヨタ自動車",
            lot_size=100,
            listed_shares=15_794_987_460,
            average_daily_volume=25_000_000,
            limit_up="3012.5",
            limit_down="2012.5",
        ),
        Instrument,
    ),
    EventType.PRICE: (
        _base(
            "price",
            customer_id=None,
            session_id=None,
            ip=None,
            user_agent=None,
            device_id=None,
            channel="system",
            symbol="7203",
            market="TSE",
            last="2512.5",
            previous_close="2490",
        ),
        Price,
    ),
}


def _rejected(document: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        EVENT_ADAPTER.validate_python(document)
    return caught.value


def _locations(error: ValidationError) -> set[str]:
    return {str(item["loc"][-1]) for item in error.errors() if item["loc"]}


def test_examples_cover_every_event_type() -> None:
    assert set(EXAMPLES) == set(EventType)
    assert len(EventType) == 13


@pytest.mark.parametrize("kind", list(EventType), ids=str)
def test_each_event_type_validates_from_a_realistic_example(kind: EventType) -> None:
    document, model = EXAMPLES[kind]
    event = EVENT_ADAPTER.validate_python(document)
    assert isinstance(event, model)
    assert event.type is kind
    assert event.event_id == document["event_id"]
    assert event.occurred_at == datetime(2026, 11, 20, 0, 15, 30, 123000, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("kind", list(EventType), ids=str)
def test_each_event_type_round_trips_through_json(kind: EventType) -> None:
    document, _ = EXAMPLES[kind]
    event = EVENT_ADAPTER.validate_python(document)
    assert EVENT_ADAPTER.validate_json(EVENT_ADAPTER.dump_json(event)) == event


def test_money_is_decimal_and_quantity_is_int() -> None:
    event = EVENT_ADAPTER.validate_python(EXAMPLES[EventType.ORDER][0])
    assert isinstance(event, Order)
    assert event.limit_price == Decimal("2512.5")
    assert isinstance(event.limit_price, Decimal)
    assert event.quantity == 100
    assert event.currency == "JPY"


def test_events_are_frozen() -> None:
    event = factories.typed(factories.login())
    with pytest.raises(ValidationError):
        event.event_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("stamp", ["2026-11-20T09:15:30", "2026-11-20 09:15:30"])
def test_timestamp_without_zone_is_rejected(stamp: str) -> None:
    error = _rejected(factories.login(occurred_at=stamp))
    assert "occurred_at" in _locations(error)
    assert any(item["type"] == "timezone_aware" for item in error.errors())


def test_naive_datetime_object_is_rejected() -> None:
    document = factories.login()
    document["occurred_at"] = datetime(2026, 11, 20, 9, 15)  # noqa: DTZ001 - the point of the test
    assert "occurred_at" in _locations(_rejected(document))


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "inf", float("nan")])
def test_nan_and_infinity_amounts_are_rejected(value: object) -> None:
    assert "amount" in _locations(_rejected(factories.withdrawal(amount=value)))


@pytest.mark.parametrize("value", ["NaN", "Infinity", float("inf")])
def test_nan_and_infinity_prices_are_rejected(value: object) -> None:
    assert "limit_price" in _locations(_rejected(factories.order(limit_price=value)))
    document = dict(EXAMPLES[EventType.PRICE][0], last=value)
    assert "last" in _locations(_rejected(document))


@pytest.mark.parametrize("quantity", [0, -1, -100])
def test_zero_or_negative_quantity_is_rejected(quantity: int) -> None:
    assert "quantity" in _locations(_rejected(factories.order(quantity=quantity)))


@pytest.mark.parametrize("amount", ["0", "-1", "-0.000001", 0, -5000])
def test_zero_or_negative_amount_is_rejected(amount: object) -> None:
    assert "amount" in _locations(_rejected(factories.withdrawal(amount=amount)))


@pytest.mark.parametrize("price", ["-2500", "-0.5"])
def test_negative_limit_price_is_rejected(price: str) -> None:
    assert "limit_price" in _locations(_rejected(factories.order(limit_price=price)))


def test_zero_prices_are_accepted_so_the_rules_can_give_a_reason() -> None:
    # Recorded with order:price:zero / reference:price:zero rather than refused unseen.
    order = EVENT_ADAPTER.validate_python(factories.order(limit_price="0"))
    assert isinstance(order, Order)
    assert order.limit_price == Decimal(0)
    price = EVENT_ADAPTER.validate_python(dict(EXAMPLES[EventType.PRICE][0], last="0"))
    assert isinstance(price, Price)
    assert price.last == Decimal(0)


@pytest.mark.parametrize("kind", list(EventType), ids=str)
def test_unknown_field_is_rejected(kind: EventType) -> None:
    document = dict(EXAMPLES[kind][0], risk_hint="trust me")
    error = _rejected(document)
    assert "risk_hint" in _locations(error)
    assert any(item["type"] == "extra_forbidden" for item in error.errors())


@pytest.mark.parametrize("kind", ["login", "transfer", "ORDER", ""])
def test_unknown_type_is_rejected(kind: str) -> None:
    document = dict(factories.login(), type=kind)
    error = _rejected(document)
    assert any(item["type"] == "union_tag_invalid" for item in error.errors())


def test_missing_type_is_rejected() -> None:
    document = factories.login()
    del document["type"]
    assert any(item["type"] == "union_tag_not_found" for item in _rejected(document).errors())


def test_limit_order_without_limit_price_is_rejected() -> None:
    document = factories.order(order_type="limit")
    del document["limit_price"]
    assert "limit_price is required" in str(_rejected(document))


def test_market_order_with_limit_price_is_rejected() -> None:
    document = factories.order(order_type="market", limit_price="2500")
    assert "limit_price must be omitted" in str(_rejected(document))


def test_market_order_without_limit_price_is_accepted() -> None:
    document = factories.order(order_type="market")
    del document["limit_price"]
    event = factories.typed(document)
    assert isinstance(event, Order)
    assert event.limit_price is None


def test_login_attempt_needs_customer_id_or_attempted_username() -> None:
    error = _rejected(factories.login(customer=None))
    assert "needs customer_id or attempted_username" in str(error)

    by_username = factories.typed(factories.login(customer=None, attempted_username="taro@x.jp"))
    assert isinstance(by_username, LoginAttempt)
    assert by_username.customer_id is None
    assert by_username.attempted_username == "taro@x.jp"


def test_customer_events_require_customer_id() -> None:
    for build in (factories.order, factories.withdrawal, factories.payout_change, factories.lock):
        document = build()
        del document["customer_id"]
        assert "customer_id" in _locations(_rejected(document))


@pytest.mark.parametrize("bank_code", ["123", "12345", "abcd", "０００１", "12a4", ""])
def test_bad_bank_code_is_rejected(bank_code: str) -> None:
    assert "bank_code" in _locations(_rejected(factories.payout_change(bank_code=bank_code)))


@pytest.mark.parametrize(
    ("field", "value"), [("branch_code", "12"), ("account_number", "123456"), ("account_type", "x")]
)
def test_other_bad_bank_details_are_rejected(field: str, value: str) -> None:
    document = factories.payout_change()
    document[field] = value
    assert field in _locations(_rejected(document))


def test_symbol_and_market_are_upper_cased() -> None:
    event = factories.typed(factories.order(symbol="brk.b", market="nyse", currency="usd"))
    assert isinstance(event, Order)
    assert (event.symbol, event.market, event.currency) == ("BRK.B", "NYSE", "USD")

    document = dict(EXAMPLES[EventType.PRICE][0], symbol="9984t", market="tse")
    price = EVENT_ADAPTER.validate_python(document)
    assert isinstance(price, Price)
    assert (price.symbol, price.market) == ("9984T", "TSE")


@pytest.mark.parametrize("symbol", ["", "-7203", "72 03", "A" * 17])
def test_malformed_symbol_is_rejected(symbol: str) -> None:
    assert "symbol" in _locations(_rejected(factories.order(symbol=symbol)))


def test_unparseable_ip_is_accepted_by_the_schema() -> None:
    event = factories.typed(factories.login(ip="not-an-ip"))
    assert event.ip == "not-an-ip"


def test_offset_timestamps_keep_the_instant() -> None:
    utc = factories.typed(factories.login(occurred_at="2026-11-20T00:00:00Z"))
    jst = factories.typed(factories.login(occurred_at="2026-11-20T09:00:00+09:00"))
    assert utc.occurred_at == jst.occurred_at
    assert jst.occurred_at.astimezone(JST).hour == 9


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+09:00", "9999-12-31T12:00:00-12:00"])
def test_a_time_outside_1970_to_2199_is_refused_by_name(when: str) -> None:
    with pytest.raises(ValidationError, match="occurred_at"):
        factories.typed(factories.login() | {"occurred_at": when})


def test_an_empty_ip_is_absent() -> None:
    # Was kept as "": the same event sent without an ip and with "ip": "" had two digests,
    # and the second copy got 409 although the docs say an empty ip is treated as absent.
    without = factories.login(ip=None)
    assert factories.typed(without | {"ip": ""}) == factories.typed(without)
    assert EVENT_ADAPTER.validate_json(orjson.dumps(without | {"ip": ""})).ip is None
    assert factories.typed(factories.login(ip=" ")).ip == " "  # not empty: scored, not dropped


def test_money_from_a_json_number_keeps_every_digit() -> None:
    # A JsonNumber is how the exact parser at the edges reads a number with a fraction.
    order = factories.order(limit_price=JsonNumber("12345678901234.123456"))
    event = EVENT_ADAPTER.validate_python(order)
    assert isinstance(event, Order)
    assert event.limit_price == Decimal("12345678901234.123456")
    assert float(JsonNumber("2950.5")) == 2950.5  # any other field reads it as a float
    timed = EVENT_ADAPTER.validate_python(factories.login(occurred_at=JsonNumber("1.7636e9")))
    assert timed.occurred_at == datetime.fromtimestamp(1.7636e9, UTC)


def test_money_rounded_by_a_json_parser_is_refused_never_taken() -> None:
    # Was Decimal('12345678901234.123'): pydantic reads a JSON number as a double. Read from
    # JSON, such money is refused (kabuguard.parsing then reads the body again, exactly).
    body = orjson.dumps(factories.order()).replace(b'"2500"', b"12345678901234.123456")
    with pytest.raises(ValidationError) as caught:
        EVENT_ADAPTER.validate_json(body)
    [issue] = caught.value.errors()
    assert (issue["type"], issue["loc"]) == (INEXACT_MONEY, ("order", "limit_price"))
    rounded = factories.order(limit_price=12345678901234.123456)  # as orjson returns it
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python(rounded, context={ROUNDED_FLOATS: True})
    # A float from Python code is the caller's own choice, taken as before.
    chosen = EVENT_ADAPTER.validate_python(factories.order(limit_price=2950.5))
    assert isinstance(chosen, Order)
    assert chosen.limit_price == Decimal("2950.5")
    # Integers are exact in every parser: no reading again.
    body = orjson.dumps(factories.order()).replace(b'"2500"', b"2500")
    whole = EVENT_ADAPTER.validate_json(body)
    assert isinstance(whole, Order)
    assert whole.limit_price == Decimal(2500)

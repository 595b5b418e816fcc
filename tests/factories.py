"""Builders of canonical events (as JSON-ready dicts) for tests; unique ids by default."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from kabuguard.risk.events import EVENT_ADAPTER, Event

_ids = itertools.count(1)
BASE_TIME = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def at(minutes: float = 0) -> str:
    return (BASE_TIME + timedelta(minutes=minutes)).isoformat()


def _common(kind: str, customer: str | None, minutes: float, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "event_id": fields.pop("event_id", f"evt-{next(_ids)}"),
        "occurred_at": fields.pop("occurred_at", at(minutes)),
        "channel": "web",
        "ip": "198.51.100.7",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "device_id": "dev-1",
        "session_id": "sess-1",
    }
    if customer is not None:
        event["customer_id"] = customer
    event.update(fields)
    return {key: value for key, value in event.items() if value is not None}


def login(customer: str | None = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    fields.setdefault("step", "password")
    fields.setdefault("result", "success")
    return _common("login_attempt", customer, minutes, **fields)


def order(
    customer: str = "c-1", minutes: float = 0, side: str = "buy", **fields: Any
) -> dict[str, Any]:
    defaults = {
        "order_id": f"ord-{next(_ids)}",
        "side": side,
        "symbol": "7203",
        "market": "TSE",
        "quantity": 100,
        "order_type": "limit",
        "limit_price": "2500",
    }
    return _common("order", customer, minutes, **(defaults | fields))


def withdrawal(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    defaults = {"withdrawal_id": f"wd-{next(_ids)}", "amount": "100000", "destination_id": "dst-1"}
    return _common("withdrawal", customer, minutes, **(defaults | fields))


def payout_change(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    defaults = {
        "destination_id": "dst-2",
        "bank_code": "0001",
        "branch_code": "123",
        "account_type": "ordinary",
        "account_number": "1234567",
        "holder_name_kana": "ヤマダ タロウ",
    }
    return _common("payout_change", customer, minutes, **(defaults | fields))


def instrument(minutes: float = -60, **fields: Any) -> dict[str, Any]:
    """Reference data for 7203 on TSE (the order factory's default symbol)."""
    body = {"symbol": "7203", "market": "TSE", "lot_size": 100, "listed_shares": 10**10}
    body |= {"average_daily_volume": 2 * 10**7, "currency": "JPY"}
    return _common("instrument", None, minutes, **(body | fields))


def lock(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return _common("customer_lock", customer, minutes, **({"initiated_by": "customer"} | fields))


def unlock(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return _common("customer_unlock", customer, minutes, **({"initiated_by": "staff"} | fields))


def typed(document: dict[str, Any]) -> Event:
    """The validated event model for a builder's dict."""
    return EVENT_ADAPTER.validate_python(document)

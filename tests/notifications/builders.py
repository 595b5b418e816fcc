"""Events the shared factories do not build yet, in the same style."""

from __future__ import annotations

import itertools
from typing import Any

from tests import factories as f

_ids = itertools.count(1)


def event(kind: str, customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": kind,
        "event_id": fields.pop("event_id", f"n-{next(_ids)}"),
        "occurred_at": f.at(minutes),
        "customer_id": customer,
        "channel": "web",
        "ip": "126.0.0.1",
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "device_id": "dev-1",
        "session_id": "sess-1",
    }
    return document | fields


def contact_change(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return event("contact_change", customer, minutes, **({"contact": "email"} | fields))


def credential_change(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    defaults = {"credential": "passkey", "action": "added"}
    return event("credential_change", customer, minutes, **(defaults | fields))


def execution(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    defaults = {
        "order_id": "o-1",
        "side": "sell",
        "symbol": "7203",
        "market": "TSE",
        "quantity": 100,
        "price": "2950.5",
    }
    return event("execution", customer, minutes, **(defaults | fields))


def cancellation(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return event("cancellation", customer, minutes, **({"order_id": "o-1"} | fields))

"""A deterministic mix of canonical events for the benchmarks (not the detection simulator)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

BASE = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
)
_SYMBOLS = ("7203", "6758", "9984", "8306", "2345", "3350", "AAPL", "0700")


def events(count: int, *, seed: int = 7, prefix: str = "bench") -> Iterator[dict[str, Any]]:
    """`count` events over a few hundred customers, in time order, with unique ids."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    for index in range(count):
        yield event(index, rng, prefix)


def event(index: int, rng: random.Random, prefix: str) -> dict[str, Any]:
    customer = f"cust-{rng.randrange(5_000)}"
    common: dict[str, Any] = {
        "event_id": f"{prefix}-{index}",
        "occurred_at": (BASE + timedelta(milliseconds=index * 50)).isoformat(),
        "customer_id": customer,
        "session_id": f"s-{customer}",
        "channel": "web",
        "ip": f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "user_agent": rng.choice(_USER_AGENTS),
        "device_id": f"d-{customer}",
    }
    roll = rng.random()
    if roll < 0.55:
        result = "success" if rng.random() < 0.9 else "failure"
        return common | {"type": "login_attempt", "step": "password", "result": result}
    if roll < 0.80:
        return common | {
            "type": "order",
            "order_id": f"o-{index}",
            "side": rng.choice(("buy", "sell")),
            "symbol": rng.choice(_SYMBOLS),
            "market": "TSE",
            "quantity": rng.choice((100, 200, 500, 1000)),
            "order_type": "limit",
            "limit_price": f"{rng.randrange(100, 5000)}",
        }
    if roll < 0.88:
        return common | {
            "type": "withdrawal",
            "withdrawal_id": f"w-{index}",
            "amount": f"{rng.randrange(10_000, 2_000_000)}",
            "destination_id": "dst-1",
        }
    if roll < 0.90:
        return common | {
            "type": "payout_change",
            "destination_id": f"dst-{index}",
            "bank_code": "0001",
            "branch_code": "123",
            "account_type": "ordinary",
            "account_number": f"{rng.randrange(10**7):07d}",
            "holder_name_kana": "ヤマダ タロウ",
        }
    if roll < 0.91:
        kind = rng.choice(("customer_lock", "customer_unlock"))
        return common | {"type": kind, "initiated_by": "customer"}
    if roll < 0.93:
        return common | {"type": "logout"}
    symbol = rng.choice(_SYMBOLS)
    return {
        "type": "price",
        "event_id": common["event_id"],
        "occurred_at": common["occurred_at"],
        "symbol": symbol,
        "market": "TSE",
        "last": f"{rng.randrange(100, 5000)}",
    }

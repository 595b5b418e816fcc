"""In-process order decisions: the order guard's share of `make bench` (target p99 <= 2 ms).

Times fetching signals, judging and recording each order against `MemoryState` (what a SQL
batch decides against after its preload), with reference data, prices, sessions and a few
thousand customers' trading already in state, as in a trading day.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from kabuguard.risk.engine import decide
from kabuguard.risk.events import EVENT_ADAPTER, Event
from kabuguard.risk.policy import Policy
from kabuguard.scoreboard.metrics import percentile
from kabuguard.state.guard import GuardMemory
from kabuguard.state.memory import MemoryState

START = datetime(2025, 4, 7, 0, 5, tzinfo=UTC)  # 09:05 JST


def measure_order_decisions(
    orders: int = 5000, customers: int = 2000, seed: int = 6
) -> dict[str, Any]:
    policy = Policy.default()
    state = MemoryState(guard=GuardMemory(policy))
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    symbols = [f"{1000 + i}" for i in range(200)]
    for event in _reference(symbols):
        state.record(event, decide(event, state.signals_for(event), policy).live)
    for index in range(customers):
        event = _login(index)
        state.record(event, decide(event, state.signals_for(event), policy).live)
    timings = []
    for index in range(orders):
        event = _order(index, rng.randrange(customers), rng.choice(symbols), rng)
        began = time.perf_counter_ns()
        signals = state.signals_for(event)
        decision = decide(event, signals, policy)
        state.record(event, decision.live)
        timings.append((time.perf_counter_ns() - began) / 1e6)
    return {
        "orders": orders,
        "p50_ms": round(percentile(timings, 50) or 0.0, 4),
        "p99_ms": round(percentile(timings, 99) or 0.0, 4),
        "target_p99_ms": 2.0,
    }


def _reference(symbols: list[str]) -> list[Event]:
    found: list[Event] = []
    for index, symbol in enumerate(symbols):
        body = {"type": "instrument", "event_id": f"i{index}", "occurred_at": START.isoformat(),
                "symbol": symbol, "market": "TSE", "lot_size": 100, "listed_shares": 10**8,
                "average_daily_volume": 10**5 * (1 + index % 50)}  # fmt: skip
        found.append(EVENT_ADAPTER.validate_python(body))
        price = {"type": "price", "event_id": f"p{index}", "occurred_at": START.isoformat(),
                 "symbol": symbol, "market": "TSE", "last": 100 + index * 10,
                 "previous_close": 100 + index * 10}  # fmt: skip
        found.append(EVENT_ADAPTER.validate_python(price))
    return found


def _login(index: int) -> Event:
    body = {"type": "login_attempt", "event_id": f"l{index}", "occurred_at": START.isoformat(),
            "customer_id": f"c{index}", "session_id": f"s{index}", "step": "password",
            "result": "success", "ip": f"203.0.113.{index % 250 + 1}",
            "device_id": f"d{index}"}  # fmt: skip
    return EVENT_ADAPTER.validate_python(body)


def _order(index: int, customer: int, symbol: str, rng: random.Random) -> Event:
    price = 100 + int(symbol) % 1000 * 10
    body = {"type": "order", "event_id": f"o{index}",
            "occurred_at": (START + timedelta(seconds=index)).isoformat(),
            "customer_id": f"c{customer}", "session_id": f"s{customer}",
            "ip": f"203.0.113.{customer % 250 + 1}", "device_id": f"d{customer}",
            "order_id": f"o{index}", "side": rng.choice(("buy", "sell")), "symbol": symbol,
            "market": "TSE", "quantity": 100 * rng.randint(1, 20), "order_type": "limit",
            "limit_price": str(price)}  # fmt: skip
    return EVENT_ADAPTER.validate_python(body)

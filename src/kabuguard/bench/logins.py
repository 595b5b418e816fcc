"""Bench hook: the in-process login decision (enrichment, state, engine, record), timed.

A small simulated month (the default preset) is written to a temporary directory and replayed
through `MemoryState`; each password or passkey step is timed from fetching its signals to
recording its verdict, which is the work the server does per login inside a group. Timings
include cache misses: the first sight of an address or user agent is part of the sample; the
lookup data is loaded before timing starts, as the server does at startup.

After loading, the long-lived objects (lookup tables, regexes) are moved out of the garbage
collector's reach with `gc.freeze()`, as a server should do after startup: otherwise every
full collection walks them and shows up as a multi-millisecond pause in the tail.

Two clocks: wall time, which on a shared machine includes time the process spent descheduled,
and the thread's CPU time, the decision's own cost. Both are reported.
"""

from __future__ import annotations

import gc
import tempfile
import time
from pathlib import Path
from typing import Any

from kabuguard.enrich.enricher import default_enricher
from kabuguard.parsing import parse_event
from kabuguard.risk.engine import decide
from kabuguard.risk.events import LoginAttempt, LoginStep
from kabuguard.risk.policy import Policy
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.run import EVENTS_FILE, RunOptions, simulate
from kabuguard.state.memory import MemoryState

_STEPS = frozenset({LoginStep.PASSWORD, LoginStep.PASSKEY})


def measure_login_decisions(customers: int = 3000, days: int = 14, seed: int = 5) -> dict[str, Any]:
    """p50/p99/max of one login decision in milliseconds, and how many were timed."""
    with tempfile.TemporaryDirectory(prefix="kabuguard-login-bench-") as directory:
        out = Path(directory)
        simulate(RunOptions(customers, days, seed, PRESETS["2025-04"], out))
        wall, cpu = _replay(out / EVENTS_FILE, Policy.default())
    return {
        "logins": len(wall),
        "customers": customers,
        "days": days,
        **_quantiles("wall", wall),
        **_quantiles("cpu", cpu),
    }


def _replay(path: Path, policy: Policy) -> tuple[list[int], list[int]]:
    default_enricher().software("warm-up")  # loads the lookup data, as the server does at start
    gc.freeze()
    state = MemoryState()
    wall: list[int] = []
    cpu: list[int] = []
    with path.open("rb") as lines:
        for line in lines:
            event = parse_event(line)
            began, began_cpu = time.perf_counter_ns(), time.thread_time_ns()
            decision = decide(event, state.signals_for(event), policy)
            state.record(event, decision.live)
            if isinstance(event, LoginAttempt) and event.step in _STEPS:
                wall.append(time.perf_counter_ns() - began)
                cpu.append(time.thread_time_ns() - began_cpu)
    gc.unfreeze()
    return wall, cpu


def _quantiles(clock: str, nanoseconds: list[int]) -> dict[str, float | None]:
    ordered = sorted(nanoseconds)

    def at(q: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6, 4)

    return {f"{clock}_p50_ms": at(0.50), f"{clock}_p99_ms": at(0.99), f"{clock}_max_ms": at(1.0)}

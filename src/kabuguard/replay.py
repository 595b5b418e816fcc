"""Replay: stream historic events through the engine with in-process state (a backtest).

Reads one event per line and writes one decision per line, so memory stays flat however long
the file; a bad line is reported with its number and skipped, never fatal. Nothing is written
to the database or the audit log: replay answers "what would this policy have done?".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from kabuguard.decisions.records import decision_document, in_force
from kabuguard.parsing import ApiError, parse_event
from kabuguard.risk.engine import decide
from kabuguard.risk.policy import Policy
from kabuguard.state.guard import GuardMemory
from kabuguard.state.memory import MemoryState


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    message: str


@dataclass
class ReplaySummary:
    events: int = 0
    bad_lines: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    shadow_outcomes: Counter[str] = field(default_factory=Counter)
    changed: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


def replay(
    lines: Iterable[bytes],
    out: BinaryIO,
    live: Policy,
    shadow: Policy | None = None,
    *,
    on_bad_line: Callable[[BadLine], None] = lambda _line: None,
    on_progress: Callable[[int], None] = lambda _bytes: None,
) -> ReplaySummary:
    state = MemoryState(guard=GuardMemory(live), keep_changes=False)
    summary = ReplaySummary()
    for number, line in enumerate(lines, start=1):
        on_progress(len(line))
        if not line.strip():
            continue
        try:
            event = parse_event(line)
        except ApiError as error:
            summary.bad_lines += 1
            on_bad_line(BadLine(number, error.message))
            continue
        signals = state.signals_for(event)
        decision = decide(event, signals, live, shadow)
        state.record(event, decision.live)
        restrictions = in_force(signals.restrictions, decision.live.restrictions, event.occurred_at)
        document = decision_document(decision, restrictions, event.occurred_at)
        out.write(orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))
        _count(summary, decision.live.outcome.value, document)
    return summary


def _count(summary: ReplaySummary, outcome: str, document: dict[str, object]) -> None:
    summary.events += 1
    summary.outcomes[outcome] += 1
    reasons = document["reasons"]
    assert isinstance(reasons, list)
    summary.reasons.update(reason["code"] for reason in reasons)
    shadow = document["shadow"]
    if isinstance(shadow, dict):
        summary.shadow_outcomes[shadow["outcome"]] += 1
        if shadow["outcome"] != outcome:
            summary.changed[(outcome, shadow["outcome"])] += 1

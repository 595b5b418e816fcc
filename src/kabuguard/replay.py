"""Replay: stream historic events through the engine with in-process state (a backtest).

Reads one event per line and writes one decision per line, so memory stays flat however long
the file; a bad line is reported with its number and skipped, never fatal. A line longer than
`MAX_LINE_BYTES` (a whole file on one line, say) is skipped unread. Nothing is written to the
database or the audit log: replay answers "what would this policy have done?".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Final

import orjson

from kabuguard.decisions.records import decision_document, in_force
from kabuguard.parsing import ApiError, parse_event
from kabuguard.risk.engine import decide
from kabuguard.risk.policy import Policy
from kabuguard.state.guard import GuardMemory
from kabuguard.state.memory import MemoryState

# Far above any event the API takes (KABUGUARD_MAX_EVENT_BYTES, 64 KiB by default), yet a
# bound: reading a 45 MB file written on one line took 830 MB.
MAX_LINE_BYTES: Final = 4 << 20
_SKIP_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    message: str


@dataclass(frozen=True, slots=True)
class LongLine:
    """A line longer than the limit, skipped without being held in memory."""

    size: int  # bytes, its line break included
    limit: int


def lines_of(source: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes | LongLine]:
    """The lines of `source`, each at most `limit` bytes besides its line break; a longer one
    comes as a `LongLine`, read past in chunks of bounded size."""
    while line := source.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while (chunk := source.readline(_SKIP_CHUNK)) and not chunk.endswith(b"\n"):
            size += len(chunk)
        yield LongLine(size + len(chunk), limit)


@dataclass
class ReplaySummary:
    events: int = 0
    bad_lines: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    shadow_outcomes: Counter[str] = field(default_factory=Counter)
    changed: Counter[tuple[str, str]] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


def replay(
    lines: Iterable[bytes | LongLine],
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
        if isinstance(line, LongLine):
            on_progress(line.size)
            summary.bad_lines += 1
            on_bad_line(BadLine(number, f"longer than {line.limit} bytes; skipped"))
            continue
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

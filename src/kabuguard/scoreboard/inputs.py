"""Streaming the events, labels and decisions files together, refusing files that do not match.

The three files are read in lock-step, one line at a time, so memory stays flat. Labels pair
with events line by line. Decisions pair with the events `kabuguard replay` could parse: replay
writes no decision for an event line that fails the schema, so such a line is skipped here too
(and reported); any other gap or difference in event ids means the files do not belong together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from kabuguard.parsing import ApiError, parse_event
from kabuguard.risk.codes import FactorClass, Outcome
from kabuguard.risk.events import Event
from kabuguard.scoreboard.labels import Label, LabelError, parse_label
from kabuguard.scoreboard.outcomes import Ruling

_KEPT_SKIP_MESSAGES = 20
_OUTCOMES = tuple(outcome.value for outcome in Outcome)
_FACTORS = tuple(factor.value for factor in FactorClass)


class InputError(Exception):
    """The inputs cannot be scored. The message names the file and the line."""


@dataclass(frozen=True, slots=True)
class InputPaths:
    events: Path
    labels: Path
    decisions: Path


@dataclass(frozen=True, slots=True)
class Row:
    """One event with its ground truth and kabuguard's ruling on it."""

    event: Event
    label: Label
    ruling: Ruling
    label_line: int


@dataclass(frozen=True, slots=True)
class SkippedLine:
    number: int
    message: str


@dataclass
class InputStats:
    events: int = 0
    skipped_events: int = 0
    skipped_examples: list[SkippedLine] = field(default_factory=list)
    out_of_order: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    policy_versions: set[str] = field(default_factory=set)

    def skipped(self, line: SkippedLine) -> None:
        self.skipped_events += 1
        if len(self.skipped_examples) < _KEPT_SKIP_MESSAGES:
            self.skipped_examples.append(line)

    def scored(self, at: datetime) -> None:
        self.events += 1
        if self.last_at is not None and at < self.last_at:
            self.out_of_order += 1
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)


@dataclass(frozen=True, slots=True)
class _Decided:
    event_id: str
    ruling: Ruling
    policy_version: str


def read_rows(
    paths: InputPaths,
    stats: InputStats,
    *,
    on_progress: Callable[[int], None] = lambda _bytes: None,
) -> Iterator[Row]:
    """Yield every scoreable event with its label and decision, in file order."""
    check_files(paths)
    labels = _numbered(paths.labels)
    decisions = _numbered(paths.decisions)
    for number, line in _numbered(paths.events, on_progress):
        label_number, label = _next_label(labels, paths, number)
        parsed = _parse_event(line, paths.events, number)
        event_id = _loose_event_id(line) if isinstance(parsed, SkippedLine) else parsed.event_id
        if event_id is not None and event_id != label.event_id:
            raise InputError(
                f"event_id mismatch: {paths.events} line {number} is {event_id!r} but "
                f"{paths.labels} line {label_number} is {label.event_id!r}: "
                "the files do not belong together"
            )
        if isinstance(parsed, SkippedLine):
            stats.skipped(parsed)
            continue
        decided = _next_decision(decisions, paths, number, parsed.event_id)
        stats.scored(parsed.occurred_at)
        stats.policy_versions.add(decided.policy_version)
        yield Row(parsed, label, decided.ruling, label_number)
    _require_exhausted(labels, paths.labels, "has more lines than", paths.events)
    _require_exhausted(decisions, paths.decisions, "has more decisions than", paths.events)


def check_files(paths: InputPaths) -> None:
    for role, path in (
        ("events", paths.events),
        ("labels", paths.labels),
        ("decisions", paths.decisions),
    ):
        if not path.is_file():
            raise InputError(f"{role} file not found: {path}")


def _numbered(
    path: Path, on_progress: Callable[[int], None] = lambda _bytes: None
) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines with their 1-based numbers (replay skips blank lines too)."""
    with path.open("rb") as source:
        for number, line in enumerate(source, start=1):
            on_progress(len(line))
            if line.strip():
                yield number, line


def _decode(line: bytes, path: Path, number: int) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise InputError(f"{path} line {number}: not valid JSON ({error})") from None


def _next_label(
    labels: Iterator[tuple[int, bytes]], paths: InputPaths, event_line: int
) -> tuple[int, Label]:
    try:
        number, line = next(labels)
    except StopIteration:
        raise InputError(
            f"{paths.labels} has fewer lines than {paths.events}: {paths.events} line "
            f"{event_line} has no label; the files do not belong together"
        ) from None
    try:
        return number, parse_label(_decode(line, paths.labels, number))
    except LabelError as error:
        raise InputError(f"{paths.labels} line {number}: {error}") from None


def _parse_event(line: bytes, path: Path, number: int) -> Event | SkippedLine:
    """The event, or the reason `kabuguard replay` would have skipped the line.

    Not JSON at all is fatal: the file is broken, not one event in it.
    """
    try:
        return parse_event(line)
    except ApiError as error:
        if error.code == "malformed_json":
            raise InputError(f"{path} line {number}: {error.message}") from None
        return SkippedLine(number, error.message)


def _loose_event_id(line: bytes) -> str | None:
    """The id of a line that is JSON but no valid event, so its label can still be checked."""
    document = orjson.loads(line)
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return event_id if isinstance(event_id, str) else None


def _next_decision(
    decisions: Iterator[tuple[int, bytes]], paths: InputPaths, event_line: int, event_id: str
) -> _Decided:
    try:
        number, line = next(decisions)
    except StopIteration:
        raise InputError(
            f"{paths.decisions} has fewer decisions than {paths.events}: {paths.events} line "
            f"{event_line} ({event_id!r}) has no decision; were the decisions made from "
            "these events?"
        ) from None
    decided = _decision(_decode(line, paths.decisions, number), paths.decisions, number)
    if decided.event_id != event_id:
        raise InputError(
            f"event_id mismatch: {paths.events} line {event_line} is {event_id!r} but "
            f"{paths.decisions} line {number} is {decided.event_id!r}: the decisions were not "
            "made from these events"
        )
    return decided


def _decision(document: Any, path: Path, number: int) -> _Decided:
    def bad(problem: str) -> InputError:
        return InputError(f"{path} line {number}: {problem}")

    if not isinstance(document, dict):
        raise bad("expected a JSON object (a decision written by kabuguard replay)")
    event_id, version = document.get("event_id"), document.get("policy_version")
    if not isinstance(event_id, str) or not isinstance(version, str):
        raise bad("a decision needs string event_id and policy_version")
    outcome, factor = document.get("outcome"), document.get("required_factor")
    if outcome not in _OUTCOMES:
        raise bad(f"outcome {outcome!r} is not one of {', '.join(_OUTCOMES)}")
    if factor is not None and factor not in _FACTORS:
        raise bad(f"required_factor {factor!r} is not null or one of {', '.join(_FACTORS)}")
    reasons = document.get("reasons")
    codes = frozenset(
        r["code"] for r in reasons or () if isinstance(r, dict) and isinstance(r.get("code"), str)
    )
    ruling = Ruling(Outcome(outcome), None if factor is None else FactorClass(factor), codes)
    return _Decided(event_id, ruling, version)


def _require_exhausted(
    lines: Iterator[tuple[int, bytes]], path: Path, relation: str, events: Path
) -> None:
    extra = next(lines, None)
    if extra is not None:
        raise InputError(
            f"{path} {relation} {events}: line {extra[0]} has no event to match; "
            "the files do not belong together"
        )

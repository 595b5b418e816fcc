"""Tiny hand-written inputs for the scoreboard: events with their labels and decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from kabuguard.scoreboard.inputs import InputPaths
from kabuguard.scoreboard.report import Figures, build_report
from kabuguard.scoreboard.scoring import Scoreboard, ScoreOptions, score
from tests import factories as f
from tests.factories import BASE_TIME

POLICY = "test-1"
JP_IP = "133.205.1.1"  # BIGLOBE, JP
FOREIGN_IP = "8.8.8.8"  # Google, US
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def execution(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    defaults = {
        "order_id": "ord-x",
        "side": "buy",
        "symbol": "2345",
        "market": "TSE",
        "quantity": 100,
        "price": "110",
    }
    return _report("execution", customer, minutes, defaults | fields)


def contact_change(customer: str = "c-1", minutes: float = 0, **fields: Any) -> dict[str, Any]:
    return _report("contact_change", customer, minutes, {"contact": "email"} | fields)


def _report(kind: str, customer: str, minutes: float, fields: dict[str, Any]) -> dict[str, Any]:
    event = {"type": kind, "event_id": fields.pop("event_id", None) or _next_id()}
    event |= {"occurred_at": f.at(minutes), "customer_id": customer}
    return event | fields


_counter = iter(range(1, 1_000_000))


def _next_id() -> str:
    return f"sb-{next(_counter)}"


def attacker(campaign: str, attack_id: str | None, **label: Any) -> dict[str, Any]:
    """Label fields of an attacker event (merge into Story.add's keyword arguments)."""
    defaults: dict[str, Any] = {"attacker_has": ["password"]}
    return {"actor": "attacker", "campaign": campaign, "attack_id": attack_id} | defaults | label


@dataclass
class Story:
    """Events in time order, each with its ground truth and kabuguard's decision."""

    events: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        event: dict[str, Any],
        outcome: str = "allow",
        factor: str | None = None,
        **label: Any,
    ) -> dict[str, Any]:
        label.setdefault("actor", "customer")
        self.events.append(event)
        self.labels.append({"event_id": event["event_id"], **label})
        self.decisions.append(decision(event["event_id"], outcome, factor))
        return event

    def write(self, directory: Path) -> InputPaths:
        paths = InputPaths(
            directory / "events.jsonl", directory / "labels.jsonl", directory / "decisions.jsonl"
        )
        for path, documents in (
            (paths.events, self.events),
            (paths.labels, self.labels),
            (paths.decisions, self.decisions),
        ):
            write_lines(path, documents)
        return paths

    def score(self, directory: Path, options: ScoreOptions | None = None) -> Scoreboard:
        return score(self.write(directory), options)

    def report(self, directory: Path, options: ScoreOptions | None = None) -> Figures:
        return build_report(self.score(directory, options), {}, BASE_TIME)


def decision(event_id: str, outcome: str = "allow", factor: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "outcome": outcome,
        "required_factor": factor,
        "restrictions": [],
        "risk_score": 0,
        "reasons": [],
        "policy_version": POLICY,
        "shadow": None,
        "decided_at": BASE_TIME.isoformat(),
    }


def write_lines(path: Path, documents: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(d, option=orjson.OPT_APPEND_NEWLINE) for d in documents))

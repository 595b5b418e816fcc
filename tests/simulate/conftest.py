"""One shared, amplified simulation run that every campaign and legitimate behaviour appears in.

The preset is April 2025 with ten times the amplification and payout fraud added, and the
episode rates are raised, so that a run small enough for CI (2,000 customers, 8 days) still
contains each campaign and each legit_tag several times.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from kabuguard.labels import Campaign
from kabuguard.simulate import episodes
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.run import RunOptions, simulate

EVERYTHING = replace(
    PRESETS["2025-04"],
    name="test-everything",
    amplification=2_000.0,
    other_mix={Campaign.STUFFING: 0.45, Campaign.DORMANT_EMAIL: 0.35, Campaign.PAYOUT: 0.2},
)
FREQUENT_EPISODES = {
    "TRIP_PER_DAY": 0.02,
    "NEW_PHONE_PER_DAY": 0.02,
    "BANK_MOVE_PER_DAY": 0.01,
    "HOUSE_SALE_PER_DAY": 0.01,
}


@dataclass(frozen=True)
class Run:
    directory: Path
    lines: list[bytes]
    events: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    manifest: dict[str, Any]

    def pairs(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        return zip(self.events, self.labels, strict=True)

    def attacks(self) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
        """Each hijack's events with their labels, in file order."""
        found: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for event, label in self.pairs():
            if label["attack_id"]:
                found.setdefault(label["attack_id"], []).append((event, label))
        return found


def read_run(directory: Path) -> Run:
    lines = (directory / "events.jsonl").read_bytes().splitlines()
    labels = [orjson.loads(line) for line in (directory / "labels.jsonl").read_bytes().splitlines()]
    return Run(
        directory,
        lines,
        [orjson.loads(line) for line in lines],
        labels,
        orjson.loads((directory / "manifest.json").read_bytes()),
    )


@pytest.fixture(scope="session")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("everything")
    with pytest.MonkeyPatch.context() as patch:
        for name, rate in FREQUENT_EPISODES.items():
            patch.setattr(episodes, name, rate)
        simulate(RunOptions(2_000, 8, 7, EVERYTHING, directory))
    return read_run(directory)

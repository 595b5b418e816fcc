"""manifest.json: what was simulated, how it was scaled, and what the files contain.

Counts are read back from the labels actually written (the stream tallies each distinct label
body), so the manifest cannot disagree with labels.jsonl. It holds no timings, so it is as
deterministic as the event files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import orjson

from kabuguard import __version__
from kabuguard.labels import Campaign, LegitTag
from kabuguard.simulate import SIMULATOR_VERSION
from kabuguard.simulate.campaigns.scene import Ledger
from kabuguard.simulate.campaigns.schedule import Schedule
from kabuguard.simulate.clock import Calendar
from kabuguard.simulate.population import LoginFactor
from kabuguard.simulate.presets import BACKGROUND_STUFFING_PER_20K
from kabuguard.simulate.stream import EventStream

if TYPE_CHECKING:  # run imports this module
    from kabuguard.simulate.run import RunOptions

SCALING = (
    "hijacks per campaign = FSA unauthorised accesses in the month x campaign share"
    " x customers / base_accounts x amplification x days / 30"
)


@dataclass
class _Tally:
    events: int = 0
    goals: int = 0
    loss_yen: int = 0
    attack_ids: set[str] = field(default_factory=set)


def build_manifest(
    options: RunOptions, calendar: Calendar, schedule: Schedule, ledger: Ledger, stream: EventStream
) -> dict[str, object]:
    actors: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    tallies = {campaign.value: _Tally() for campaign in Campaign}
    for body, count in stream.label_counts.items():
        label = orjson.loads("{" + body)
        actors[label["actor"]] += count
        if label["legit_tag"]:
            tags[label["legit_tag"]] += count
        if label["campaign"]:
            tally = tallies[label["campaign"]]
            tally.events += count
            tally.goals += count if label["goal"] else 0
            tally.loss_yen += label["loss_yen"] * count
            if label["attack_id"]:
                tally.attack_ids.add(label["attack_id"])
    preset = options.preset
    last_day = calendar.start + timedelta(days=calendar.days - 1)
    return {
        "simulator": {"version": SIMULATOR_VERSION, "kabuguard": __version__},
        "parameters": {
            "customers": options.customers,
            "days": options.days,
            "seed": options.seed,
            "preset": preset.name,
            "first_day": calendar.start.isoformat(),
            "last_day": last_day.isoformat(),
        },
        "preset": {
            "note": preset.note,
            "fsa_unauthorised_accesses": preset.accesses,
            "fsa_unauthorised_trades": preset.trades,
            "base_accounts": preset.base_accounts,
            "amplification": preset.amplification,
            "scaling": SCALING,
            "factor_mix": {
                factor.name.lower(): share
                for factor, share in zip(LoginFactor, preset.factor_mix, strict=True)
            },
            "background_stuffing_tries_per_20k_a_month": BACKGROUND_STUFFING_PER_20K,
        },
        "files": {"events": "events.jsonl", "labels": "labels.jsonl", "lines": stream.count},
        "events_by_actor": dict(sorted(actors.items())),
        "campaigns": {
            campaign.value: {
                "expected_hijacks": round(schedule.expected[campaign], 2),
                "hijacks": len(tallies[campaign.value].attack_ids),
                "goals": tallies[campaign.value].goals,
                "attacker_events": tallies[campaign.value].events,
                "loss_yen": tallies[campaign.value].loss_yen,
                "sold_yen": ledger.sold_yen[campaign],
                "bought_yen": ledger.bought_yen[campaign],
            }
            for campaign in Campaign
        },
        "stuffing": {
            "tries": ledger.stuffing_attempts,
            "password_successes": ledger.stuffing_password_successes,
            "success_rate": (
                round(ledger.stuffing_password_successes / ledger.stuffing_attempts, 5)
                if ledger.stuffing_attempts
                else None
            ),
        },
        "pump_waves": ledger.pump_waves,
        "legit_tag_events": {tag.value: tags[tag.value] for tag in LegitTag},
    }

"""Hijacks: their ground truth, and what each defence made of them (stop semantics).

A hijack (one `attack_id`) is stopped when a stopping event comes at or before its goal event.
Events of the hijack from the first stopping event on do not happen: their loss is prevented,
even when the stop came too late to prevent the goal itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from kabuguard.labels import Campaign
from kabuguard.risk.events import Event
from kabuguard.scoreboard.labels import Label


class HijackError(ValueError):
    """The labels break the hijack contract (one campaign and exactly one goal per attack_id)."""


@dataclass(slots=True)
class Hijack:
    """Ground truth of one hijack, the same whatever the defence."""

    campaign: Campaign
    first_at: datetime
    events: int = 0
    goal_event: int | None = None  # 1-based position of the goal among the hijack's events
    yen: int = 0  # what it costs when nothing stops it


@dataclass(slots=True)
class Stop:
    """One defence's view of one hijack: where it was first stopped and what got through."""

    event: int | None = None  # 1-based position of the first stopping event
    at: datetime | None = None
    yen_lost: int = 0

    def stopped(self, hijack: Hijack) -> bool:
        # A stop only ever falls on a customer action, never on the execution it would have
        # prevented, so "at or before the goal" is already "strictly before" an execution goal.
        goal = hijack.goal_event
        return self.event is not None and goal is not None and self.event <= goal


class GroundTruth:
    """Every hijack, the campaigns' event counts and the loss no defence can prevent."""

    def __init__(self) -> None:
        self.hijacks: dict[str, Hijack] = {}
        self.campaign_events: Counter[Campaign] = Counter()
        # Loss on attacker events outside any hijack: no stop is ever attributed to them.
        self.loose_yen: Counter[Campaign] = Counter()

    def observe(self, event: Event, label: Label) -> Hijack | None:
        """Count the event into its hijack; return the hijack, or None outside any."""
        if label.campaign is None:
            return None
        self.campaign_events[label.campaign] += 1
        if label.attack_id is None:
            self.loose_yen[label.campaign] += label.loss_yen
            return None
        hijack = self.hijacks.get(label.attack_id)
        if hijack is None:
            hijack = self.hijacks[label.attack_id] = Hijack(label.campaign, event.occurred_at)
        if hijack.campaign is not label.campaign:
            raise HijackError(
                f"attack_id {label.attack_id!r} is labelled {label.campaign}, "
                f"but earlier {hijack.campaign}"
            )
        hijack.events += 1
        hijack.yen += label.loss_yen
        if label.goal:
            if hijack.goal_event is not None:
                raise HijackError(f"attack_id {label.attack_id!r} has a second goal event")
            hijack.goal_event = hijack.events
        return hijack

    def check_complete(self) -> None:
        missing = sorted(key for key, hijack in self.hijacks.items() if hijack.goal_event is None)
        if missing:
            shown = ", ".join(repr(key) for key in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise HijackError(f"no goal event for attack_id {shown}{more}")


def hour_of(at: datetime) -> datetime:
    """The UTC hour an event falls in: loss over time is kept in hourly bins, not per event."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)

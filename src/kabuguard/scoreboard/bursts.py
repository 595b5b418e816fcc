"""Stuffing bursts: how many of a burst's attempts a defence lets by before it reacts.

The labels carry no burst id, so a burst is a run of `stuffing`-labelled password steps with
less than `BURST_GAP` between consecutive attempts; overlapping bursts count as one. A burst is
*recognised* at its first attempt that a defence answers with a challenge or worse, and
recognised in time when that is among its first `RECOGNISED_WITHIN` attempts (issue 5's target).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kabuguard.labels import Campaign
from kabuguard.risk.events import Event, LoginAttempt, LoginStep
from kabuguard.scoreboard.labels import Label
from kabuguard.scoreboard.outcomes import Ruling, challenges

BURST_GAP = timedelta(minutes=30)
RECOGNISED_WITHIN = 100


@dataclass(slots=True)
class Burst:
    started: datetime
    last: datetime
    attempts: int = 0
    recognised_at: dict[str, int] = field(default_factory=dict)  # defence → attempt number


@dataclass
class BurstTracker:
    bursts: list[Burst] = field(default_factory=list)

    def observe(self, event: Event, label: Label, rulings: dict[str, Ruling]) -> None:
        if label.campaign is not Campaign.STUFFING or not _password_step(event):
            return
        burst = self.bursts[-1] if self.bursts else None
        if burst is None or event.occurred_at - burst.last > BURST_GAP:
            burst = Burst(event.occurred_at, event.occurred_at)
            self.bursts.append(burst)
        burst.attempts += 1
        burst.last = max(burst.last, event.occurred_at)
        for defence, ruling in rulings.items():
            if defence not in burst.recognised_at and challenges(ruling):
                burst.recognised_at[defence] = burst.attempts

    def attempts_to_recognise(self, defence: str) -> list[int | None]:
        """Per burst, the attempt number at which `defence` recognised it (None: never)."""
        return [burst.recognised_at.get(defence) for burst in self.bursts]


def _password_step(event: Event) -> bool:
    return isinstance(event, LoginAttempt) and event.step is LoginStep.PASSWORD

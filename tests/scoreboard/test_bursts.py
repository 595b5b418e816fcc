"""Stuffing bursts: split by quiet gaps, recognised at the first challenge or worse."""

from __future__ import annotations

from dataclasses import replace

from kabuguard.labels import Actor, Campaign
from kabuguard.risk.codes import Outcome
from kabuguard.scoreboard.bursts import BurstTracker
from kabuguard.scoreboard.labels import Label
from kabuguard.scoreboard.outcomes import ALLOW, Ruling
from tests import factories

TRY = Label("x", Actor.ATTACKER, Campaign.STUFFING)
DENY = Ruling(Outcome.DENY)


def _try(tracker: BurstTracker, minutes: float, ruling: Ruling = ALLOW) -> None:
    event = factories.typed(
        factories.login(None, minutes, attempted_username="u", result="failure")
    )
    tracker.observe(event, TRY, {"kabuguard": ruling, "no_defence": ALLOW})


def test_gaps_split_bursts_and_the_first_stop_recognises() -> None:
    tracker = BurstTracker()
    for n in range(5):
        _try(tracker, n, DENY if n == 3 else ALLOW)
    for n in range(3):
        _try(tracker, 120 + n)
    assert [b.attempts for b in tracker.bursts] == [5, 3]
    assert tracker.attempts_to_recognise("kabuguard") == [4, None]
    assert tracker.attempts_to_recognise("no_defence") == [None, None]


def test_other_campaigns_and_steps_are_ignored() -> None:
    tracker = BurstTracker()
    relay = replace(TRY, campaign=Campaign.RELAY)
    event = factories.typed(factories.login("c-1", 0))
    tracker.observe(event, relay, {"kabuguard": DENY})
    code = factories.typed(factories.login("c-1", 0, step="second_factor", factor="sms_otp"))
    tracker.observe(code, TRY, {"kabuguard": DENY})
    assert tracker.bursts == []

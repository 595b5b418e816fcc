"""Pump buys stopped or held, and the symbol alert measured from the third hijacked buy."""

from __future__ import annotations

from kabuguard.labels import Actor, Campaign
from kabuguard.risk.codes import Outcome
from kabuguard.scoreboard.labels import Label
from kabuguard.scoreboard.outcomes import Ruling
from kabuguard.scoreboard.pump_report import pump_figures
from kabuguard.scoreboard.pumps import ALERT, PumpTracker
from tests import factories


def _label(attack: str | None) -> Label:
    return Label(event_id="x", actor=Actor.ATTACKER, campaign=Campaign.PUMP, attack_id=attack,
                 goal=False, loss_yen=0, legit_tag=None)  # fmt: skip


def test_stops_and_alert_delay() -> None:
    tracker = PumpTracker()
    for minute in (0, 4, 8, 11):
        order = factories.typed(factories.order(f"c-{minute}", minutes=minute, symbol="584P"))
        codes = frozenset({ALERT}) if minute == 11 else frozenset()
        ruling = Ruling(Outcome.HOLD if minute else Outcome.ALLOW, None, codes)
        tracker.observe(order, _label(f"pump-{minute}"), {"kabuguard": ruling},
                        {"kabuguard": minute == 0, "no_defence": True})  # fmt: skip
    assert tracker.alert_minutes() == [3.0]
    figures = pump_figures(tracker, "kabuguard")
    assert (figures["fraudulent_buys"], figures["fraudulent_buys_stopped"]) == (4, 3)
    assert (figures["alerted_in_time"], figures["pumped_symbols"]) == (1, 1)
    assert pump_figures(tracker, "no_defence")["alerted"] == 0

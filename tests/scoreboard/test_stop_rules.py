"""Stop semantics: which decisions stop a hijack, when it counts, and what loss is prevented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kabuguard.scoreboard.report import Figures
from tests import factories as f
from tests.scoreboard.builders import Story, attacker, contact_change, execution

SELL_LOSS, WITHDRAWAL_LOSS = 30_000, 500_000


def _ato(
    story: Story,
    attack_id: str = "h1",
    decisions: tuple[tuple[str, str | None], ...] = (("allow", None),) * 4,
    start: float = 0,
    **label: Any,
) -> None:
    """A hijack: login, sell order, its execution (the goal), then a withdrawal to the attacker."""
    customer = f"victim-{attack_id}"
    events: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = (
        (f.login(customer, start), {}),
        (f.order(customer, start + 5, side="sell"), {}),
        (execution(customer, start + 6, side="sell"), {"goal": True, "loss_yen": SELL_LOSS}),
        (f.withdrawal(customer, start + 15), {"loss_yen": WITHDRAWAL_LOSS}),
    )
    for (event, extra), (outcome, factor) in zip(events, decisions, strict=True):
        story.add(event, outcome, factor, **attacker("ato_naive", attack_id, **label) | extra)


def _one(report: Figures) -> Figures:
    figures: Figures = report["campaigns"]["ato_naive"]
    return figures


ALLOW = ("allow", None)


@pytest.mark.parametrize(
    ("at_login", "attacker_has", "stopped"),
    [
        (("deny", None), ["password"], True),
        (("hold", None), ["password"], True),
        (("challenge", "phishing_resistant"), ["password", "otp_relay"], True),
        (("challenge", "any_mfa"), ["password"], True),
        (("challenge", "any_mfa"), ["password", "otp_relay"], False),
        (("allow", None), ["password"], False),
    ],
)
def test_each_stop_rule_at_the_login(
    tmp_path: Path, at_login: tuple[str, str | None], attacker_has: list[str], stopped: bool
) -> None:
    story = Story()
    _ato(story, decisions=(at_login, ALLOW, ALLOW, ALLOW), attacker_has=attacker_has)
    figures = _one(story.report(tmp_path))
    assert (figures["hijacks"], figures["stopped"]) == (1, int(stopped))
    lost = 0 if stopped else SELL_LOSS + WITHDRAWAL_LOSS
    assert figures["yen_lost"] == lost
    assert figures["yen_lost_no_defence"] == SELL_LOSS + WITHDRAWAL_LOSS
    if stopped:
        assert figures["yen_loss_prevented_rate"] == 1.0
        assert (figures["events_to_detect_p50"], figures["minutes_to_detect_p50"]) == (1.0, 0.0)


def test_a_stop_on_the_order_is_strictly_before_the_execution_goal(tmp_path: Path) -> None:
    story = Story()
    _ato(story, decisions=(ALLOW, ("hold", None), ALLOW, ALLOW))
    figures = _one(story.report(tmp_path))
    assert figures["stopped"] == 1
    assert (figures["events_to_detect_p50"], figures["minutes_to_detect_p50"]) == (2.0, 5.0)
    assert figures["yen_lost"] == 0


def test_a_deny_on_the_execution_itself_stops_nothing(tmp_path: Path) -> None:
    """An execution reports a trade already done: no decision on it can prevent the goal."""
    story = Story()
    _ato(story, decisions=(ALLOW, ALLOW, ("deny", None), ALLOW))
    figures = _one(story.report(tmp_path))
    assert (figures["stopped"], figures["detected"]) == (0, 0)
    assert figures["yen_lost"] == SELL_LOSS + WITHDRAWAL_LOSS


def test_a_stop_after_the_goal_does_not_count_but_prevents_the_later_loss(tmp_path: Path) -> None:
    story = Story()
    _ato(story, decisions=(ALLOW, ALLOW, ALLOW, ("hold", None)))
    figures = _one(story.report(tmp_path))
    assert (figures["stopped"], figures["detected"]) == (0, 1)
    assert figures["stopped_rate"] == 0.0
    assert figures["yen_lost"] == SELL_LOSS
    assert figures["yen_prevented"] == WITHDRAWAL_LOSS
    assert figures["yen_loss_prevented_rate"] == pytest.approx(
        WITHDRAWAL_LOSS / (SELL_LOSS + WITHDRAWAL_LOSS), abs=1e-6
    )
    assert figures["minutes_to_detect_p50"] == 15.0


def test_an_actionable_goal_is_stopped_at_the_goal_itself(tmp_path: Path) -> None:
    """dormant_email's goal is the contact change: holding that very change stops the hijack."""
    story = Story()
    label = attacker("dormant_email", "d1")
    story.add(f.login("sleepy", 0), **label)
    story.add(contact_change("sleepy", 2), "hold", **label | {"goal": True})
    figures = story.report(tmp_path)["campaigns"]["dormant_email"]
    assert (figures["hijacks"], figures["stopped"], figures["events_to_detect_p50"]) == (1, 1, 2.0)


def test_minutes_to_detect_is_a_median_over_detected_hijacks(tmp_path: Path) -> None:
    story = Story()
    _ato(story, "h1", decisions=(ALLOW, ("deny", None), ALLOW, ALLOW))  # after 5 minutes
    _ato(story, "h2", decisions=(ALLOW, ALLOW, ALLOW, ("deny", None)), start=60)  # after 15
    _ato(story, "h3", start=120)  # never detected
    figures = _one(story.report(tmp_path))
    assert (figures["hijacks"], figures["stopped"], figures["detected"]) == (3, 1, 2)
    assert figures["minutes_to_detect_p50"] == 10.0
    assert figures["events_to_detect_p50"] == 3.0
    assert figures["stopped_rate_ci95"] == pytest.approx([0.061492, 0.792341], abs=1e-6)


def test_every_campaign_is_reported_even_without_hijacks(tmp_path: Path) -> None:
    story = Story()
    story.add(f.login("c-1", 0))
    report = story.report(tmp_path)
    assert set(report["campaigns"]) == {
        "stuffing", "ato_naive", "ato_vpn", "ato_targeted",
        "relay", "pump", "payout", "dormant_email",
    }  # fmt: skip
    empty = report["campaigns"]["pump"]
    assert (empty["hijacks"], empty["stopped_rate"], empty["stopped_rate_ci95"]) == (0, None, None)
    assert (empty["yen_lost"], empty["yen_loss_prevented_rate"]) == (0, None)


def test_loss_outside_any_hijack_can_never_be_prevented(tmp_path: Path) -> None:
    """E.g. an attacker event the simulator did not tie to a hijack: nothing is attributed."""
    story = Story()
    story.add(f.order("gang", 0), "deny", **attacker("pump", None, loss_yen=1_000))
    figures = story.report(tmp_path)["campaigns"]["pump"]
    assert (figures["events"], figures["hijacks"]) == (1, 0)
    assert (figures["yen_lost"], figures["yen_lost_no_defence"]) == (1_000, 1_000)
    assert figures["yen_loss_prevented_rate"] == 0.0

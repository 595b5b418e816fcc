"""The baselines: no defence, SMS code at every login, and the Freeman login model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kabuguard.parsing import parse_event
from kabuguard.risk.events import Event
from kabuguard.scoreboard.baselines import FreemanBaseline
from kabuguard.scoreboard.outcomes import ALLOW, ASK_ANY_MFA
from kabuguard.scoreboard.report import Figures
from tests import factories as f
from tests.scoreboard.builders import CHROME, FOREIGN_IP, IPHONE, JP_IP, Story, attacker

NTT_IPV6 = "2400:4050::1"


def _history(story: Story) -> None:
    """Two customers with three logins each on their usual network and device."""
    for day in range(3):
        story.add(f.login("alice", day * 1440, ip=JP_IP, user_agent=CHROME))
        story.add(f.login("bob", day * 1440 + 1, ip=NTT_IPV6, user_agent=IPHONE))


def _takeover(story: Story, attack_id: str, minutes: float, **label: Any) -> None:
    """Attacker logs into alice's account from abroad on an iPhone, then withdraws."""
    hijack = attacker("relay", attack_id, **label)
    story.add(f.login("alice", minutes, ip=FOREIGN_IP, user_agent=IPHONE), **hijack)
    story.add(f.withdrawal("alice", minutes + 3), **hijack | {"goal": True, "loss_yen": 100_000})


def _baseline(report: Figures, name: str) -> Figures:
    figures: Figures = report["baselines"][name]["campaigns"]["relay"]
    return figures


def test_no_defence_loses_everything(tmp_path: Path) -> None:
    story = Story()
    _takeover(story, "h1", 0)
    figures = _baseline(story.report(tmp_path), "no_defence")
    assert (figures["stopped"], figures["yen_lost"], figures["yen_loss_prevented_rate"]) == (
        0,
        100_000,
        0.0,
    )


def test_sms_codes_stop_everyone_but_a_relay(tmp_path: Path) -> None:
    story = Story()
    _takeover(story, "plain", 0)
    _takeover(story, "relayed", 10, attacker_has=["password", "otp_relay"])
    no_login = attacker("relay", "no-login")  # a hijack that never logs in is not asked
    story.add(f.withdrawal("carol", 20), **no_login | {"goal": True, "loss_yen": 7})
    figures = _baseline(story.report(tmp_path), "sms_otp_only")
    assert (figures["hijacks"], figures["stopped"]) == (3, 1)
    assert figures["yen_lost"] == 100_007
    assert figures["events_to_detect_p50"] == 1.0


def test_freeman_challenges_a_login_unlike_the_customers_history(tmp_path: Path) -> None:
    story = Story()
    _history(story)
    _takeover(story, "h1", 3 * 1440)
    story.add(f.login("alice", 3 * 1440 + 60, ip=JP_IP, user_agent=CHROME))
    report = story.report(tmp_path)
    figures = _baseline(report, "freeman")
    assert (figures["stopped"], figures["yen_lost"]) == (1, 0)
    assert report["baselines"]["freeman"]["legitimate"]["logins_challenged"] == 0


def test_freeman_does_not_score_a_first_login(tmp_path: Path) -> None:
    story = Story()
    _takeover(story, "h1", 0)
    figures = _baseline(story.report(tmp_path), "freeman")
    assert figures["stopped"] == 0


def _event(document: dict[str, Any]) -> Event:
    return parse_event(document)


def test_freeman_learns_only_successful_logins_that_went_through() -> None:
    baseline = FreemanBaseline(threshold=4.0)
    for day in range(3):
        for login in (
            f.login("alice", day * 1440, ip=JP_IP, user_agent=CHROME),
            f.login("bob", day * 1440 + 1, ip=NTT_IPV6, user_agent=IPHONE),
        ):
            baseline.rule(_event(login))
            baseline.happened(_event(login))
    attack = _event(f.login("alice", 4000, ip=FOREIGN_IP, user_agent=IPHONE))
    assert baseline.rule(attack) == ASK_ANY_MFA  # stopped: never told it happened
    failed = _event(f.login("alice", 4001, ip=FOREIGN_IP, user_agent=IPHONE, result="failure"))
    baseline.rule(failed)
    baseline.happened(failed)  # a failure builds no history either
    assert baseline.rule(attack) == ASK_ANY_MFA
    baseline.happened(attack)  # a relay passed the code: the login completed and is learned
    again = _event(f.login("alice", 4010, ip=FOREIGN_IP, user_agent=IPHONE))
    assert baseline.rule(again) == ALLOW


def test_freeman_ignores_everything_but_password_and_passkey_steps() -> None:
    baseline = FreemanBaseline()
    assert baseline.rule(_event(f.order("alice", 0))) == ALLOW
    assert baseline.rule(_event(f.login("alice", 0, step="second_factor"))) == ALLOW
    assert baseline.rule(_event(f.login(None, 0, attempted_username="who"))) == ALLOW

"""Friction for legitimate customers: logins challenged, orders and withdrawals held, by tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from kabuguard.scoreboard.metrics import wilson
from tests import factories as f
from tests.scoreboard.builders import Story, attacker


def _day(story: Story) -> None:
    story.add(f.login("c-1", 0))
    story.add(f.login("c-1", 1, step="second_factor", factor="sms_otp"))  # not a login of its own
    story.add(f.login("c-2", 2), "challenge", "any_mfa")
    story.add(
        f.login("c-2", 3, ip="203.0.113.9"), "challenge", "phishing_resistant", legit_tag="travel"
    )
    story.add(f.order("c-3", 4), "hold")
    story.add(f.order("c-3", 5))
    story.add(f.withdrawal("c-3", 6), "deny", legit_tag="house_sale")
    story.add(f.withdrawal("c-3", 7))
    story.add(f.login("c-9", 8), "deny", **attacker("ato_naive", "h1", goal=True))


def test_kabuguard_friction_counts_customer_events_only(tmp_path: Path) -> None:
    story = Story()
    _day(story)
    legit = story.report(tmp_path)["legitimate"]
    assert (legit["logins"], legit["logins_challenged"]) == (3, 2)
    assert legit["logins_challenged_rate"] == pytest.approx(2 / 3, abs=1e-6)
    assert legit["logins_challenged_rate_ci95"] == pytest.approx(list(wilson(2, 3) or ()), abs=1e-6)
    assert (legit["orders"], legit["orders_held"], legit["orders_held_rate"]) == (2, 1, 0.5)
    assert (legit["withdrawals"], legit["withdrawals_held"]) == (2, 1)
    assert legit["withdrawals_held_rate_ci95"] == pytest.approx([0.094531, 0.905469], abs=1e-6)
    assert (legit["customers"], legit["customers_challenged"]) == (2, 1)


def test_friction_is_broken_down_by_legitimate_behaviour(tmp_path: Path) -> None:
    story = Story()
    _day(story)
    by_tag = story.report(tmp_path)["legitimate"]["by_tag"]
    assert (by_tag["travel"]["logins"], by_tag["travel"]["logins_challenged_rate"]) == (1, 1.0)
    assert (by_tag["untagged"]["logins"], by_tag["untagged"]["logins_challenged"]) == (2, 1)
    assert by_tag["house_sale"]["withdrawals_held_rate"] == 1.0
    assert by_tag["senior"]["logins"] == 0
    assert by_tag["senior"]["logins_challenged_rate"] is None


def test_baselines_friction(tmp_path: Path) -> None:
    story = Story()
    _day(story)
    baselines = story.report(tmp_path)["baselines"]
    sms = baselines["sms_otp_only"]["legitimate"]
    assert (sms["logins_challenged_rate"], sms["orders_held_rate"]) == (1.0, 0.0)
    assert sms["withdrawals_held_rate"] == 0.0
    nothing = baselines["no_defence"]["legitimate"]
    assert (nothing["logins_challenged"], nothing["orders_held"]) == (0, 0)
    # Each customer's first login is unscored by Freeman, so it challenges none here.
    assert baselines["freeman"]["legitimate"]["logins_challenged"] == 0

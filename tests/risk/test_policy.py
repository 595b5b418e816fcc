"""Policy loading: the default loads; every mistake is a PolicyError naming the offending key."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from kabuguard.risk.codes import Action, Capability, FactorClass, Outcome, ReasonCode
from kabuguard.risk.policy import LoginPolicy, Policy, PolicyError, Thresholds

DEFAULT_TEXT = resources.files("kabuguard.risk").joinpath("default_policy.toml").read_text("utf-8")


def _replace(old: str, new: str, text: str = DEFAULT_TEXT) -> str:
    assert old in text, f"{old!r} is not in the policy text"
    return text.replace(old, new, 1)


def _error(text: str) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        Policy.from_toml(text, source="candidate.toml")
    assert caught.value.source == "candidate.toml"
    assert str(caught.value).startswith("candidate.toml: ")
    return caught.value


def test_default_policy_loads() -> None:
    policy = Policy.default()
    assert policy.version == "2026.11.1"
    assert policy.thresholds == Thresholds(challenge=40, hold=70, deny=90)
    assert set(policy.required_factor) == set(Action)
    assert policy.required_factor[Action.LOGIN] is FactorClass.PHISHING_RESISTANT
    assert policy.required_factor[Action.ORDER] is FactorClass.ANY_MFA
    assert set(policy.enforcement) == set(Capability)
    assert policy.enforcement[Capability.WITHDRAW] is Outcome.HOLD
    assert policy.enforcement[Capability.BUY] is Outcome.DENY
    assert set(policy.scores) == set(ReasonCode)
    assert policy.score(ReasonCode.CUSTOMER_LOCK_ACTIVE) == 100
    assert policy.score(ReasonCode.NETWORK_IP_UNPARSEABLE) == 10
    assert policy.payout_cooling_off == timedelta(hours=72)
    assert len(policy.digest) == 12


def test_default_policy_is_read_only() -> None:
    policy = Policy.default()
    with pytest.raises(TypeError):
        policy.scores[ReasonCode.CUSTOMER_LOCK_ACTIVE] = 0  # type: ignore[index]


def test_from_file_reads_a_copy(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(_replace('version = "2026.11.1"', 'version = "copy-1"'), "utf-8")
    policy = Policy.from_file(path)
    assert policy.version == "copy-1"
    assert policy.thresholds == Policy.default().thresholds


def test_from_file_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(PolicyError) as caught:
        Policy.from_file(path)
    assert caught.value.source == str(path)
    assert "cannot read" in caught.value.problem


def test_invalid_toml_is_refused() -> None:
    error = _error(DEFAULT_TEXT + "\n[thresholds\n")
    assert "not valid TOML" in error.problem


@pytest.mark.parametrize(
    "text",
    [
        _replace('version = "2026.11.1"\n', ""),
        _replace('version = "2026.11.1"', 'version = ""'),
        _replace('version = "2026.11.1"', "version = 2026"),
    ],
    ids=["missing", "empty", "not-a-string"],
)
def test_missing_or_bad_version_is_refused(text: str) -> None:
    assert "`version`" in _error(text).problem


def test_unknown_reason_code_in_scores_is_refused() -> None:
    error = _error(_replace('"network:ip:unparseable" = 10', '"network:ip:unparsable" = 10'))
    assert "scores.network:ip:unparsable" in error.problem
    assert "network:ip:unparseable" in error.problem  # the allowed values are listed


def test_unknown_outcome_in_enforcement_is_refused() -> None:
    error = _error(_replace('withdraw = "hold"', 'withdraw = "block"'))
    assert "enforcement.withdraw" in error.problem
    assert "'block'" in error.problem


def test_unknown_capability_in_enforcement_is_refused() -> None:
    error = _error(_replace('withdraw = "hold"', 'withdraw = "hold"\ntransfer = "deny"'))
    assert "enforcement.transfer" in error.problem


def test_missing_capability_in_enforcement_is_refused() -> None:
    error = _error(_replace('change_contact = "hold"\n', ""))
    assert "[enforcement]" in error.problem
    assert "change_contact" in error.problem


def test_missing_action_in_required_factor_is_refused() -> None:
    error = _error(_replace('withdrawal = "phishing_resistant"\n', ""))
    assert "[required_factor]" in error.problem
    assert "withdrawal" in error.problem


def test_unknown_factor_class_is_refused() -> None:
    error = _error(_replace('order = "any_mfa"', 'order = "sms"'))
    assert "required_factor.order" in error.problem


@pytest.mark.parametrize("table", ["thresholds", "required_factor", "scores", "enforcement"])
def test_missing_table_is_refused(table: str) -> None:
    text = _replace(f"[{table}]", f"[removed_{table}]")
    assert table in _error(text).problem


def test_unknown_keys_are_refused_not_ignored() -> None:
    assert "thresholds" in _error(_replace("deny = 90", "deny = 90\ndenny = 95")).problem
    misspelt = _replace("payout_change_hours = 72", "payout_change_hour = 72")
    assert "payout_change_hour" in _error(misspelt).problem


@pytest.mark.parametrize(
    ("challenge", "hold", "deny"),
    [(70, 40, 90), (40, 95, 90), (0, 70, 90), (40, 70, 101), (90, 70, 40)],
)
def test_thresholds_out_of_order_are_refused(challenge: int, hold: int, deny: int) -> None:
    text = _replace(
        "challenge = 40\nhold = 70\ndeny = 90",
        f"challenge = {challenge}\nhold = {hold}\ndeny = {deny}",
    )
    assert "thresholds" in _error(text).problem


def test_equal_thresholds_are_allowed() -> None:
    text = _replace("challenge = 40\nhold = 70\ndeny = 90", "challenge = 50\nhold = 50\ndeny = 50")
    assert Policy.from_toml(text, source="t").thresholds == Thresholds(50, 50, 50)


def test_missing_threshold_is_refused() -> None:
    error = _error(_replace("hold = 70\n", ""))
    assert "thresholds.hold" in error.problem


def test_negative_score_is_refused() -> None:
    error = _error(_replace('"network:ip:unparseable" = 10', '"network:ip:unparseable" = -5'))
    assert "scores.network:ip:unparseable" in error.problem
    assert "-5" in error.problem


@pytest.mark.parametrize("value", ["true", '"10"', "1.5"])
def test_non_integer_score_is_refused(value: str) -> None:
    error = _error(_replace('"network:ip:unparseable" = 10', f'"network:ip:unparseable" = {value}'))
    assert "scores.network:ip:unparseable" in error.problem


def test_negative_cooling_off_is_refused() -> None:
    error = _error(_replace("payout_change_hours = 72", "payout_change_hours = -1"))
    assert "cooling_off.payout_change_hours" in error.problem


def test_thresholds_map_scores_to_outcomes() -> None:
    thresholds = Thresholds(challenge=40, hold=70, deny=90)
    assert thresholds.outcome_for(0) is Outcome.ALLOW
    assert thresholds.outcome_for(39) is Outcome.ALLOW
    assert thresholds.outcome_for(40) is Outcome.CHALLENGE
    assert thresholds.outcome_for(69) is Outcome.CHALLENGE
    assert thresholds.outcome_for(70) is Outcome.HOLD
    assert thresholds.outcome_for(90) is Outcome.DENY
    assert thresholds.outcome_for(100) is Outcome.DENY


def test_digest_changes_when_text_changes() -> None:
    default = Policy.default()
    same = Policy.from_toml(DEFAULT_TEXT, source="elsewhere.toml")
    assert same.digest == default.digest

    scored = Policy.from_toml(
        _replace('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 11'), source="x"
    )
    assert scored.version == default.version
    assert scored.digest != default.digest

    commented = Policy.from_toml(DEFAULT_TEXT + "\n# reviewed\n", source="x")
    assert commented.digest != default.digest


def test_login_table_restates_the_built_in_defaults() -> None:
    assert Policy.default().login == LoginPolicy()


def test_login_table_and_its_keys_may_be_left_out() -> None:
    start = DEFAULT_TEXT.index("[login]")
    without = Policy.from_toml(DEFAULT_TEXT[:start], source="old.toml")
    assert without.login == LoginPolicy()
    partial = _replace("dormant_days = 180\n", "")
    assert Policy.from_toml(partial, source="p.toml").login.dormant_days == 180


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("dormant_days = 180", "dormant_days = 180\ndormant_dayz = 1", "unknown key(s) in [login]"),
        ('home_country = "JP"', 'home_country = "Japan"', "login.home_country"),
        ("stuffing_unknown_share = 0.2", "stuffing_unknown_share = 1.5", "between 0 and 1"),
        ("stuffing_window_minutes = 60", "stuffing_window_minutes = 600", "at most 120"),
        ("session_hours = 12", "session_hours = 48", "at most 24"),
        ("travel_kmh = 1000", "travel_kmh = -5", "non-negative integer"),
        ("unfamiliar_at = 2.5", 'unfamiliar_at = "high"', "must be a number"),
        ("very_unfamiliar_at = 3.0", "very_unfamiliar_at = 1.0", "very_unfamiliar_at must be"),
    ],
)
def test_login_knobs_are_validated(old: str, new: str, problem: str) -> None:
    assert problem in _error(_replace(old, new)).problem

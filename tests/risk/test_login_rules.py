"""The login rules on hand-built login facts: each signal, its reason and its outcome."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from kabuguard.risk.codes import Capability, FactorClass, Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.engine import judge
from kabuguard.risk.events import Event
from kabuguard.risk.history import Level, PopulationFacts, Profile, learn
from kabuguard.risk.login import (
    AsnClass,
    Bucket,
    LoginSignals,
    NetworkFacts,
    SessionFacts,
    SoftwareFacts,
    Unknown,
    Window,
    WindowKind,
    history_values,
)
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import ParsedIP, Signals
from tests import factories

POLICY = Policy.default()
T0 = factories.BASE_TIME
HOME = NetworkFacts("1.79.158.24", "1.79.158.0/24", "NTT DOCOMO, INC.", "JP", AsnClass.MOBILE)
FIBRE = NetworkFacts("60.95.1.1", "60.95.1.0/24", "SoftBank Corp.", "JP", AsnClass.RESIDENTIAL)
CLOUD = NetworkFacts("18.181.1.1", "18.181.1.0/24", "AMAZON-02", "JP", AsnClass.HOSTING)
VPN = NetworkFacts("193.36.125.3", "193.36.125.0/24", "M247 Europe SRL", "JP", AsnClass.VPN)
SEOUL = NetworkFacts("121.163.1.1", "121.163.1.0/24", "Korea Telecom", "KR", AsnClass.RESIDENTIAL)
CHROME = SoftwareFacts("Mozilla/5.0 Chrome", "Chrome 124", "Windows 10", "desktop", False)
BOT = SoftwareFacts("python-requests/2.31", "Python Requests 2", "Other", "desktop", True)
DEVICE = "d-home"


def _profile(network: NetworkFacts = FIBRE, logins: int = 6, **changes: Any) -> Profile:
    profile = None
    for n in range(logins):
        at = T0 - timedelta(days=logins - n)
        values = history_values(network, CHROME, DEVICE, at)
        profile = learn(profile, values, int(at.timestamp()), 183 * 86_400)
    assert profile is not None
    return replace(profile, **changes)


def _facts(
    network: NetworkFacts = FIBRE,
    software: SoftwareFacts = CHROME,
    device: str | None = DEVICE,
    profile: Profile | None = None,
    **changes: Any,
) -> LoginSignals:
    values = history_values(network, software, device, T0)
    counts = tuple(5_000 for _ in Level)
    population = PopulationFacts(logins=20_000, users=2_000, counts=counts)
    return LoginSignals(network, software, profile, population, values, **changes)


def _judge(document: dict[str, Any], facts: LoginSignals | None) -> Verdict:
    event: Event = factories.typed(document)
    return judge(event, Signals(ip=ParsedIP.parse(event.ip), login=facts), POLICY)


def _login(facts: LoginSignals | None, **fields: Any) -> Verdict:
    fields.setdefault("device_id", DEVICE)
    return _judge(factories.login(**fields), facts)


def _codes(verdict: Verdict) -> set[ReasonCode]:
    return {found.code for found in verdict.hits}


def test_no_login_facts_no_login_reasons() -> None:
    assert not {c for c in _codes(_login(None)) if c.startswith("login:")}


def test_a_familiar_login_is_allowed_quietly() -> None:
    verdict = _login(_facts(profile=_profile()))
    assert verdict.outcome is Outcome.ALLOW
    assert not _codes(verdict)


def test_first_login_says_there_is_no_history() -> None:
    assert _codes(_login(_facts())) == {ReasonCode.LOGIN_HISTORY_NONE}


def test_automation_client_is_challenged_with_a_passkey() -> None:
    verdict = _login(_facts(software=BOT, profile=_profile()))
    assert ReasonCode.LOGIN_DEVICE_AUTOMATION in _codes(verdict)
    assert verdict.outcome is Outcome.CHALLENGE
    assert verdict.required_factor is FactorClass.PHISHING_RESISTANT


def test_a_new_device_id_is_new() -> None:
    verdict = _login(_facts(device="d-new", profile=_profile()), device_id="d-new")
    assert ReasonCode.LOGIN_DEVICE_NEW in _codes(verdict)


def test_no_device_id_where_the_history_has_them_scores_as_a_new_device_at_least() -> None:
    without = _login(_facts(device=None, profile=_profile()), device_id=None)
    fresh = _login(_facts(device="d-new", profile=_profile()), device_id="d-new")
    assert ReasonCode.LOGIN_DEVICE_NEW in _codes(without)
    assert without.risk_score >= fresh.risk_score


@pytest.mark.parametrize("earlier", [[None, None, None], [DEVICE, DEVICE, None]])
def test_no_device_id_is_missing_for_a_customer_who_signed_in_without_one_before(
    earlier: list[str | None],
) -> None:
    assert ReasonCode.LOGIN_DEVICE_MISSING in _codes(_login(_facts(device=None), device_id=None))
    history = None
    for n, device in enumerate(earlier):
        at = T0 - timedelta(days=3 - n)
        values = history_values(FIBRE, CHROME, device, at)
        history = learn(history, values, int(at.timestamp()), 183 * 86_400)
    verdict = _login(_facts(device=None, profile=history), device_id=None)
    assert _codes(verdict) & {ReasonCode.LOGIN_DEVICE_NEW, ReasonCode.LOGIN_DEVICE_MISSING} == {
        ReasonCode.LOGIN_DEVICE_MISSING
    }


@pytest.mark.parametrize("why", [Unknown.PRIVATE, Unknown.RESERVED, Unknown.NOT_IN_DATA])
def test_unknown_networks_carry_their_reason(why: Unknown) -> None:
    network = NetworkFacts("10.0.0.1", None, None, None, AsnClass.UNKNOWN, why)
    verdict = _login(_facts(network=network, profile=_profile()))
    found = [h for h in verdict.hits if h.code is ReasonCode.LOGIN_NETWORK_UNKNOWN]
    assert len(found) == 1
    assert why.value in found[0].message_en


def test_hosting_for_a_home_network_customer_is_a_relay_signal() -> None:
    verdict = _login(_facts(network=CLOUD, profile=_profile()))
    assert ReasonCode.LOGIN_RELAY_HOSTING in _codes(verdict)
    assert verdict.outcome is not Outcome.ALLOW
    assert _codes(_login(_facts(network=CLOUD))) >= {ReasonCode.LOGIN_NETWORK_HOSTING}


def test_vpn_only_counts_for_customers_who_do_not_use_one() -> None:
    assert ReasonCode.LOGIN_NETWORK_VPN in _codes(_login(_facts(network=VPN, profile=_profile())))
    regular = _profile(network=VPN)
    assert ReasonCode.LOGIN_NETWORK_VPN not in _codes(_login(_facts(VPN, profile=regular)))


def test_abroad_for_the_first_time_on_a_strange_device() -> None:
    verdict = _login(_facts(SEOUL, device="d-new", profile=_profile()), device_id="d-new")
    assert ReasonCode.LOGIN_NETWORK_FOREIGN in _codes(verdict)


def test_travellers_on_their_own_device_or_known_country_are_not_foreign() -> None:
    assert ReasonCode.LOGIN_NETWORK_FOREIGN not in _codes(_login(_facts(SEOUL, profile=_profile())))
    been_there = _profile(network=SEOUL)
    facts = _facts(SEOUL, device="d-new", profile=been_there)
    assert ReasonCode.LOGIN_NETWORK_FOREIGN not in _codes(_login(facts, device_id="d-new"))


def test_a_vpn_exit_abroad_is_not_judged_as_foreign() -> None:
    abroad = NetworkFacts("172.94.54.178", "172.94.54.0/24", "M247 Europe SRL", "US", AsnClass.VPN)
    verdict = _login(_facts(abroad, device="d-new"), device_id="d-new")
    assert ReasonCode.LOGIN_NETWORK_FOREIGN not in _codes(verdict)
    assert ReasonCode.LOGIN_NETWORK_VPN in _codes(verdict)


def test_impossible_travel_between_fixed_networks() -> None:
    recent = _move_last_login(_profile(), T0 - timedelta(minutes=30))
    assert ReasonCode.LOGIN_TRAVEL_IMPOSSIBLE in _codes(_login(_facts(SEOUL, profile=recent)))


def test_travel_is_not_judged_from_mobile_or_vpn_networks() -> None:
    recent = _move_last_login(_profile(), T0 - timedelta(minutes=30))
    roaming = replace(SEOUL, asn_class=AsnClass.MOBILE)
    assert ReasonCode.LOGIN_TRAVEL_IMPOSSIBLE not in _codes(_login(_facts(roaming, profile=recent)))


def test_dormant_customer() -> None:
    old = _profile()
    dormant = _login(_facts(profile=replace(old, last=old.last - 400 * 86_400)))
    assert ReasonCode.LOGIN_HISTORY_DORMANT in _codes(dormant)


def test_an_unfamiliar_login_is_challenged() -> None:
    """Everything new for a customer who rarely logs in (Freeman's frequency term)."""
    stranger = SoftwareFacts("Mozilla/5.0 Firefox", "Firefox 99", "Linux", "desktop", False)
    rare = _profile(logins=1)
    facts = _facts(SEOUL, stranger, "d-x", profile=rare)
    event = factories.typed(factories.login(device_id="d-x"))
    strict = replace(POLICY, login=replace(POLICY.login, unfamiliar_at=2.0))
    verdict = judge(event, Signals(ip=ParsedIP.parse(event.ip), login=facts), strict)
    assert _codes(verdict) & {
        ReasonCode.LOGIN_HISTORY_UNFAMILIAR,
        ReasonCode.LOGIN_HISTORY_VERY_UNFAMILIAR,
    }
    assert verdict.outcome is not Outcome.ALLOW


def test_login_seconds_after_the_last_from_another_network_is_a_relay() -> None:
    profile = _move_last_login(_profile(), T0 - timedelta(seconds=5))
    verdict = _login(_facts(CLOUD, profile=profile))
    assert {ReasonCode.LOGIN_RELAY_CONCURRENT, ReasonCode.LOGIN_RELAY_HOSTING} <= _codes(verdict)
    assert verdict.outcome.rank > Outcome.CHALLENGE.rank  # 70: past a code, whatever the factor


def test_second_factor_from_another_network_than_the_password() -> None:
    session = SessionFacts("c-1", T0 - timedelta(seconds=20), FIBRE, 0, restricted=False)
    document = factories.login(step="second_factor", factor="sms_otp", session_id="s-1")
    verdict = _judge(document, _facts(CLOUD, session=session))
    assert ReasonCode.LOGIN_RELAY_FACTOR_NETWORK in _codes(verdict)
    assert verdict.required_factor is FactorClass.PHISHING_RESISTANT


def _burst(kind: WindowKind = WindowKind.IP, failures: int = 30) -> Window:
    start = int((T0 - timedelta(minutes=10)).timestamp())
    names = frozenset(range(failures))
    return Window(kind, "203.0.113.9", (Bucket(start, failures, failures, failures // 2, names),))


def test_failures_inside_a_burst_are_recognised() -> None:
    facts = _facts(device=None, windows=(_burst(),))
    verdict = _login(facts, device_id=None, result="failure")
    assert ReasonCode.LOGIN_STUFFING_BURST in _codes(verdict)


def test_a_quiet_window_is_no_burst() -> None:
    facts = _facts(device=None, windows=(_burst(failures=3),))
    assert ReasonCode.LOGIN_STUFFING_BURST not in _codes(_login(facts, device_id=None))


def test_success_in_a_burst_without_a_passkey_locks_logins() -> None:
    verdict = _login(_facts(device=None, profile=_profile(), windows=(_burst(),)), device_id=None)
    assert ReasonCode.LOGIN_STUFFING_SUCCESS in _codes(verdict)
    assert verdict.outcome is Outcome.DENY
    (lock,) = verdict.restrictions
    assert lock.capability is Capability.LOGIN
    assert lock.until == T0 + timedelta(hours=POLICY.login.stuffing_lock_hours)


def test_success_in_a_burst_with_a_passkey_asks_for_it() -> None:
    profile = _profile(passkey=True)
    verdict = _login(_facts(device=None, profile=profile, windows=(_burst(),)), device_id=None)
    assert verdict.outcome is Outcome.CHALLENGE
    assert verdict.required_factor is FactorClass.PHISHING_RESISTANT
    assert not verdict.restrictions


def test_own_device_is_never_judged_by_a_burst() -> None:
    verdict = _login(_facts(profile=_profile(), windows=(_burst(),)))
    assert not {c for c in _codes(verdict) if c.startswith("login:stuffing")}


def test_broad_keys_judge_only_scripted_attempts() -> None:
    """A burst through an ISP's residential proxies must not lock out that ISP's customers."""
    broad = (_burst(WindowKind.ASN),)
    person = _login(_facts(device="d-new", profile=_profile(), windows=broad), device_id="d-new")
    assert not {c for c in _codes(person) if c.startswith("login:stuffing")}
    bot = _login(_facts(device=None, profile=_profile(), windows=broad), device_id=None)
    assert ReasonCode.LOGIN_STUFFING_SUCCESS in _codes(bot)


def test_exposed_credentials_mean_passkey_only() -> None:
    verdict = _login(_facts(profile=_profile(), exposed_since=T0 - timedelta(days=1)))
    assert ReasonCode.LOGIN_CREDENTIALS_EXPOSED in _codes(verdict)
    assert verdict.outcome is Outcome.CHALLENGE
    assert verdict.required_factor is FactorClass.PHISHING_RESISTANT
    passkey = _judge(factories.login(step="passkey", factor="passkey"), _facts(exposed_since=T0))
    assert passkey.outcome is Outcome.ALLOW


def _move_last_login(profile: Profile, at: datetime) -> Profile:
    stamp = int(at.timestamp())
    levels = tuple(
        tuple(replace(seen, last=stamp) if seen.last == profile.last else seen for seen in level)
        for level in profile.levels
    )
    return replace(profile, last=stamp, levels=levels)


def test_a_new_device_with_the_customers_exact_browser_string() -> None:
    """The targeted attacker's disguise: the victim's browser, a fresh cookie."""
    verdict = _login(_facts(device="d-new", profile=_profile()), device_id="d-new")
    assert {ReasonCode.LOGIN_DEVICE_NEW, ReasonCode.LOGIN_DEVICE_KNOWN_AGENT} <= _codes(verdict)
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(verdict)
    other = replace(CHROME, user_agent="Mozilla/5.0 Firefox")
    plain = _login(_facts(software=other, device="d-new", profile=_profile()), device_id="d-new")
    assert ReasonCode.LOGIN_DEVICE_KNOWN_AGENT not in _codes(plain)

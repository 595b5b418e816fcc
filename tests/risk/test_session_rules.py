"""Session rules: a risky login's session is sell-only, and its fast first sale is held."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from kabuguard.risk.codes import Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.engine import judge
from kabuguard.risk.events import Event
from kabuguard.risk.login import LoginSignals, SessionFacts
from kabuguard.risk.money import NO_MONEY, Destination, DestinationStatus
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import ParsedIP, Signals
from tests import factories
from tests.risk.test_login_rules import CLOUD, FIBRE, HOME, VPN, _facts, _login, _profile

POLICY = Policy.default()
T0 = factories.BASE_TIME


def _session(restricted: bool, minutes_ago: float = 1, network: Any = FIBRE) -> LoginSignals:
    login_at = T0 - timedelta(minutes=minutes_ago)
    session = SessionFacts("c-1", login_at, network, 25 if restricted else 0, restricted)
    return LoginSignals(network=FIBRE, session=session)


def _judge(document: dict[str, Any], facts: LoginSignals) -> Verdict:
    event: Event = factories.typed(document | {"session_id": "s-1"})
    return judge(event, Signals(ip=ParsedIP.parse(event.ip), login=facts), POLICY)


def _codes(verdict: Verdict) -> set[ReasonCode]:
    return {found.code for found in verdict.hits}


def test_a_risky_but_allowed_login_marks_its_session_sell_only() -> None:
    verdict = _login(_facts(VPN, profile=_profile()))  # a VPN for the first time: 20
    assert verdict.outcome is Outcome.ALLOW
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(verdict)
    assert ReasonCode.SESSION_LOGIN_RISKY not in _codes(_login(_facts(profile=_profile())))


def test_a_sell_only_session_may_sell_but_not_buy() -> None:
    facts = _session(restricted=True, minutes_ago=30)
    sell = _judge(factories.order(side="sell"), facts)
    buy = _judge(factories.order(side="buy"), facts)
    assert ReasonCode.SESSION_LOGIN_RISKY not in _codes(sell)
    assert ReasonCode.SESSION_LOGIN_RISKY in _codes(buy)
    assert buy.outcome is Outcome.DENY  # the buy capability's enforcement


def test_a_sell_only_session_holds_withdrawals_only_to_a_destination_registered_lately() -> None:
    event: Event = factories.typed(factories.withdrawal() | {"session_id": "s-1"})
    ip = ParsedIP.parse(event.ip)

    def verdict(changed_days_ago: int, minutes_after_login: float = 30) -> Verdict:
        facts = _session(restricted=True, minutes_ago=minutes_after_login)
        changed = T0 - timedelta(days=changed_days_ago)
        destination = Destination("dst-1", DestinationStatus.ACCEPTED, changed, None)
        money = replace(NO_MONEY, fetched=True, destination=destination)
        return judge(event, Signals(ip=ip, login=facts, money=money), POLICY)

    own_account = verdict(changed_days_ago=400)
    assert own_account.outcome is Outcome.ALLOW  # the customer's own long-standing account
    assert ReasonCode.SESSION_LOGIN_RISKY not in _codes(own_account)
    assert verdict(changed_days_ago=400, minutes_after_login=0.5).outcome is Outcome.ALLOW
    lately = verdict(changed_days_ago=5)
    assert lately.outcome is Outcome.HOLD
    assert ReasonCode.WITHDRAWAL_LOGIN_RISKY in _codes(lately)


def test_a_payout_change_signed_with_a_passkey_is_not_held_in_a_sell_only_session() -> None:
    facts = _session(restricted=True, minutes_ago=0.5)
    unsigned = _judge(factories.payout_change(approved_with="sms_otp"), facts)
    assert {ReasonCode.SESSION_LOGIN_RISKY, ReasonCode.SESSION_ACTION_FAST} <= _codes(unsigned)
    assert unsigned.outcome is Outcome.HOLD
    signed = _judge(factories.payout_change(approved_with="passkey"), facts)
    assert not _codes(signed) & {ReasonCode.SESSION_LOGIN_RISKY, ReasonCode.SESSION_ACTION_FAST}


def test_a_sale_seconds_after_a_risky_login_is_held() -> None:
    verdict = _judge(factories.order(side="sell"), _session(restricted=True, minutes_ago=0.5))
    assert ReasonCode.SESSION_ACTION_FAST in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD
    quiet = _judge(factories.order(side="sell"), _session(restricted=False, minutes_ago=0.5))
    assert ReasonCode.SESSION_ACTION_FAST not in _codes(quiet)


def test_session_facts_expire() -> None:
    old = _session(restricted=True, minutes_ago=60 * (POLICY.login.session_hours + 1))
    assert not _codes(_judge(factories.order(side="buy"), old)) & {ReasonCode.SESSION_LOGIN_RISKY}


def test_another_network_mid_session() -> None:
    moved = _judge(factories.order(side="sell"), _session(False, 10, network=CLOUD))
    assert ReasonCode.SESSION_NETWORK_CHANGED in _codes(moved)
    phone = _judge(factories.order(side="sell"), _session(False, 10, network=HOME))
    assert ReasonCode.SESSION_NETWORK_CHANGED not in _codes(phone)  # carriers hand over

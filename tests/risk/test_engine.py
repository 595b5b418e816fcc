"""The engine with hand-built Signals: outcomes, reason codes, required factors, restrictions."""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from importlib import resources
from ipaddress import ip_network
from typing import Any

import pytest

from kabuguard.risk.codes import (
    MESSAGES,
    RESTRICTION_REASON,
    Capability,
    FactorClass,
    Outcome,
    ReasonCode,
)
from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.engine import decide, judge
from kabuguard.risk.events import Event
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import (
    BlockedNetwork,
    CustomerLockState,
    ParsedIP,
    Signals,
    SymbolHalt,
)
from tests import factories

DEFAULT = Policy.default()
DEFAULT_TEXT = resources.files("kabuguard.risk").joinpath("default_policy.toml").read_text("utf-8")
T0 = factories.BASE_TIME
LOCK = CustomerLockState(since=T0 - timedelta(hours=1), initiated_by="customer", reason=None)


def _policy(*replacements: tuple[str, str]) -> Policy:
    text = DEFAULT_TEXT
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    return Policy.from_toml(text, source="test-policy.toml")


def _customer(kind: str, **fields: Any) -> dict[str, Any]:
    document = factories.login(**fields)
    del document["step"], document["result"]
    document["type"] = kind
    return document


def contact_change(**fields: Any) -> dict[str, Any]:
    return _customer("contact_change", contact="email", new_value="new@example.jp", **fields)


def credential_change(**fields: Any) -> dict[str, Any]:
    return _customer("credential_change", credential="password", action="reset", **fields)


def logout(**fields: Any) -> dict[str, Any]:
    return _customer("logout", **fields)


def cancellation(**fields: Any) -> dict[str, Any]:
    return _customer("cancellation", order_id="ord-1", **fields)


def execution(**fields: Any) -> dict[str, Any]:
    return _customer(
        "execution",
        order_id="ord-1",
        side="buy",
        symbol="7203",
        market="TSE",
        quantity=100,
        price="2500",
        **fields,
    )


def price(**fields: Any) -> dict[str, Any]:
    document = factories.login(customer=None, **fields)
    del document["step"], document["result"]
    document |= {"type": "price", "symbol": "7203", "market": "TSE", "last": "2500"}
    return document


Builder = Callable[..., dict[str, Any]]

CUSTOMER_ACTIONS: dict[str, Builder] = {
    "login": factories.login,
    "order-buy": factories.order,
    "order-sell": lambda **kw: factories.order(side="sell", **kw),
    "withdrawal": factories.withdrawal,
    "payout_change": factories.payout_change,
    "contact_change": contact_change,
    "credential_change": credential_change,
}
NON_ACTIONS: dict[str, Builder] = {
    "logout": logout,
    "cancellation": cancellation,
    "execution": execution,
    "price": price,
}


def _event(build: Builder, **fields: Any) -> Event:
    return factories.typed(build(**fields))


def _signals(event: Event, **fields: Any) -> Signals:
    return Signals(ip=ParsedIP.parse(event.ip), **fields)


def _codes(verdict: Verdict) -> list[ReasonCode]:
    return [found.code for found in verdict.hits]


# Locks


@pytest.mark.parametrize("name", list(CUSTOMER_ACTIONS))
def test_locked_customer_is_denied_every_action(name: str) -> None:
    event = _event(CUSTOMER_ACTIONS[name])
    verdict = judge(event, _signals(event, lock=LOCK), DEFAULT)
    assert verdict.outcome is Outcome.DENY
    assert _codes(verdict) == [ReasonCode.CUSTOMER_LOCK_ACTIVE]
    assert verdict.risk_score == 100
    assert verdict.required_factor is None
    assert verdict.restrictions == ()
    assert verdict.policy_version == DEFAULT.version


@pytest.mark.parametrize("name", list(NON_ACTIONS))
def test_locked_customer_may_still_log_out_and_receive_reports(name: str) -> None:
    event = _event(NON_ACTIONS[name])
    verdict = judge(event, _signals(event, lock=LOCK), DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []
    assert verdict.risk_score == 0


def test_lock_message_is_bilingual() -> None:
    event = _event(factories.withdrawal)
    (found,) = judge(event, _signals(event, lock=LOCK), DEFAULT).hits
    assert found.message_ja == MESSAGES[ReasonCode.CUSTOMER_LOCK_ACTIVE].ja
    assert found.message_en == MESSAGES[ReasonCode.CUSTOMER_LOCK_ACTIVE].en


# Restrictions


def _restriction(capability: Capability, until: datetime, enforcement: Outcome) -> Restriction:
    return Restriction(capability, until, enforcement, ReasonCode.PAYOUT_DESTINATION_COOLING_OFF)


@pytest.mark.parametrize(
    ("build", "capability", "enforcement"),
    [
        (factories.withdrawal, Capability.WITHDRAW, Outcome.HOLD),
        (factories.order, Capability.BUY, Outcome.DENY),
        (lambda **kw: factories.order(side="sell", **kw), Capability.SELL, Outcome.DENY),
        (factories.login, Capability.LOGIN, Outcome.DENY),
        (factories.payout_change, Capability.CHANGE_PAYOUT, Outcome.HOLD),
        (contact_change, Capability.CHANGE_CONTACT, Outcome.HOLD),
    ],
    ids=["withdraw", "buy", "sell", "login", "change_payout", "change_contact"],
)
def test_active_restriction_meets_its_enforcement(
    build: Builder, capability: Capability, enforcement: Outcome
) -> None:
    event = _event(build)
    until = event.occurred_at + timedelta(hours=1)
    signals = _signals(event, restrictions=(_restriction(capability, until, enforcement),))
    verdict = judge(event, signals, DEFAULT)
    assert verdict.outcome is enforcement
    assert _codes(verdict) == [RESTRICTION_REASON[capability]]
    assert RESTRICTION_REASON[capability].value == f"restriction:{capability.value}:active"
    (found,) = verdict.hits
    assert capability.value in found.message_en
    shown = until.astimezone(timezone(timedelta(hours=9))).strftime("%Y-%m-%d %H:%M JST")
    assert shown in found.message_en
    assert shown in found.message_ja


def test_withdraw_restriction_holds_and_buy_restriction_denies() -> None:
    withdraw = _event(factories.withdrawal)
    buy = _event(factories.order)
    until = T0 + timedelta(hours=72)
    restrictions = (
        _restriction(Capability.WITHDRAW, until, DEFAULT.enforcement[Capability.WITHDRAW]),
        _restriction(Capability.BUY, until, DEFAULT.enforcement[Capability.BUY]),
    )
    held = judge(withdraw, _signals(withdraw, restrictions=restrictions), DEFAULT)
    denied = judge(buy, _signals(buy, restrictions=restrictions), DEFAULT)
    assert (held.outcome, _codes(held)) == (Outcome.HOLD, [ReasonCode.RESTRICTION_WITHDRAW_ACTIVE])
    assert (denied.outcome, _codes(denied)) == (Outcome.DENY, [ReasonCode.RESTRICTION_BUY_ACTIVE])


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(days=-3)])
def test_expired_restriction_is_not_enforced(offset: timedelta) -> None:
    event = _event(factories.withdrawal)
    until = event.occurred_at + offset
    signals = _signals(
        event, restrictions=(_restriction(Capability.WITHDRAW, until, Outcome.HOLD),)
    )
    verdict = judge(event, signals, DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []


def test_restriction_of_another_capability_is_not_enforced() -> None:
    event = _event(factories.order, side="sell")
    until = event.occurred_at + timedelta(hours=1)
    signals = _signals(
        event,
        restrictions=(
            _restriction(Capability.BUY, until, Outcome.DENY),
            _restriction(Capability.WITHDRAW, until, Outcome.HOLD),
        ),
    )
    verdict = judge(event, signals, DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []


# Halts


def _halt() -> SymbolHalt:
    return SymbolHalt(symbol="7203", market="TSE", reason="pump-and-dump alert", until=None)


def test_buy_of_halted_symbol_is_denied() -> None:
    event = _event(factories.order, side="buy")
    verdict = judge(event, _signals(event, symbol_halt=_halt()), DEFAULT)
    assert verdict.outcome is Outcome.DENY
    assert _codes(verdict) == [ReasonCode.ORDER_SYMBOL_HALTED]
    assert "7203" in verdict.hits[0].message_en
    assert "7203" in verdict.hits[0].message_ja


def test_sell_of_halted_symbol_is_allowed() -> None:
    event = _event(factories.order, side="sell")
    verdict = judge(event, _signals(event, symbol_halt=_halt()), DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []


# Networks


@pytest.mark.parametrize("name", list(CUSTOMER_ACTIONS))
def test_blocked_network_denies_customer_actions(name: str) -> None:
    event = _event(CUSTOMER_ACTIONS[name])
    blocked = BlockedNetwork(ip_network("198.51.100.0/24"), "credential stuffing", None)
    verdict = judge(event, _signals(event, blocked_network=blocked), DEFAULT)
    assert verdict.outcome is Outcome.DENY
    assert _codes(verdict) == [ReasonCode.NETWORK_IP_BLOCKED]
    assert "198.51.100.0/24" in verdict.hits[0].message_en
    assert "198.51.100.0/24" in verdict.hits[0].message_ja


@pytest.mark.parametrize("name", list(NON_ACTIONS))
def test_blocked_network_does_not_refuse_reports(name: str) -> None:
    event = _event(NON_ACTIONS[name])
    blocked = BlockedNetwork(ip_network("198.51.100.0/24"), "credential stuffing", None)
    verdict = judge(event, _signals(event, blocked_network=blocked), DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []


@pytest.mark.parametrize(
    "raw", ["not-an-ip", "999.1.1.1", "198.51.100.0/24", "::g", " ", "1.2.3", "fe80::1%"]
)
def test_unparseable_ip_is_a_reason_never_an_exception(raw: str) -> None:
    event = _event(factories.login, ip=raw)
    signals = _signals(event)
    assert signals.ip == ParsedIP(address=None, unparseable=True)
    verdict = judge(event, signals, DEFAULT)
    assert _codes(verdict) == [ReasonCode.NETWORK_IP_UNPARSEABLE]
    assert verdict.risk_score == 10
    assert verdict.outcome is Outcome.ALLOW


def test_missing_ip_gives_no_unparseable_reason() -> None:
    document = factories.login()
    del document["ip"]
    event = factories.typed(document)
    assert event.ip is None
    verdict = judge(event, _signals(event), DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []


@pytest.mark.parametrize("raw", ["198.51.100.7", "2001:db8::1", " 203.0.113.9 "])
def test_parseable_ip_gives_no_reason(raw: str) -> None:
    event = _event(factories.login, ip=raw)
    verdict = judge(event, _signals(event), DEFAULT)
    assert _codes(verdict) == []


# Combining


def test_highest_outcome_wins_when_several_rules_fire() -> None:
    event = _event(factories.withdrawal, ip="bogus")
    until = event.occurred_at + timedelta(hours=1)
    held = _signals(event, restrictions=(_restriction(Capability.WITHDRAW, until, Outcome.HOLD),))
    verdict = judge(event, held, DEFAULT)
    assert verdict.outcome is Outcome.HOLD
    assert set(_codes(verdict)) == {
        ReasonCode.RESTRICTION_WITHDRAW_ACTIVE,
        ReasonCode.NETWORK_IP_UNPARSEABLE,
    }

    blocked = BlockedNetwork(ip_network("10.0.0.0/8"), "abuse", None)
    locked = Signals(ip=held.ip, lock=LOCK, restrictions=held.restrictions, blocked_network=blocked)
    verdict = judge(event, locked, DEFAULT)
    assert verdict.outcome is Outcome.DENY
    assert set(_codes(verdict)) == {
        ReasonCode.CUSTOMER_LOCK_ACTIVE,
        ReasonCode.RESTRICTION_WITHDRAW_ACTIVE,
        ReasonCode.NETWORK_IP_BLOCKED,
        ReasonCode.NETWORK_IP_UNPARSEABLE,
    }
    assert verdict.risk_score == 100  # capped, although the scores sum to 210


def test_score_threshold_raises_outcome_above_rule_outcomes() -> None:
    policy = _policy(('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 75'))
    event = _event(factories.login, ip="bogus")
    verdict = judge(event, _signals(event), policy)
    assert verdict.outcome is Outcome.HOLD
    assert verdict.risk_score == 75
    assert _codes(verdict) == [ReasonCode.NETWORK_IP_UNPARSEABLE]
    assert verdict.required_factor is None


@pytest.mark.parametrize(
    ("build", "factor"),
    [
        (factories.login, FactorClass.PHISHING_RESISTANT),
        (factories.order, FactorClass.ANY_MFA),
        (factories.withdrawal, FactorClass.PHISHING_RESISTANT),
        (contact_change, FactorClass.PHISHING_RESISTANT),
    ],
    ids=["login", "order", "withdrawal", "contact_change"],
)
def test_challenge_names_the_required_factor(build: Builder, factor: FactorClass) -> None:
    policy = _policy(('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 40'))
    event = _event(build, ip="bogus")
    verdict = judge(event, _signals(event), policy)
    assert verdict.outcome is Outcome.CHALLENGE
    assert verdict.risk_score == 40
    assert _codes(verdict) == [ReasonCode.NETWORK_IP_UNPARSEABLE]
    assert verdict.required_factor is factor


def test_required_factor_follows_the_policy_file() -> None:
    policy = _policy(
        ('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 40'),
        ('order = "any_mfa"', 'order = "phishing_resistant"'),
    )
    event = _event(factories.order, ip="bogus")
    verdict = judge(event, _signals(event), policy)
    assert verdict.outcome is Outcome.CHALLENGE
    assert verdict.required_factor is FactorClass.PHISHING_RESISTANT


def test_scores_do_not_escalate_events_that_are_not_customer_actions() -> None:
    policy = _policy(('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 40'))
    event = _event(logout, ip="bogus")
    verdict = judge(event, _signals(event), policy)
    assert verdict.outcome is Outcome.ALLOW  # nothing to challenge on a logout
    assert verdict.required_factor is None
    assert [h.code for h in verdict.hits] == [ReasonCode.NETWORK_IP_UNPARSEABLE]
    assert verdict.risk_score == 40


# Payout cooling-off


def test_allowed_payout_change_restricts_withdrawals_for_the_cooling_off() -> None:
    event = _event(factories.payout_change, minutes=30)
    verdict = judge(event, _signals(event), DEFAULT)
    assert verdict.outcome is Outcome.ALLOW
    assert _codes(verdict) == []
    assert verdict.restrictions == (
        Restriction(
            capability=Capability.WITHDRAW,
            until=event.occurred_at + timedelta(hours=72),
            enforcement=Outcome.HOLD,
            reason=ReasonCode.PAYOUT_DESTINATION_COOLING_OFF,
        ),
    )


def test_cooling_off_length_and_enforcement_follow_the_policy() -> None:
    policy = _policy(
        ("payout_change_hours = 72", "payout_change_hours = 24"),
        ('withdraw = "hold"', 'withdraw = "deny"'),
    )
    event = _event(factories.payout_change)
    (restriction,) = judge(event, _signals(event), policy).restrictions
    assert restriction.until == event.occurred_at + timedelta(hours=24)
    assert restriction.enforcement is Outcome.DENY


def test_challenged_payout_change_still_imposes_the_cooling_off() -> None:
    policy = _policy(('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 40'))
    event = _event(factories.payout_change, ip="bogus")
    verdict = judge(event, _signals(event), policy)
    assert verdict.outcome is Outcome.CHALLENGE
    assert verdict.required_factor is FactorClass.PHISHING_RESISTANT
    assert [r.capability for r in verdict.restrictions] == [Capability.WITHDRAW]


@pytest.mark.parametrize("signal", ["lock", "blocked_network"])
def test_denied_payout_change_imposes_no_restriction(signal: str) -> None:
    event = _event(factories.payout_change)
    blocked = BlockedNetwork(ip_network("198.51.100.7/32"), "abuse", None)
    fields: dict[str, Any] = {"lock": LOCK} if signal == "lock" else {"blocked_network": blocked}
    verdict = judge(event, _signals(event, **fields), DEFAULT)
    assert verdict.outcome is Outcome.DENY
    assert verdict.restrictions == ()


def test_held_payout_change_imposes_no_restriction() -> None:
    event = _event(factories.payout_change)
    until = event.occurred_at + timedelta(hours=1)
    signals = _signals(
        event, restrictions=(_restriction(Capability.CHANGE_PAYOUT, until, Outcome.HOLD),)
    )
    verdict = judge(event, signals, DEFAULT)
    assert verdict.outcome is Outcome.HOLD
    assert _codes(verdict) == [ReasonCode.RESTRICTION_CHANGE_PAYOUT_ACTIVE]
    assert verdict.restrictions == ()


def test_zero_cooling_off_imposes_no_restriction() -> None:
    policy = _policy(("payout_change_hours = 72", "payout_change_hours = 0"))
    event = _event(factories.payout_change)
    verdict = judge(event, _signals(event), policy)
    assert verdict.outcome is Outcome.ALLOW
    assert verdict.restrictions == ()


# Shadow policy


def test_shadow_verdict_differs_and_live_is_unaffected() -> None:
    shadow_policy = _policy(
        ('version = "2026.11.1"', 'version = "candidate"'),
        ("challenge = 40\nhold = 70\ndeny = 90", "challenge = 5\nhold = 8\ndeny = 10"),
    )
    event = _event(factories.payout_change, ip="bogus")
    signals = _signals(event)
    decision = decide(event, signals, DEFAULT, shadow_policy)

    assert decision.event_id == event.event_id
    assert decision.live == judge(event, signals, DEFAULT)
    assert decision.live.outcome is Outcome.ALLOW
    assert decision.live.policy_version == "2026.11.1"
    assert [r.capability for r in decision.live.restrictions] == [Capability.WITHDRAW]

    assert decision.shadow is not None
    assert decision.shadow.outcome is Outcome.DENY
    assert decision.shadow.policy_version == "candidate"
    assert [found.code for found in decision.shadow.hits] == [ReasonCode.NETWORK_IP_UNPARSEABLE]
    assert decision.shadow.restrictions == ()


def test_no_shadow_policy_means_no_shadow_verdict() -> None:
    event = _event(factories.login)
    decision = decide(event, _signals(event), DEFAULT)
    assert decision.shadow is None
    assert decision.live.outcome is Outcome.ALLOW


def test_judge_is_deterministic() -> None:
    event = _event(factories.withdrawal, ip="bogus")
    signals = _signals(event, lock=LOCK)
    assert judge(event, signals, DEFAULT) == judge(event, signals, DEFAULT)


# Taxonomy


def test_outcomes_are_ordered() -> None:
    assert [o.rank for o in (Outcome.ALLOW, Outcome.CHALLENGE, Outcome.HOLD, Outcome.DENY)] == [
        0,
        1,
        2,
        3,
    ]
    assert Outcome.highest([Outcome.CHALLENGE, Outcome.DENY, Outcome.HOLD]) is Outcome.DENY
    assert Outcome.highest([Outcome.ALLOW, Outcome.CHALLENGE]) is Outcome.CHALLENGE
    assert Outcome.highest([Outcome.HOLD, Outcome.ALLOW]) is Outcome.HOLD
    assert Outcome.highest([]) is Outcome.ALLOW


_ALLOWED_PLACEHOLDERS = {"capability", "until", "symbol", "network"}
# The login risk engine's messages (docs/reason-codes.md lists what each names).
_ALLOWED_PLACEHOLDERS |= {"asn", "browser", "country", "days", "hours", "key", "previous"}
_ALLOWED_PLACEHOLDERS |= {"reason", "seconds"}
# The order and payout guard's messages (docs/reason-codes.md).
_ALLOWED_PLACEHOLDERS |= {"amount", "buyers", "currency", "customers", "expected", "largest"}
_ALLOWED_PLACEHOLDERS |= {"last", "limit", "limit_up", "lot", "market", "minutes", "months"}
_ALLOWED_PLACEHOLDERS |= {"normal", "percent", "quantity", "score", "sold", "value"}


@pytest.mark.parametrize("code", list(ReasonCode), ids=str)
def test_every_reason_code_has_japanese_and_english_messages(code: ReasonCode) -> None:
    message = MESSAGES[code]
    assert message.ja.strip()
    assert message.en.strip()
    assert message.ja != message.en
    assert any(ord(char) > 0x3000 for char in message.ja)  # written in Japanese
    assert message.en.isascii()
    for text in (message.ja, message.en):
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        assert names <= _ALLOWED_PLACEHOLDERS
    assert len(code.value.split(":")) == 3


def test_reason_codes_are_alphabetised_and_every_capability_has_one() -> None:
    values = [code.value for code in ReasonCode]
    assert values == sorted(values)
    assert set(MESSAGES) == set(ReasonCode)
    assert set(RESTRICTION_REASON) == set(Capability)

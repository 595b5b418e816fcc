"""The order and payout guard's rules, one behaviour each, against hand-built signals."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from kabuguard.risk.codes import FactorClass, Outcome, ReasonCode
from kabuguard.risk.decisions import Verdict
from kabuguard.risk.engine import judge
from kabuguard.risk.events import Event
from kabuguard.risk.login import UNKNOWN_NETWORK, LoginSignals, SessionFacts
from kabuguard.risk.money import NO_MONEY, Destination, DestinationStatus, yen_amount
from kabuguard.risk.policy import Policy, PolicyError
from kabuguard.risk.signals import ParsedIP, Signals
from kabuguard.risk.trading import Coordination, InstrumentFacts, TradingProfile, TradingSignals
from tests import factories

POLICY = Policy.default()
POLICY_TEXT = resources.files("kabuguard.risk").joinpath("default_policy.toml").read_text("utf-8")
T0 = datetime.fromisoformat(factories.at(0))
DAYS_3 = timedelta(hours=72)
TOYOTA = InstrumentFacts(
    "7203", "TSE", "JPY", 100, 10**10, 2 * 10**7, Decimal(3200), Decimal(2200),
    Decimal(2500), T0 - timedelta(minutes=1), Decimal(2490),
)  # fmt: skip
THIN = replace(
    TOYOTA, symbol="584P", average_daily_volume=50_000, last=Decimal(76),
    previous_close=Decimal(63), limit_up=Decimal(93), limit_down=Decimal(33),
)  # fmt: skip


def _judge(document: dict[str, Any], **signals: Any) -> Verdict:
    event: Event = factories.typed(document)
    trading = signals.pop("trading", TradingSignals(instrument=TOYOTA, fetched=True))
    money = signals.pop("money", replace(NO_MONEY, fetched=True))
    return judge(
        event, Signals(ParsedIP.parse(event.ip), trading=trading, money=money, **signals), POLICY
    )


def _codes(verdict: Verdict) -> set[ReasonCode]:
    return {hit.code for hit in verdict.hits}


def _session(score: int) -> LoginSignals:
    facts = SessionFacts("c-1", T0 - timedelta(minutes=5), UNKNOWN_NETWORK, score, False)
    return LoginSignals(session=facts)


# Orders: prices against the market


def test_a_customer_like_limit_is_allowed() -> None:
    verdict = _judge(factories.order(limit_price="2510"))
    assert verdict.outcome is Outcome.ALLOW
    assert not _codes(verdict)


def test_a_limit_far_above_the_last_price_is_held() -> None:
    verdict = _judge(factories.order(limit_price="2900"))
    assert verdict.outcome is Outcome.HOLD
    assert ReasonCode.ORDER_PRICE_FAR_ABOVE_LAST in _codes(verdict)


def test_a_thin_name_has_a_tighter_band_and_a_pump_shows_against_the_close() -> None:
    trading = TradingSignals(instrument=THIN, fetched=True)
    verdict = _judge(factories.order(symbol="584P", limit_price="82"), trading=trading)
    codes = _codes(verdict)
    assert verdict.outcome is Outcome.HOLD  # 7.9 % above: beyond a thin name's 5 %
    assert {ReasonCode.ORDER_PRICE_FAR_ABOVE_LAST, ReasonCode.ORDER_PRICE_FAR_ABOVE_CLOSE,
            ReasonCode.ORDER_SYMBOL_LOW_PRICED} <= codes  # fmt: skip


def test_a_stale_price_is_named_and_widens_the_band() -> None:
    stale = replace(TOYOTA, last_at=T0 - timedelta(hours=3))
    verdict = _judge(
        factories.order(limit_price="2700"), trading=TradingSignals(stale, fetched=True)
    )
    assert ReasonCode.ORDER_PRICE_STALE in _codes(verdict)
    assert verdict.outcome is Outcome.ALLOW  # 8 % is inside the doubled band


def test_a_limit_at_limit_up_is_named() -> None:
    verdict = _judge(factories.order(limit_price="3200"))
    assert ReasonCode.ORDER_PRICE_NEAR_LIMIT_UP in _codes(verdict)


def test_sells_are_not_judged_against_the_band() -> None:
    assert _judge(factories.order(side="sell", limit_price="2900")).outcome is Outcome.ALLOW


# Orders: bad input is reasoned about, never refused unseen


@pytest.mark.parametrize(
    ("fields", "code", "outcome"),
    [
        ({"limit_price": "0"}, ReasonCode.ORDER_PRICE_ZERO, Outcome.DENY),
        ({"quantity": 150}, ReasonCode.ORDER_QUANTITY_ODD_LOT, Outcome.DENY),
        ({"currency": "USD"}, ReasonCode.ORDER_CURRENCY_MISMATCH, Outcome.DENY),
    ],
)
def test_bad_orders_get_a_clear_reason(
    fields: dict[str, Any], code: ReasonCode, outcome: Outcome
) -> None:
    verdict = _judge(factories.order(**fields))
    assert code in _codes(verdict)
    assert verdict.outcome is outcome


def test_an_unknown_symbol_is_held() -> None:
    verdict = _judge(factories.order(symbol="9999"), trading=TradingSignals(fetched=True))
    assert ReasonCode.ORDER_SYMBOL_UNKNOWN in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


def test_a_zero_price_report_is_named() -> None:
    price = {"type": "price", "event_id": "p", "occurred_at": factories.at(0), "symbol": "7203",
             "market": "TSE", "last": "0"}  # fmt: skip
    verdict = _judge(price)
    assert _codes(verdict) == {ReasonCode.REFERENCE_PRICE_ZERO}
    assert verdict.outcome is Outcome.ALLOW


def test_an_order_of_more_than_30_percent_of_listed_shares_is_refused() -> None:
    small = replace(TOYOTA, listed_shares=1000)
    verdict = _judge(factories.order(quantity=400), trading=TradingSignals(small, fetched=True))
    assert ReasonCode.ORDER_QUANTITY_LISTED_SHARES in _codes(verdict)
    assert verdict.outcome is Outcome.DENY


# Orders: against the customer's own trading, the session and their own restrictions


def test_unusual_orders_carry_profile_codes_for_the_notice() -> None:
    profile = TradingProfile(10, 300_000, frozenset({"TSE:7203"}), frozenset({"TSE"}), 0)
    trading = TradingSignals(instrument=THIN, profile=profile, sold_recently_yen=3_000_000,
                             sold_symbols=frozenset({"TSE:7203"}), fetched=True)  # fmt: skip
    verdict = _judge(
        factories.order(symbol="584P", quantity=30000, limit_price="76"), trading=trading
    )
    profile_codes = {c for c in _codes(verdict) if c.value.startswith("order:profile:")}
    assert profile_codes == {ReasonCode.ORDER_PROFILE_VALUE, ReasonCode.ORDER_PROFILE_THIN_SYMBOL,
                             ReasonCode.ORDER_PROFILE_LIQUIDATE_THEN_BUY}  # fmt: skip


def test_first_trade_on_a_market_is_scored() -> None:
    profile = TradingProfile(5, 300_000, frozenset({"NYSE:KO"}), frozenset({"NYSE"}), 0)
    trading = TradingSignals(instrument=TOYOTA, profile=profile, fetched=True)
    assert ReasonCode.ORDER_FIRST_MARKET in _codes(_judge(factories.order(), trading=trading))


def test_session_risk_is_carried_into_buys() -> None:
    verdict = _judge(factories.order(), login=_session(30))
    assert ReasonCode.ORDER_SESSION_RISKY in _codes(verdict)


def test_a_customer_requested_restriction_refuses_the_market() -> None:
    trading = TradingSignals(instrument=TOYOTA, restricted_markets=frozenset({"TSE"}), fetched=True)
    verdict = _judge(factories.order(side="sell"), trading=trading)
    assert ReasonCode.ORDER_PRODUCT_RESTRICTED in _codes(verdict)
    assert verdict.outcome is Outcome.DENY


# Coordination


def _coordinated(
    weighted: float, normal: float = 0.0, until: datetime | None = None
) -> TradingSignals:
    found = Coordination(weighted, False, normal, until)
    return TradingSignals(instrument=TOYOTA, coordination=found, fetched=True)


def test_coordination_holds_a_risky_buyer_once_the_weighted_buyers_reach_the_threshold() -> None:
    verdict = _judge(factories.order(), trading=_coordinated(2.0), login=_session(60))
    assert ReasonCode.ORDER_COORDINATION_SYMBOL in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


def test_coordination_is_relative_to_the_symbols_normal_buyers() -> None:
    busy = _coordinated(2.5, normal=20.0)  # normally about 2 weighted buyers per window
    assert ReasonCode.ORDER_COORDINATION_SYMBOL not in _codes(
        _judge(factories.order(), trading=busy, login=_session(40))
    )


def test_an_open_alert_scores_a_calm_buyer_without_holding() -> None:
    alert = _coordinated(0.0, until=T0 + timedelta(hours=1))
    verdict = _judge(factories.order(), trading=alert)
    assert ReasonCode.ORDER_COORDINATION_SYMBOL in _codes(verdict)
    assert verdict.outcome is not Outcome.HOLD


def test_a_pivoted_account_has_its_buys_held() -> None:
    trading = TradingSignals(instrument=TOYOTA, pivoted_until=T0 + timedelta(hours=1), fetched=True)
    verdict = _judge(factories.order(), trading=trading)
    assert ReasonCode.ORDER_COORDINATION_PIVOT in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


# Payout changes, withdrawals, contact changes


def test_a_payout_change_asks_for_a_passkey_unless_signed() -> None:
    verdict = _judge(factories.payout_change())
    assert (verdict.outcome, verdict.required_factor) == (
        Outcome.CHALLENGE,
        FactorClass.PHISHING_RESISTANT,
    )
    signed = replace(NO_MONEY, fetched=True, signed=True)
    assert _judge(factories.payout_change(), money=signed).outcome is Outcome.ALLOW


@pytest.mark.parametrize(
    ("money", "code"),
    [
        ({"holder_matches": False}, ReasonCode.PAYOUT_HOLDER_MISMATCH),
        ({"account_customers": 1}, ReasonCode.PAYOUT_ACCOUNT_SHARED),
    ],
)
def test_a_wrong_holder_or_a_shared_account_holds_the_change(
    money: dict[str, Any], code: ReasonCode
) -> None:
    verdict = _judge(factories.payout_change(), money=replace(NO_MONEY, fetched=True, **money))
    assert code in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


@pytest.mark.parametrize(
    ("money", "code"),
    [
        ({"destination": Destination("dst-1", DestinationStatus.ACCEPTED, T0, T0 + DAYS_3)},
         ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF),
        ({"destination": Destination("dst-1", DestinationStatus.REFUSED, T0, None)},
         ReasonCode.WITHDRAWAL_DESTINATION_REFUSED),
        ({"risky_login_at": T0 - timedelta(hours=2), "risky_login_score": 40,
          "destination": Destination("dst-1", DestinationStatus.ACCEPTED, T0 - DAYS_3 * 2, None)},
         ReasonCode.WITHDRAWAL_LOGIN_RISKY),
        # To a destination kabuguard does not know, when the customer's record had to drop
        # destinations: it may be one of them, and is judged as the worst of them.
        ({"forgotten": Destination("", DestinationStatus.REFUSED, T0 - DAYS_3 * 20, None)},
         ReasonCode.WITHDRAWAL_DESTINATION_REFUSED),
        ({"forgotten": Destination("", DestinationStatus.ACCEPTED, T0, T0 + DAYS_3)},
         ReasonCode.WITHDRAWAL_DESTINATION_COOLING_OFF),
        ({"risky_login_at": T0 - timedelta(hours=2), "risky_login_score": 40,
          "forgotten": Destination("", DestinationStatus.ACCEPTED, T0 - DAYS_3 * 2, None)},
         ReasonCode.WITHDRAWAL_LOGIN_RISKY),
    ],
)  # fmt: skip
def test_withdrawals_that_are_held(money: dict[str, Any], code: ReasonCode) -> None:
    verdict = _judge(factories.withdrawal(), money=replace(NO_MONEY, fetched=True, **money))
    assert code in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD


def test_a_risky_login_alone_does_not_hold_money_going_to_a_long_standing_account() -> None:
    money = replace(NO_MONEY, fetched=True, risky_login_at=T0 - timedelta(hours=2),
                    risky_login_score=40)  # fmt: skip
    assert _judge(factories.withdrawal(), money=money).outcome is Outcome.ALLOW


@pytest.mark.parametrize(("signed", "held"), [(False, True), (True, False)])
def test_a_risky_login_does_not_hold_money_going_to_an_account_registered_with_a_passkey(
    signed: bool, held: bool
) -> None:
    fresh = Destination("dst-1", DestinationStatus.ACCEPTED, T0 - DAYS_3 * 2, None, signed=signed)
    money = replace(NO_MONEY, fetched=True, destination=fresh,
                    risky_login_at=T0 - timedelta(hours=2), risky_login_score=40)  # fmt: skip
    verdict = _judge(factories.withdrawal(), money=money)
    assert (ReasonCode.WITHDRAWAL_LOGIN_RISKY in _codes(verdict)) is held
    assert (verdict.outcome is Outcome.HOLD) is held


@pytest.mark.parametrize(("stepped_up", "held"), [(False, True), (True, False)])
def test_a_session_stepped_up_to_a_passkey_does_not_hold_its_withdrawal(
    stepped_up: bool, held: bool
) -> None:
    """The session's login scored 50; challenged for a passkey, the session that goes on is
    the customer's own (the broker enforces challenges)."""
    fresh = Destination("dst-1", DestinationStatus.ACCEPTED, T0 - DAYS_3 * 2, None)
    facts = SessionFacts("c-1", T0 - timedelta(minutes=5), UNKNOWN_NETWORK, 50, False,
                         stepped_up=stepped_up)  # fmt: skip
    money = replace(NO_MONEY, fetched=True, destination=fresh)
    verdict = _judge(factories.withdrawal(), money=money, login=LoginSignals(session=facts))
    assert (ReasonCode.WITHDRAWAL_LOGIN_RISKY in _codes(verdict)) is held


def test_a_destination_known_is_judged_as_itself_not_as_what_was_forgotten() -> None:
    usable = Destination("dst-1", DestinationStatus.ACCEPTED, T0 - DAYS_3 * 20, None)
    refused = Destination("", DestinationStatus.REFUSED, T0 - DAYS_3, None)
    money = replace(NO_MONEY, fetched=True, destination=usable, forgotten=refused)
    assert _judge(factories.withdrawal(), money=money).outcome is Outcome.ALLOW


def test_a_risky_login_alone_does_not_hold_money_to_an_account_unknown_but_not_new() -> None:
    """The record dropped only destinations registered long ago: the unknown one is not new."""
    old = Destination("", DestinationStatus.ACCEPTED, T0 - DAYS_3 * 20, None)
    money = replace(NO_MONEY, fetched=True, forgotten=old, risky_login_at=T0 - timedelta(hours=2),
                    risky_login_score=40)  # fmt: skip
    assert _judge(factories.withdrawal(), money=money).outcome is Outcome.ALLOW


def test_an_unusual_amount_is_challenged() -> None:
    money = replace(NO_MONEY, fetched=True, largest_withdrawal=100_000)
    verdict = _judge(factories.withdrawal(amount="5000000"), money=money)
    assert ReasonCode.WITHDRAWAL_AMOUNT_UNUSUAL in _codes(verdict)
    assert verdict.outcome is Outcome.CHALLENGE


@pytest.mark.parametrize(
    ("amount", "currency", "outcome", "yen"),
    [
        ("900000", "USD", Outcome.CHALLENGE, "135,000,000"),  # at the rate orders use
        ("6000", "USD", Outcome.ALLOW, None),  # ¥900,000: below the floor
        ("900000", "JPY", Outcome.ALLOW, None),
        ("10", "EUR", Outcome.HOLD, None),  # no rate: cannot be compared, a person looks
    ],
)
def test_an_amount_is_compared_in_yen(
    amount: str, currency: str, outcome: Outcome, yen: str | None
) -> None:
    verdict = _judge(factories.withdrawal(amount=amount, currency=currency))
    assert verdict.outcome is outcome
    assert (ReasonCode.WITHDRAWAL_AMOUNT_UNUSUAL in _codes(verdict)) is (
        outcome is not Outcome.ALLOW
    )
    if yen is not None:
        assert f"JPY {yen}" in verdict.hits[0].message_en


@pytest.mark.parametrize(
    ("amount", "currency", "yen"),
    [("5000", "USD", 750_000), ("0.4", "JPY", 1), ("100.01", "HKD", 1901), ("1", "EUR", None)],
)
def test_yen_amount_rounds_a_fraction_of_a_yen_up(
    amount: str, currency: str, yen: int | None
) -> None:
    assert yen_amount(Decimal(amount), currency) == yen


def test_a_contact_change_on_a_dormant_account_is_held() -> None:
    document = {"type": "contact_change", "event_id": "cc", "occurred_at": factories.at(0),
                "customer_id": "c-1", "contact": "email", "new_value": "x@example.com"}  # fmt: skip
    money = replace(NO_MONEY, fetched=True, previous_login_at=T0 - timedelta(days=400))
    verdict = _judge(document, money=money)
    assert ReasonCode.CONTACT_ACCOUNT_DORMANT in _codes(verdict)
    assert verdict.outcome is Outcome.HOLD
    recent = replace(money, previous_login_at=T0 - timedelta(days=30))
    assert _judge(document, money=recent).outcome is Outcome.ALLOW


# Policy


def test_guard_tables_are_validated() -> None:
    base = POLICY_TEXT.replace("premium_thin = 0.05", "premium_thin = 0.5")
    with pytest.raises(PolicyError, match=r"premium_thin must be <= orders\.premium_liquid"):
        Policy.from_toml(base, source="t")
    with pytest.raises(PolicyError, match=r"unknown key\(s\) in \[coordination\]: windw"):
        Policy.from_toml(POLICY_TEXT.replace("window_minutes = 30", "windw = 30"), source="t")
    with pytest.raises(PolicyError, match="halt: 'now' is not one of"):
        Policy.from_toml(POLICY_TEXT.replace('halt = "propose"', 'halt = "now"'), source="t")


def test_a_policy_without_guard_tables_takes_the_built_in_ones() -> None:
    start = POLICY_TEXT.index("[orders]")
    assert Policy.from_toml(POLICY_TEXT[:start], source="t").guard == POLICY.guard

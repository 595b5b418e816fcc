"""The pure mapping from a decided event to notices, one case per event type."""

from __future__ import annotations

from typing import Any

import pytest

from kabuguard.notifications.kinds import NoticeKind as K
from kabuguard.notifications.notices import CustomerView, Notice, device_key, notices_for
from kabuguard.risk.events import ContactKind
from tests import factories as f
from tests.notifications import builders as b

NEW_DEVICE = CustomerView()


def decided(outcome: str = "allow", *codes: str) -> dict[str, Any]:
    reasons = [{"code": c, "message": {"ja": f"{c} の説明", "en": f"about {c}"}} for c in codes]
    return {"outcome": outcome, "reasons": reasons}


def notices(
    event: dict[str, Any],
    decision: dict[str, Any] | None = None,
    customer: CustomerView = NEW_DEVICE,
) -> list[Notice]:
    return list(notices_for(f.typed(event), decision or decided(), customer))


def kinds(
    event: dict[str, Any],
    decision: dict[str, Any] | None = None,
    customer: CustomerView = NEW_DEVICE,
) -> list[K]:
    return [n.kind for n in notices(event, decision, customer)]


def test_a_login_from_a_new_device_is_always_notified_with_where_it_came_from() -> None:
    [notice] = notices(f.login(factor="passkey"))
    assert notice.kind is K.LOGIN_DEVICE_NEW
    assert notice.facts["ip"] == "198.51.100.7"
    assert notice.facts["factor"] == "passkey"
    assert notice.facts["occurred_at"] == f.at(0)
    assert not notice.kind.optional


def test_a_login_from_a_known_device_is_notified_only_when_asked_for() -> None:
    login = f.login()
    device = device_key(f.typed(login))
    assert device is not None
    known = CustomerView(known_devices=frozenset({device}))
    assert kinds(login, customer=known) == []
    every = CustomerView(
        known_devices=known.known_devices, optional=frozenset({K.LOGIN_DEVICE_KNOWN})
    )
    assert kinds(login, customer=every) == [K.LOGIN_DEVICE_KNOWN]


def test_a_device_is_the_brokers_device_id_else_the_user_agent() -> None:
    with_id = f.typed(f.login(device_id="d-9"))
    assert device_key(with_id) == device_key(f.typed(f.login(device_id="d-9", user_agent="x")))
    assert device_key(f.typed(f.login(device_id=None))) != device_key(with_id)
    assert device_key(f.typed(f.login(device_id=None, user_agent=None))) is None


def test_login_steps_of_one_session_are_notified_once() -> None:
    step_two = f.login(step="second_factor", session_id="s-7")
    assert kinds(step_two, customer=CustomerView(login_session="s-7")) == []
    assert kinds(step_two, customer=CustomerView(login_session="s-6")) == [K.LOGIN_DEVICE_NEW]


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("challenge", K.LOGIN_STEP_UP_REQUESTED),
        ("deny", K.LOGIN_ATTEMPT_REFUSED),
        ("hold", K.LOGIN_ATTEMPT_REFUSED),
    ],
)
def test_a_correct_password_that_meets_a_challenge_or_refusal_is_news(
    outcome: str, expected: K
) -> None:
    seen = CustomerView(login_session="sess-1")  # even within a notified session
    assert kinds(f.login(session_id="sess-1"), decided(outcome), seen) == [expected]


def test_failed_login_steps_are_not_notified() -> None:
    assert kinds(f.login(result="failure")) == []
    assert kinds(f.login(customer=None, attempted_username="taro")) == []


def test_orders_are_notified_and_those_far_from_usual_trading_say_why() -> None:
    [placed] = notices(f.order(limit_price="2500", quantity=300))
    assert placed.kind is K.ORDER_PLACED
    assert placed.facts["quantity"] == 300
    assert placed.facts["limit_price"] == "2500"
    unusual = decided("hold", "network:ip:unparseable", "order:profile:price_far_above")
    [notice] = notices(f.order(), unusual)
    assert notice.kind is K.ORDER_PROFILE_UNUSUAL
    assert notice.facts["outcome"] == "hold"
    assert notice.facts["reasons"] == [
        {"ja": "order:profile:price_far_above の説明", "en": "about order:profile:price_far_above"}
    ]


def test_executions_withdrawals_and_credential_changes_are_notified() -> None:
    [executed] = notices(b.execution(price="2950.5"))
    assert (executed.kind, executed.facts["price"]) == (K.ORDER_EXECUTED, "2950.5")
    [withdrawal] = notices(f.withdrawal(amount="3370000"), decided("hold"))
    assert withdrawal.kind is K.WITHDRAWAL_REQUESTED
    assert (withdrawal.facts["amount"], withdrawal.facts["outcome"]) == ("3370000", "hold")
    [used] = notices(b.credential_change(credential="recovery_codes", action="used"))
    assert used.kind is K.CREDENTIAL_FACTOR_CHANGED
    assert (used.facts["credential"], used.facts["action"]) == ("recovery_codes", "used")
    assert kinds(b.credential_change(action="removed")) == [K.CREDENTIAL_FACTOR_CHANGED]


def test_cancellations_are_optional() -> None:
    assert kinds(b.cancellation()) == []
    wanted = CustomerView(optional=frozenset({K.ORDER_CANCELLED}))
    assert kinds(b.cancellation(), customer=wanted) == [K.ORDER_CANCELLED]


def test_a_payout_change_names_the_new_account_masked() -> None:
    [notice] = notices(f.payout_change(account_number="1234567", bank_code="0005"))
    assert notice.kind is K.PAYOUT_DESTINATION_CHANGED
    assert notice.facts["account_number"] == "***4567"
    assert notice.facts["bank_code"] == "0005"
    assert "holder_name_kana" not in notice.facts
    assert notice.previous is None  # it goes to every registered contact


def test_a_contact_change_also_tells_the_previous_contact_and_masks_the_new_value() -> None:
    [email] = notices(b.contact_change(contact="email", new_value="attacker@evil-mail.example"))
    assert (email.kind, email.previous) == (K.CONTACT_DETAILS_CHANGED, ContactKind.EMAIL)
    assert email.facts["new_value"] == "a***@e***.example"
    [phone] = notices(b.contact_change(contact="phone", new_value="090-1234-5678"))
    assert (phone.previous, phone.facts["new_value"]) == (ContactKind.PHONE, "*********5678")
    [address] = notices(b.contact_change(contact="address", new_value="東京都千代田区"))
    assert (address.previous, address.facts["new_value"]) == (None, "東***")


def test_locks_and_unlocks_are_notified_with_who_did_it() -> None:
    [locked] = notices(f.lock(initiated_by="staff"))
    assert (locked.kind, locked.facts["initiated_by"]) == (K.ACCOUNT_LOCK_SET, "staff")
    assert kinds(f.unlock()) == [K.ACCOUNT_LOCK_LIFTED]


def test_reports_and_reference_data_are_not_notified() -> None:
    logout = {"type": "logout", "event_id": "lo-1", "occurred_at": f.at(0), "customer_id": "c-1"}
    price = {
        "type": "price",
        "event_id": "px-1",
        "occurred_at": f.at(0),
        "symbol": "7203",
        "market": "TSE",
        "last": "2500",
    }
    assert kinds(logout) == []
    assert kinds(price) == []

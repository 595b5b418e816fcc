"""The transaction-signing page: the details in the customer's words, and its path checked."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from kabuguard.notifications.kinds import Locale
from kabuguard.pages.security import amount_text
from kabuguard.pages.words import WORDS
from tests.auth.conftest import Auth, Customer
from tests.pages.helpers import csrf


def _signing(auth: Auth, customer: Customer, action: str, details: dict[str, str]) -> str:
    reply = auth.http.post(
        "/v1/signing/requests",
        json={"customer_id": customer.customer_id, "action": action, "details": details},
    )
    assert reply.status_code == 201, reply.text
    request_id: str = reply.json()["id"]
    return request_id


def _rows(page: httpx.Response) -> list[tuple[str, str]]:
    return re.findall(r'<tr><th scope="row">([^<]*)</th><td>([^<]*)</td></tr>', page.text)


@pytest.fixture
def customer(auth: Auth) -> Customer:
    made = auth.create()
    auth.register_passkey(made)  # a signing request needs a passkey to sign with
    return made


def test_a_withdrawal_shows_the_amount_formatted_first(
    auth: Auth, browser: httpx.Client, customer: Customer
) -> None:
    details = {"withdrawal_id": "wd-1", "amount": "1234567", "destination_id": "dst-1"}
    request_id = _signing(auth, customer, "withdrawal", details)
    japanese = _rows(browser.get(f"/auth/sign/{request_id}"))
    assert japanese == [("金額", "1,234,567円"), ("出金先", "dst-1"), ("受付番号", "wd-1")]
    english = _rows(browser.get(f"/auth/sign/{request_id}?lang=en"))
    assert english[0] == ("Amount", "¥1,234,567")


def test_a_payout_change_shows_the_account_type_in_words_in_a_fixed_order(
    auth: Auth, browser: httpx.Client, customer: Customer
) -> None:
    details = {
        "destination_id": "dst-2",
        "bank_code": "0005",
        "branch_code": "123",
        "account_type": "ordinary",
        "account_number": "1234567",
        "holder_name_kana": "ヤマダ タロウ",
    }
    request_id = _signing(auth, customer, "payout_change", details)
    shown = _rows(browser.get(f"/auth/sign/{request_id}"))
    assert shown == [
        ("銀行コード", "0005"),
        ("支店コード", "123"),
        ("口座種別", "普通"),
        ("口座番号", "1234567"),
        ("口座名義（カナ）", "ヤマダ タロウ"),
        ("出金先", "dst-2"),
    ]
    english = dict(_rows(browser.get(f"/auth/sign/{request_id}?lang=en")))
    assert english["Account type"] == "Ordinary"


def test_a_contact_change_names_the_contact_in_words(
    auth: Auth, browser: httpx.Client, customer: Customer
) -> None:
    details = {"contact": "email", "new_value": "hanako@example.com"}
    request_id = _signing(auth, customer, "contact_change", details)
    for lang, contact in ((Locale.JA, "メールアドレス"), (Locale.EN, "E-mail address")):
        shown = _rows(browser.get(f"/auth/sign/{request_id}?lang={lang.value}"))
        words = WORDS[lang]
        assert shown == [
            (words["detail_contact"], contact),
            (words["detail_new_value"], "hanako@example.com"),
        ]


@pytest.mark.parametrize(
    ("amount", "currency", "ja", "en"),
    [
        ("1234567", "JPY", "1,234,567円", "¥1,234,567"),
        ("500", "JPY", "500円", "¥500"),
        ("1234.5", "USD", "1,234.5 USD", "USD 1,234.5"),
    ],
)
def test_amounts_are_grouped_with_their_currency(
    amount: str, currency: str, ja: str, en: str
) -> None:
    assert amount_text(amount, currency, Locale.JA) == ja
    assert amount_text(amount, currency, Locale.EN) == en


def test_a_nul_or_an_overlong_request_id_is_refused_on_every_signing_page(
    auth: Auth, browser: httpx.Client
) -> None:
    # A NUL reached PostgreSQL, which cannot compare one: a 500 there.
    token = csrf(browser.get("/auth/login"))
    for request_id in ("ab%00cd", "%00", "x" * 65):
        page = browser.get(f"/auth/sign/{request_id}")
        assert 400 <= page.status_code < 500, (request_id, page.status_code)
        for call in ("options", "approve"):
            body: dict[str, Any] = {"challenge_id": "c", "credential": {}}
            reply = browser.post(
                f"/auth/sign/{request_id}/{call}", json=body, headers={"x-csrf-token": token}
            )
            assert 400 <= reply.status_code < 500, (request_id, call, reply.status_code)
    assert browser.get(f"/auth/sign/{'x' * 64}").status_code == 404  # the longest id: unknown

"""Passkeys end to end in Chromium: registration, passwordless login, transaction signing.

The browser's own WebAuthn runs against a CDP virtual authenticator (ctap2, internal,
resident key, user verification): the server sees real attestation and assertion payloads.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from kabuguard.auth.models import AccountRow
from tests.browser.conftest import Served, screenshot

PASSWORD = "violet-harbour-lantern-42"


def _sign_up(page: Any, served: Served) -> str:
    username = f"hanako-{secrets.token_hex(3)}"
    page.goto(f"{served.url}/auth/signup")
    page.fill("#username", username)
    page.fill("#display_name", "山田花子")
    page.fill("#email", "hanako@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/auth/passkeys/new")
    return username


def _register_and_log_in(page: Any, served: Served) -> str:
    username = _sign_up(page, served)
    page.click("[data-webauthn=register]")
    page.wait_for_url("**/auth/login")  # the onboarding session ends once a passkey exists
    page.click("[data-webauthn=login]")
    page.wait_for_url("**/auth/security")
    return username


def _customer_id(served: Served, username: str) -> str:
    with served.database.read() as session:
        return str(
            session.execute(
                select(AccountRow.customer_id).where(AccountRow.username == username)
            ).scalar_one()
        )


def test_login_page_in_japanese_and_english(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/auth/login")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator("[data-webauthn=login]").is_visible()  # the script found WebAuthn
    screenshot(page, "login-ja")
    page.goto(f"{served.url}/auth/login?lang=en")
    assert page.locator("h1").inner_text() == "Log in"
    screenshot(page, "login-en")


def test_passkey_registration_and_passwordless_login(page: Any, served: Served) -> None:
    _register_and_log_in(page, served)
    assert page.locator("h1").inner_text() == "セキュリティセンター"
    assert "スタンディング" not in page.content()
    assert page.get_by_text("すでに出されているご注文").is_visible()  # standing orders run on
    screenshot(page, "security-centre-ja")
    page.goto(f"{served.url}/auth/security?lang=en")
    assert page.get_by_text("Devices logged in").is_visible()
    screenshot(page, "security-centre-en")


def test_transaction_signing_approves_exactly_the_details_shown(page: Any, served: Served) -> None:
    customer = _customer_id(served, _register_and_log_in(page, served))
    details = {"withdrawal_id": "wd-browser-1", "amount": "10000", "destination_id": "dst-1"}
    with served.api() as api:
        created = api.post(
            "/v1/signing/requests",
            json={"customer_id": customer, "action": "withdrawal", "details": details},
        )
        assert created.status_code == 201, created.text
        request = created.json()
        page.goto(request["url"])
        assert page.get_by_text("10,000円").is_visible()  # grouped, with its currency
        page.click("[data-webauthn=sign]")
        page.wait_for_selector(".notice")
        assert api.get(f"/v1/signing/requests/{request['id']}").json()["status"] == "approved"
        event = {
            "type": "withdrawal",
            "event_id": "evt-browser-wd-1",
            "occurred_at": "2026-11-22T00:00:00+00:00",
            "customer_id": customer,
            "currency": "JPY",
        } | details
        bigger = api.post(
            f"/v1/signing/requests/{request['id']}/submit",
            json={"event": event | {"amount": "1000000"}},
        )
        assert bigger.status_code == 409
        assert "amount" in bigger.json()["error"]["message"]
        exact = api.post(f"/v1/signing/requests/{request['id']}/submit", json={"event": event})
        assert exact.status_code == 200, exact.text
        assert exact.json()["signing"]["event_id"] == "evt-browser-wd-1"

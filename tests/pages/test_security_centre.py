"""The security centre: its activity list, and the forms that end sessions."""

from __future__ import annotations

from datetime import timedelta

import httpx

from kabuguard.db import Database
from kabuguard.notifications.kinds import Locale
from kabuguard.pages.security import SHOWN
from kabuguard.pages.words import WORDS
from tests.auth.conftest import Auth
from tests.factories import instrument, order
from tests.factories import payout_change as payout_change_event
from tests.factories import withdrawal as withdrawal_event
from tests.pages.helpers import login_with_email_code


def test_a_burst_of_other_events_does_not_hide_the_login(
    auth: Auth, browser: httpx.Client, database: Database
) -> None:
    # An attacker who logs in and then sends 30 orders must not push their login off the list.
    customer = auth.create()
    login_with_email_code(browser, customer, database)
    assert auth.http.post("/v1/events", json=instrument()).status_code == 200
    now = auth.server.clock.now
    for second in range(1, 32):
        at = (now + timedelta(seconds=second)).isoformat()
        placed = auth.http.post("/v1/events", json=order(customer.customer_id, occurred_at=at))
        assert placed.status_code == 200, placed.text
    centre = browser.get("/auth/security")
    assert centre.status_code == 200
    assert WORDS[Locale.JA]["sec_no_activity"] not in centre.text
    assert "ログイン (パスワード: 成功)" in centre.text
    assert "ログイン (2段階目の確認: 成功)" in centre.text


def test_withdrawals_and_payout_changes_are_named_in_both_languages(
    auth: Auth, browser: httpx.Client, database: Database
) -> None:
    customer = auth.create()
    login_with_email_code(browser, customer, database)
    now = auth.server.clock.now
    for second, event in enumerate(
        (withdrawal_event(customer.customer_id), payout_change_event(customer.customer_id)), 1
    ):
        event["occurred_at"] = (now + timedelta(seconds=second)).isoformat()
        assert auth.http.post("/v1/events", json=event).status_code == 200
    for lang in Locale:
        centre = browser.get(f"/auth/security?lang={lang.value}")
        words = WORDS[lang]
        assert f"<td>{words['event_withdrawal']}</td>" in centre.text
        assert f"<td>{words['event_payout_change']}</td>" in centre.text
        assert f"<td>{words['event_other']}</td>" not in centre.text


def test_every_event_type_shown_has_its_own_words_in_both_languages() -> None:
    for words in WORDS.values():
        assert not sorted(kind for kind in SHOWN if f"event_{kind.value}" not in words)


def test_a_session_id_out_of_range_is_refused_not_a_server_error(
    auth: Auth, browser: httpx.Client, database: Database
) -> None:
    customer = auth.create()
    token = login_with_email_code(browser, customer, database)
    for session_id in ("99999999999999999999", str(2**63), "0", "-1"):
        revoked = browser.post(f"/auth/sessions/{session_id}/revoke", data={"csrf": token})
        assert 400 <= revoked.status_code < 500, (session_id, revoked.status_code)
    # The largest id a database column holds is a session that does not exist: no 5xx either.
    largest = browser.post(f"/auth/sessions/{2**63 - 1}/revoke", data={"csrf": token})
    assert largest.status_code == 303
    assert largest.headers["location"] == "/auth/security"
    assert browser.get("/auth/security").status_code == 200  # still logged in

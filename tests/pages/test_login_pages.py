"""The login pages: the factors offered, language links that work, messages in one language."""

from __future__ import annotations

import httpx
import pytest

from kabuguard.db import Database
from kabuguard.notifications.kinds import Locale
from kabuguard.pages.words import WORDS
from tests.auth.conftest import Auth, last_code
from tests.pages.helpers import csrf, english, language_links, password_step


def _support(auth: Auth, lang: Locale) -> str:
    return WORDS[lang]["no_factor"].format(broker=auth.server.settings.broker_name)


def test_a_customer_without_an_e_mail_address_is_told_to_call_not_offered_dead_ends(
    auth: Auth, browser: httpx.Client
) -> None:
    customer = auth.create(email=None)  # no address, no passkey, no app, no recovery codes
    token = password_step(browser, customer)
    second = browser.get("/auth/login/second")
    assert second.status_code == 200
    assert 'value="email_otp"' not in second.text
    assert 'value="recovery_code"' not in second.text
    assert 'action="/auth/login/email"' not in second.text
    assert _support(auth, Locale.JA) in second.text
    assert WORDS[Locale.JA]["need_passkey"] not in second.text
    assert _support(auth, Locale.EN) in browser.get("/auth/login/second?lang=en").text
    # The JSON API offers no e-mail either.
    pending = auth.password(customer)
    assert pending.status_code == 200, pending.text
    assert "email_otp" not in pending.json()["factors"]
    # Asking for an e-mail anyway gets the same answer: no "use your passkey" they lack.
    sent = browser.post("/auth/login/email?lang=ja", data={"csrf": token})
    assert sent.status_code == 403
    assert _support(auth, Locale.JA) in sent.text
    assert WORDS[Locale.JA]["err_factor_not_allowed"] not in sent.text


def test_e_mail_codes_are_offered_with_an_address_and_recovery_codes_once_made(
    auth: Auth, browser: httpx.Client, database: Database
) -> None:
    customer = auth.create()
    password_step(browser, customer)
    second = browser.get("/auth/login/second")
    assert 'value="email_otp"' in second.text
    assert 'value="recovery_code"' not in second.text  # none were made
    assert _support(auth, Locale.JA) not in second.text
    auth.register_passkey(customer)  # a calm passkey session may make recovery codes
    headers = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    assert auth.http.post("/v1/auth/recovery-codes", headers=headers).status_code == 200
    password_step(browser, customer)
    second = browser.get("/auth/login/second")
    assert 'value="email_otp"' in second.text
    assert 'value="recovery_code"' in second.text


def _every_link_is_a_page(browser: httpx.Client, page: httpx.Response) -> None:
    links = language_links(page)
    assert len(links) == 2
    for link in links:
        shown = browser.get(link)
        assert shown.status_code in (200, 303), (link, shown.status_code)
        assert "text/html" in shown.headers.get("content-type", "text/html"), link


def test_language_links_of_a_page_answering_a_post_lead_to_a_page(
    auth: Auth, browser: httpx.Client, database: Database
) -> None:
    customer = auth.create()
    token = password_step(browser, customer)
    sent = browser.post("/auth/login/email", data={"csrf": token})
    assert sent.status_code == 200
    assert language_links(sent) == ["/auth/login/second?lang=ja", "/auth/login/second?lang=en"]
    _every_link_is_a_page(browser, sent)
    assert "We e-mailed" not in browser.get("/auth/login/second?lang=en").text
    assert "Confirm it is you" in browser.get("/auth/login/second?lang=en").text
    wrong = browser.post(
        "/auth/login/code", data={"csrf": token, "factor": "email_otp", "code": "000000x"}
    )
    assert wrong.status_code == 401
    _every_link_is_a_page(browser, wrong)
    # Logged in, the forms of the security pages answer POSTs with pages as well.
    code = last_code(database, customer.customer_id)
    done = browser.post(
        "/auth/login/code", data={"csrf": token, "factor": "email_otp", "code": code}
    )
    assert done.headers["location"] == "/auth/security"
    wrong_app_code = browser.post("/auth/totp/confirm", data={"csrf": token, "code": "000000"})
    assert wrong_app_code.status_code in (400, 401, 409)
    _every_link_is_a_page(browser, wrong_app_code)
    locked = browser.post("/auth/lock", data={"csrf": token, "scope": "login"})
    assert locked.status_code == 200
    _every_link_is_a_page(browser, locked)
    english_lock = browser.get(language_links(locked)[1])
    assert "standing" in english_lock.text.lower()  # the same message, in English


def test_a_get_page_keeps_its_other_query_parameters_in_its_language_links(
    browser: httpx.Client,
) -> None:
    page = browser.get("/auth/login?notice=unlocked")
    assert language_links(page) == [
        "/auth/login?notice=unlocked&lang=ja",
        "/auth/login?notice=unlocked&lang=en",
    ]


@pytest.mark.parametrize("lang", list(Locale))
def test_webauthn_calls_of_the_pages_answer_in_the_customers_language(
    auth: Auth, browser: httpx.Client, lang: Locale
) -> None:
    token = csrf(browser.get("/auth/login"))
    headers = {"x-csrf-token": token}
    missing = browser.post(f"/auth/passkey/login?lang={lang.value}", json={}, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["message"] == WORDS[lang]["err_invalid_request"]
    assert missing.headers["content-language"] == lang.value
    options = browser.post("/auth/passkey/login/options", json={}, headers=headers).json()
    forged = {"challenge_id": options["challenge_id"], "credential": {"id": "nope"}}
    refused = browser.post(f"/auth/passkey/login?lang={lang.value}", json=forged, headers=headers)
    assert 400 <= refused.status_code < 500
    code = refused.json()["error"]["code"]
    assert refused.json()["error"]["message"] == WORDS[lang][f"err_{code}"]
    # The broker's JSON API keeps its English messages.
    api = auth.http.post(
        "/v1/auth/passkeys/login",
        json={
            "challenge_id": "nope",
            "credential": {},
            "client": {"device_id": "device-0123456789"},
        },
    )
    assert 400 <= api.status_code < 500
    assert english(api.json()["error"]["message"])

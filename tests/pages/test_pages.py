"""The hosted pages over real HTTP: headers, CSRF, cookies, the login flow, ja/en, the lock."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from sqlalchemy import select

from kabuguard.auth.models import AccountRow
from kabuguard.db import Database
from kabuguard.notifications.kinds import Locale
from kabuguard.pages.web import Cookies
from kabuguard.pages.words import WORDS
from tests.auth.conftest import (
    AFTER_TRANSITION,
    BROWSER,
    PASSWORD,
    Customer,
    ServerWith,
    last_code,
)
from tests.pages.helpers import alert as _alert
from tests.pages.helpers import csrf as _csrf

RISK_POLICY = Path(__file__).resolve().parents[2] / "src/kabuguard/risk/default_policy.toml"


def test_pages_carry_a_strict_csp_and_security_headers(browser: httpx.Client) -> None:
    page = browser.get("/auth/login")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # one external script, no inline code
    assert not re.search(r"<[^>]+\son[a-z]+=", page.text)  # and no inline event handlers
    assert '<html lang="ja">' in page.text
    assert WORDS[next(iter(WORDS))]["login_title"] in page.text
    for cookie in page.headers.get_list("set-cookie"):
        assert "httponly" in cookie.lower()
        assert "samesite=lax" in cookie.lower()
    english = browser.get("/auth/login?lang=en")
    assert '<html lang="en">' in english.text
    assert "Log in" in english.text


def test_cookie_names_use_the_host_prefix_when_secure() -> None:
    assert Cookies(secure=True).name("session") == "__Host-kg_session"
    assert Cookies(secure=False).name("session") == "kg_session"


def test_forms_and_webauthn_calls_without_a_valid_token_are_refused(browser: httpx.Client) -> None:
    csrf = _csrf(browser.get("/auth/login"))
    forged = browser.post("/auth/login", data={"csrf": "0" * 64, "username": "a", "password": "b"})
    assert forged.status_code == 403
    assert "text/html" in forged.headers["content-type"]
    cross = browser.post(
        "/auth/login",
        data={"csrf": csrf, "username": "a", "password": "b"},
        headers={"origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    fetched = browser.post("/auth/passkey/login/options", json={})
    assert fetched.status_code == 403
    allowed = browser.post("/auth/passkey/login/options", json={}, headers={"x-csrf-token": csrf})
    assert allowed.status_code == 200
    assert allowed.json()["public_key"]["userVerification"] == "required"


def test_a_nul_in_a_form_or_a_webauthn_call_is_refused_not_stored(browser: httpx.Client) -> None:
    # %00 decodes to NUL, which PostgreSQL cannot store: it was a 500 there.
    csrf = _csrf(browser.get("/auth/signup"))
    signup = browser.post(
        "/auth/signup", data={"csrf": csrf, "username": "ha\x00nako", "password": "1234567890"}
    )
    assert 400 <= signup.status_code < 500
    fetched = browser.post(
        "/auth/passkey/login/options", json={"x": ["\x00"]}, headers={"x-csrf-token": csrf}
    )
    assert 400 <= fetched.status_code < 500
    assert fetched.json()["error"]["code"] == "invalid_request"
    assert fetched.json()["error"]["message"] == WORDS[Locale.JA]["err_invalid_request"]


def test_signup_password_and_email_code_then_security_centre_and_lock(
    browser: httpx.Client, database: Database
) -> None:
    csrf = _csrf(browser.get("/auth/signup"))
    weak = browser.post(
        "/auth/signup", data={"csrf": csrf, "username": "hanako", "password": "1234567890"}
    )
    assert weak.status_code == 422
    assert "1234567890" not in _alert(weak)
    made = browser.post(
        "/auth/signup",
        data={
            "csrf": csrf,
            "username": "hanako",
            "display_name": "花子",
            "email": "hanako@example.com",
            "password": PASSWORD,
        },
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/auth/passkeys/new"
    assert browser.get("/auth/security").status_code == 303  # onboarding may only enrol a passkey

    wrong = browser.post(
        "/auth/login", data={"csrf": csrf, "username": "hanako", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == 401
    assert "パスキー" in _alert(wrong)
    step = browser.post(
        "/auth/login", data={"csrf": csrf, "username": "hanako", "password": PASSWORD}
    )
    assert step.headers["location"] == "/auth/login/second"
    second = browser.get("/auth/login/second")
    assert 'value="email_otp"' in second.text
    sent = browser.post("/auth/login/email", data={"csrf": csrf})
    assert "メールで送りました" in _alert(sent)
    code = last_code(database, _only_customer(database))
    done = browser.post(
        "/auth/login/code", data={"csrf": csrf, "factor": "email_otp", "code": code}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/auth/security"

    centre = browser.get("/auth/security")
    assert centre.status_code == 200
    assert "2027-03-31" in centre.text  # the transition notice (AUTH-6)
    assert "すでに出されているご注文" in centre.text  # standing orders keep running
    assert "ログイン (パスワード: 成功)" in centre.text
    assert "Recent security activity" in browser.get("/auth/security?lang=en").text

    locked = browser.post("/auth/lock", data={"csrf": csrf, "scope": "login"})
    assert locked.status_code == 200
    assert "standing" in locked.text.lower()
    assert browser.get("/auth/security").status_code == 303
    again = browser.post(
        "/auth/login", data={"csrf": csrf, "username": "hanako", "password": PASSWORD}
    )
    assert again.status_code == 403


def _only_customer(database: Database) -> str:
    with database.read() as session:
        return str(session.execute(select(AccountRow.customer_id)).scalar_one())


def test_a_change_the_engine_refuses_is_explained_in_the_customers_language(
    server_with: ServerWith, tmp_path: Path, database: Database
) -> None:
    policy = _risky_unknown_network(tmp_path)
    with (
        server_with(policy_file=policy) as auth,
        httpx.Client(base_url=auth.server.url, headers={"user-agent": BROWSER}) as browser,
    ):
        customer = auth.create()
        csrf, done = _login_with_email_code(browser, customer, database)
        assert done.headers["location"] == "/auth/security"
        # A risky login's change is paused, said so, with no passkey the customer may lack.
        refused = browser.post("/auth/recovery-codes", data={"csrf": csrf})
        assert refused.status_code == 403
        assert WORDS[Locale.JA]["err_change_paused"].format(hours=12) in refused.text
        assert WORDS[Locale.JA]["err_change_refused"] not in refused.text
        english = browser.post("/auth/recovery-codes?lang=en", data={"csrf": csrf})
        assert WORDS[Locale.EN]["err_change_paused"].format(hours=12) in english.text


def test_a_paused_passkey_enrolment_is_explained_to_the_page_script_in_the_customers_language(
    server_with: ServerWith, tmp_path: Path, database: Database
) -> None:
    risk = _risky_unknown_network(tmp_path)
    after_transition = tmp_path / "auth.toml"  # no passkey yet: an enrolment session
    after_transition.write_text(AFTER_TRANSITION)
    with (
        server_with(policy_file=risk, auth_policy_file=after_transition) as auth,
        httpx.Client(base_url=auth.server.url, headers={"user-agent": BROWSER}) as browser,
    ):
        customer = auth.create()
        csrf, done = _login_with_email_code(browser, customer, database)
        assert done.headers["location"] == "/auth/passkeys/new"
        for lang in Locale:
            options = browser.post(
                f"/auth/passkey/register/options?lang={lang.value}",
                json={},
                headers={"x-csrf-token": csrf},
            ).json()
            body = {
                "challenge_id": options["challenge_id"],
                "credential": customer.authenticator.create(options["public_key"]),
            }
            refused = browser.post(
                f"/auth/passkey/register?lang={lang.value}",
                json=body,
                headers={"x-csrf-token": csrf},
            )
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "change_refused"
            paused = WORDS[lang]["err_change_paused"].format(hours=12)
            assert refused.json()["error"]["message"] == paused


def _risky_unknown_network(tmp_path: Path) -> Path:
    """A risk policy under which the test browser's unknown network makes a login risky (so
    its session is sell-only)."""
    policy = tmp_path / "risk.toml"
    unknown = '"login:network:unknown" = '
    policy.write_text(RISK_POLICY.read_text().replace(unknown + "5", unknown + "25"))
    return policy


def _login_with_email_code(
    browser: httpx.Client, customer: Customer, database: Database
) -> tuple[str, httpx.Response]:
    """Password, then an e-mailed code, through the pages: the form's CSRF token and the
    code step's answer."""
    csrf = _csrf(browser.get("/auth/login"))
    form = {"csrf": csrf, "username": customer.username, "password": PASSWORD}
    assert browser.post("/auth/login", data=form).status_code == 303
    browser.post("/auth/login/email", data={"csrf": csrf})
    code = last_code(database, customer.customer_id)
    done = browser.post(
        "/auth/login/code", data={"csrf": csrf, "factor": "email_otp", "code": code}
    )
    return csrf, done

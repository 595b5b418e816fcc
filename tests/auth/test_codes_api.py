"""Authenticator-app codes and recovery codes over the JSON API: each code works once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from kabuguard.auth import totp
from kabuguard.auth.bench import SoftAuthenticator
from kabuguard.auth.models import AccountRow, PasskeyRow, RecoveryCodeRow
from kabuguard.db import Database
from tests.auth.conftest import ORIGIN, Auth, Customer, ServerWith, last_code
from tests.conftest import FrozenClock

RISK_POLICY = Path(__file__).resolve().parents[2] / "src/kabuguard/risk/default_policy.toml"


def _full_session(auth: Auth, customer: Customer) -> dict[str, str]:
    auth.register_passkey(customer)
    return auth.session_headers(auth.login_with_passkey(customer), customer.device)


def _login_token(auth: Auth, customer: Customer) -> str:
    reply = auth.password(customer)
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["login_token"]
    return token


def test_totp_enrolment_and_a_replayed_code_is_refused(auth: Auth, clock: FrozenClock) -> None:
    customer = auth.create()
    headers = _full_session(auth, customer)
    begun = auth.http.post("/v1/auth/totp", headers=headers).json()
    assert begun["uri"].startswith("otpauth://totp/")
    assert begun["qr_svg"].lstrip().startswith("<")
    secret = begun["secret"]
    step = totp.step_at(clock())
    wrong = auth.http.post("/v1/auth/totp/confirm", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 401
    confirmed = auth.http.post(
        "/v1/auth/totp/confirm", json={"code": totp.code_at(secret, step)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text

    login = _login_token(auth, customer)
    replayed = auth.code(customer, login, "totp", totp.code_at(secret, step))
    assert replayed.status_code == 401
    assert "already used" in replayed.json()["error"]["message"]
    clock.advance(timedelta(seconds=30))
    fresh = auth.code(customer, login, "totp", totp.code_at(secret, step + 1))
    assert fresh.status_code == 200, fresh.text
    again = auth.code(
        customer, _login_token(auth, customer), "totp", totp.code_at(secret, step + 1)
    )
    assert again.status_code == 401


def test_recovery_codes_are_ten_and_each_works_once(auth: Auth) -> None:
    customer = auth.create()
    headers = _full_session(auth, customer)
    codes = auth.http.post("/v1/auth/recovery-codes", headers=headers).json()["codes"]
    assert len(codes) == len(set(codes)) == 10
    used = auth.code(customer, _login_token(auth, customer), "recovery_code", codes[0].lower())
    assert used.status_code == 200, used.text
    reused = auth.code(customer, _login_token(auth, customer), "recovery_code", codes[0])
    assert reused.status_code == 401
    events = [
        i["event"]
        for i in auth.http.get(f"/v1/customers/{customer.customer_id}/timeline").json()["items"]
    ]
    [spent] = [
        e for e in events if e.get("credential") == "recovery_codes" and e["action"] == "used"
    ]
    # Tied to the login it ended, so the session's rules and its timeline see it.
    assert spent["session_id"] == used.json()["session"]["event_session_id"]


def test_second_factor_failures_have_their_own_counter(server_with: ServerWith) -> None:
    with server_with(auth_second_factor_max_failures=2) as auth:
        customer = auth.create()
        login = _login_token(auth, customer)
        for _ in range(2):
            assert (
                auth.code(customer, login, "recovery_code", "AAAA-AAAA-AAAA-AAAA").status_code
                == 401
            )
        paused = auth.code(customer, login, "recovery_code", "AAAA-AAAA-AAAA-AAAA")
        assert paused.status_code == 429
        assert auth.password(customer).status_code == 200  # the password path is untouched


def test_credential_changes_need_a_passkey_session_when_the_policy_says_so(
    server_with: ServerWith, tmp_path: Path, database: Database
) -> None:
    policy = tmp_path / "auth.toml"
    policy.write_text(
        'version = "t"\n[required_factor]\nlogin = "any_mfa"\norder = "any_mfa"\n'
        'withdrawal = "phishing_resistant"\npayout_change = "phishing_resistant"\n'
        'contact_change = "phishing_resistant"\ncredential_change = "phishing_resistant"\n'
    )
    with server_with(auth_policy_file=policy) as auth:
        customer = auth.create()
        login = _login_token(auth, customer)
        auth.http.post(
            "/v1/auth/login/email-code", json={"login_token": login, "client": customer.client()}
        )
        session = auth.code(customer, login, "email_otp", last_code(database, customer.customer_id))
        headers = auth.session_headers(session.json()["session_token"], customer.device)
        assert auth.http.post("/v1/auth/totp", headers=headers).status_code == 403
        step_up = auth.http.get("/v1/auth/session/step-up?action=withdrawal", headers=headers)
        assert step_up.json()["satisfied"] is False
        assert step_up.json()["required_factor"] == "phishing_resistant"
        order = auth.http.get("/v1/auth/session/step-up?action=order", headers=headers)
        assert order.json()["satisfied"] is True


def test_the_only_passkey_cannot_be_removed(auth: Auth) -> None:
    customer = auth.create()
    headers = _full_session(auth, customer)
    first = customer.authenticator.credential_id
    only = auth.http.delete(f"/v1/auth/passkeys/{first}", headers=headers)
    assert only.status_code == 409
    customer.authenticator = SoftAuthenticator("localhost", ORIGIN)
    auth.register_passkey(customer, token=headers["X-Kabuguard-Session"])
    assert auth.http.delete(f"/v1/auth/passkeys/{first}", headers=headers).status_code == 200
    assert auth.http.delete(f"/v1/auth/passkeys/{first}", headers=headers).status_code == 404


def test_after_the_transition_a_recovery_code_only_enrols_a_new_passkey(
    server_with: ServerWith, tmp_path: Path
) -> None:
    policy = tmp_path / "auth.toml"
    policy.write_text(
        'version = "t"\n[required_factor]\nlogin = "phishing_resistant"\norder = "any_mfa"\n'
        'withdrawal = "phishing_resistant"\npayout_change = "phishing_resistant"\n'
        'contact_change = "phishing_resistant"\ncredential_change = "phishing_resistant"\n'
    )
    with server_with(auth_policy_file=policy) as auth:
        customer = auth.create()
        headers = _full_session(auth, customer)
        codes = auth.http.post("/v1/auth/recovery-codes", headers=headers).json()["codes"]
        pending = auth.password(customer).json()
        assert pending["factors"] == ["passkey", "recovery_code"]
        assert auth.code(customer, pending["login_token"], "email_otp", "1").status_code == 403
        recovered = auth.code(customer, pending["login_token"], "recovery_code", codes[0])
        assert recovered.json()["session"]["scope"] == "enrol"
        token = recovered.json()["session_token"]
        enrol = auth.session_headers(token, customer.device)
        assert auth.http.get("/v1/auth/sessions", headers=enrol).status_code == 401
        customer.authenticator = SoftAuthenticator("localhost", ORIGIN)  # the lost one replaced
        auth.register_passkey(customer, token=token)
        assert auth.login_with_passkey(customer)


def _credentials(database: Database, customer_id: str) -> tuple[int, bool, int]:
    """Passkeys, whether an authenticator app is enrolled, recovery codes."""
    with database.read() as session:
        passkeys = session.execute(
            select(func.count()).where(PasskeyRow.customer_id == customer_id)
        ).scalar_one()
        account = session.get(AccountRow, customer_id)
        codes = session.execute(
            select(func.count()).where(RecoveryCodeRow.customer_id == customer_id)
        ).scalar_one()
    assert account is not None
    return int(passkeys), account.totp_secret is not None, int(codes)


def test_a_credential_change_in_a_sell_only_session_is_refused_and_not_stored(
    server_with: ServerWith, tmp_path: Path, database: Database, clock: FrozenClock
) -> None:
    policy = tmp_path / "risk.toml"  # an unparseable IP scores 25: risky, allowed, sell-only
    policy.write_text(
        RISK_POLICY.read_text().replace(
            '"network:ip:unparseable" = 10', '"network:ip:unparseable" = 25'
        )
    )
    with server_with(policy_file=policy) as auth:
        customer = auth.create()
        calm = _full_session(auth, customer)
        spare = SoftAuthenticator("localhost", ORIGIN)
        first, customer.authenticator = customer.authenticator, spare
        auth.register_passkey(customer, token=calm["X-Kabuguard-Session"])
        customer.authenticator = first
        clock.advance(timedelta(hours=1))
        risky = auth.email_login(customer, ip="not-an-ip")
        assert risky.status_code == 200, risky.text
        headers = auth.session_headers(risky.json()["session_token"], customer.device)
        before = _credentials(database, customer.customer_id)

        customer.authenticator = SoftAuthenticator("localhost", ORIGIN)
        options = auth.http.post("/v1/auth/passkeys/registration/options", headers=headers)
        credential = customer.authenticator.create(options.json()["public_key"])
        body = {"challenge_id": options.json()["challenge_id"], "credential": credential}
        added = auth.http.post("/v1/auth/passkeys/registration", json=body, headers=headers)
        removed = auth.http.delete(f"/v1/auth/passkeys/{spare.credential_id}", headers=headers)
        secret = auth.http.post("/v1/auth/totp", headers=headers).json()["secret"]
        code = totp.code_at(secret, totp.step_at(clock()))
        confirmed = auth.http.post("/v1/auth/totp/confirm", json={"code": code}, headers=headers)
        recovery = auth.http.post("/v1/auth/recovery-codes", headers=headers)
        for refused in (added, removed, confirmed, recovery):
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "change_refused"
            assert "session:login:risky" in refused.json()["error"]["message"]
        assert _credentials(database, customer.customer_id) == before == (2, False, 0)

        # The same change from a calm passkey session goes through.
        customer.authenticator = first
        calm = auth.session_headers(auth.login_with_passkey(customer), customer.device)
        assert auth.http.post("/v1/auth/recovery-codes", headers=calm).status_code == 200

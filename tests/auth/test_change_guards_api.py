"""Credential changes after a risky login, and a lock or revocation landing while the engine is
asked about a change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from kabuguard.auth import totp
from kabuguard.auth.bench import SoftAuthenticator
from kabuguard.auth.models import AccountRow, PasskeyRow, RecoveryCodeRow, SessionRow
from kabuguard.auth.steps import StepRecorder, Verdict
from kabuguard.db import Database
from tests.auth.conftest import (
    AFTER_TRANSITION,
    ORIGIN,
    SEOUL,
    Auth,
    Customer,
    ServerWith,
    self_lock,
)
from tests.conftest import FrozenClock

SESSION_HOURS = 12  # the default risk policy's session_hours


def _register(auth: Auth, customer: Customer, headers: dict[str, str]) -> httpx.Response:
    options = auth.http.post("/v1/auth/passkeys/registration/options", headers=headers)
    assert options.status_code == 200, options.text
    body = {
        "challenge_id": options.json()["challenge_id"],
        "credential": customer.authenticator.create(options.json()["public_key"]),
    }
    return auth.http.post("/v1/auth/passkeys/registration", json=body, headers=headers)


def _count(database: Database, row: type[PasskeyRow] | type[RecoveryCodeRow], who: str) -> int:
    with database.read() as session:
        return int(session.execute(select(func.count()).where(row.customer_id == who)).scalar_one())


def test_enrolment_after_a_risky_login_is_paused_for_the_session_period_then_works(
    server_with: ServerWith, tmp_path: Path, clock: FrozenClock, database: Database
) -> None:
    policy = tmp_path / "auth.toml"
    policy.write_text(AFTER_TRANSITION)
    with server_with(auth_policy_file=policy) as auth:
        customer = auth.create()  # no passkey yet; logs in from a new place on their phone
        risky = auth.email_login(customer, ip=SEOUL)
        assert risky.status_code == 200, risky.text
        assert risky.json()["session"]["scope"] == "enrol"
        enrol = auth.session_headers(risky.json()["session_token"], customer.device)

        refused = _register(auth, customer, enrol)
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "change_refused"
        assert (
            "adding or changing a sign-in method from a new device or network is paused"
            in (error["message"])
        )
        assert f"try again from this device after {SESSION_HOURS} hours" in error["message"]
        assert "contact support" in error["message"]
        assert "passkey" not in error["message"]  # they have none to log in with
        assert _count(database, PasskeyRow, customer.customer_id) == 0

        # Within the session period, logging in again from there is as risky: still paused.
        clock.advance(timedelta(hours=1))
        retry = auth.email_login(customer, ip=SEOUL)
        assert retry.status_code == 200, retry.text
        retry_headers = auth.session_headers(retry.json()["session_token"], customer.device)
        assert _register(auth, customer, retry_headers).status_code == 403

        clock.advance(timedelta(hours=SESSION_HOURS, minutes=1))
        again = auth.email_login(customer, ip=SEOUL)  # the same phone, the same place
        assert again.status_code == 200, again.text
        enrolled = _register(
            auth, customer, auth.session_headers(again.json()["session_token"], customer.device)
        )
        assert enrolled.status_code == 201, enrolled.text
        assert _count(database, PasskeyRow, customer.customer_id) == 1
        assert auth.login_with_passkey(customer)


def test_a_passkey_session_meets_the_challenge_of_its_risky_login(
    auth: Auth, database: Database
) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    pending = auth.password(customer, ip=SEOUL)
    assert pending.status_code == 200, pending.text
    options = auth.passkey_options(customer, pending.json()["login_token"])
    done = auth.passkey_login(customer, options, customer.authenticator.get(options["public_key"]))
    assert done.status_code == 200, done.text
    assert done.json()["session"]["factor"] == "passkey"
    headers = auth.session_headers(done.json()["session_token"], customer.device)

    codes = auth.http.post("/v1/auth/recovery-codes", headers=headers)
    assert codes.status_code == 200, codes.text  # challenged for a passkey: the session has one
    assert _count(database, RecoveryCodeRow, customer.customer_id) == 10
    timeline = auth.http.get(f"/v1/customers/{customer.customer_id}/timeline").json()["items"]
    change = next(
        i["decision"] for i in timeline if i["event"].get("credential") == "recovery_codes"
    )
    assert change["outcome"] == "challenge"  # the engine's answer is unchanged, and recorded
    assert change["required_factor"] == "phishing_resistant"
    assert "session:login:risky" in [reason["code"] for reason in change["reasons"]]


Change = Callable[[Auth, Customer, dict[str, str]], httpx.Response]


def _add_passkey(auth: Auth, customer: Customer, headers: dict[str, str]) -> httpx.Response:
    customer.authenticator = SoftAuthenticator("localhost", ORIGIN)
    return _register(auth, customer, headers)


def _remove_passkey(auth: Auth, customer: Customer, headers: dict[str, str]) -> httpx.Response:
    return auth.http.delete(
        f"/v1/auth/passkeys/{customer.authenticator.credential_id}", headers=headers
    )


def _confirm_totp(auth: Auth, customer: Customer, headers: dict[str, str]) -> httpx.Response:
    secret = auth.http.post("/v1/auth/totp", headers=headers).json()["secret"]
    code = totp.code_at(secret, totp.step_at(auth.server.clock()))
    return auth.http.post("/v1/auth/totp/confirm", json={"code": code}, headers=headers)


def _recovery_codes(auth: Auth, customer: Customer, headers: dict[str, str]) -> httpx.Response:
    return auth.http.post("/v1/auth/recovery-codes", headers=headers)


def _credentials(database: Database, customer_id: str) -> tuple[int, bool, int]:
    with database.read() as session:
        account = session.get(AccountRow, customer_id)
    assert account is not None
    return (
        _count(database, PasskeyRow, customer_id),
        account.totp_secret is not None,
        _count(database, RecoveryCodeRow, customer_id),
    )


def _self_lock(database: Database, customer_id: str, clock: FrozenClock) -> None:
    self_lock(database, customer_id, clock())


def _revoke_all(database: Database, customer_id: str, clock: FrozenClock) -> None:
    with database.write() as session:
        session.execute(
            update(SessionRow)
            .where(SessionRow.customer_id == customer_id)
            .values(revoked_at=clock(), revoked_reason="customer_revoked_all")
        )


@pytest.mark.parametrize(
    ("change", "meanwhile"),
    [
        (_add_passkey, _self_lock),
        (_remove_passkey, _self_lock),
        (_confirm_totp, _self_lock),
        (_recovery_codes, _self_lock),
        (_recovery_codes, _revoke_all),
    ],
)
def test_a_lock_or_revocation_while_the_engine_is_asked_stops_the_change(
    *,
    auth: Auth,
    database: Database,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    change: Change,
    meanwhile: Callable[[Database, str, FrozenClock], None],
) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    headers = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    spare = SoftAuthenticator("localhost", ORIGIN)  # a second passkey, so one may be removed
    first, customer.authenticator = customer.authenticator, spare
    auth.register_passkey(customer, token=headers["X-Kabuguard-Session"])
    customer.authenticator = first
    before = _credentials(database, customer.customer_id)
    ask = StepRecorder.credential

    async def lock_lands(self: StepRecorder, *args: Any, **kwargs: Any) -> Verdict:
        verdict = await ask(self, *args, **kwargs)  # the engine allows the change ...
        clock.advance(timedelta(seconds=1))
        meanwhile(database, customer.customer_id, clock)  # ... and the customer locks meanwhile
        return verdict

    monkeypatch.setattr(StepRecorder, "credential", lock_lands)
    refused = change(auth, customer, headers)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "session_required"
    assert "nothing was changed" in refused.json()["error"]["message"]
    assert _credentials(database, customer.customer_id) == before

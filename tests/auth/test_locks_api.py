"""Self-service lock, unlock with a passkey, and the two-operator staff unlock (CLI)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from kabuguard.auth.command import register
from kabuguard.auth.models import SessionRow
from kabuguard.config import Settings
from kabuguard.db import Database
from tests.auth.conftest import Auth, Customer, self_lock
from tests.conftest import FrozenClock
from tests.factories import instrument, lock, order


def _locked_customer(auth: Auth, scope: str) -> tuple[Customer, dict[str, str]]:
    customer = auth.create()
    auth.register_passkey(customer)
    headers = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    reply = auth.http.post("/v1/auth/lock", json={"scope": scope}, headers=headers)
    assert reply.status_code == 200, reply.text
    return customer, headers


def _unlock(auth: Auth, customer: Customer) -> httpx.Response:
    options = auth.http.post("/v1/auth/unlock/options", json={"client": customer.client()}).json()
    body = {
        "challenge_id": options["challenge_id"],
        "client": customer.client(),
        "credential": customer.authenticator.get(options["public_key"]),
    }
    return auth.http.post("/v1/auth/unlock", json=body)


def _session_then_self_lock(
    auth: Auth, database: Database, clock: FrozenClock
) -> tuple[Customer, dict[str, str]]:
    """A passkey session, then a second later the account's self-lock (the session raced it)."""
    customer = auth.create()
    auth.register_passkey(customer)
    headers = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    clock.advance(timedelta(seconds=1))
    self_lock(database, customer.customer_id, clock())
    return customer, headers


def _unlock_a_second_later(auth: Auth, customer: Customer, clock: FrozenClock) -> None:
    clock.advance(timedelta(seconds=1))
    assert _unlock(auth, customer).status_code == 200


def _order_outcome(auth: Auth, customer: Customer) -> str:
    assert auth.http.post("/v1/events", json=instrument()).status_code == 200
    reply = auth.http.post("/v1/events", json=order(customer.customer_id, minutes=60))
    outcome: str = reply.json()["outcome"]
    return outcome


def test_login_lock_ends_sessions_and_only_a_passkey_lifts_it(auth: Auth) -> None:
    customer, headers = _locked_customer(auth, "login")
    assert auth.http.get("/v1/auth/session", headers=headers).status_code == 401
    assert auth.password(customer).json()["error"]["code"] == "login_refused"
    options = auth.passkey_options(customer)
    passkey = auth.passkey_login(
        customer, options, customer.authenticator.get(options["public_key"])
    )
    assert passkey.status_code == 403
    assert _order_outcome(auth, customer) == "allow"  # login only: trading is not stopped
    unlocked = _unlock(auth, customer)
    assert unlocked.status_code == 200, unlocked.text
    assert auth.login_with_passkey(customer)


def test_locking_everything_goes_through_the_engine(auth: Auth) -> None:
    customer, _ = _locked_customer(auth, "all")
    assert _order_outcome(auth, customer) == "deny"
    types = [
        i["event"]["type"]
        for i in auth.http.get(f"/v1/customers/{customer.customer_id}/timeline").json()["items"]
    ]
    assert "customer_lock" in types
    assert _unlock(auth, customer).status_code == 200
    assert _order_outcome(auth, customer) == "allow"


def test_a_lock_from_any_path_ends_every_session(auth: Auth) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    headers = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    assert (
        auth.http.post(
            "/v1/events", json=lock(customer.customer_id, minutes=1, initiated_by="staff")
        ).status_code
        == 200
    )
    assert auth.http.get("/v1/auth/session", headers=headers).status_code == 401
    staff_lock = _unlock(auth, customer)
    assert staff_lock.status_code == 409


def test_a_session_issued_while_a_self_lock_ended_every_session_is_refused_for_good(
    auth: Auth, database: Database, clock: FrozenClock
) -> None:
    # A login read "not locked" and issues its session after the lock's revoke-all ran: only
    # the lock's first half, the account's self-lock, is left to tell.
    customer, headers = _session_then_self_lock(auth, database, clock)
    assert auth.http.get("/v1/auth/session", headers=headers).status_code == 401
    _unlock_a_second_later(auth, customer, clock)
    assert auth.http.get("/v1/auth/session", headers=headers).status_code == 401


def test_an_unlock_does_not_revive_a_session_begun_before_the_lock(
    auth: Auth, database: Database, clock: FrozenClock
) -> None:
    customer, headers = _session_then_self_lock(auth, database, clock)
    # The racing session was not used while locked.
    _unlock_a_second_later(auth, customer, clock)
    assert auth.http.get("/v1/auth/session", headers=headers).status_code == 401
    fresh = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    assert auth.http.get("/v1/auth/session", headers=fresh).status_code == 200


def test_a_raced_session_presented_after_an_unlock_ends_only_sessions_begun_before_the_lock(
    auth: Auth, database: Database, clock: FrozenClock
) -> None:
    # The raced session escaped the lock's revoke-all.
    customer, raced = _session_then_self_lock(auth, database, clock)
    _unlock_a_second_later(auth, customer, clock)
    fresh = auth.session_headers(auth.login_with_passkey(customer), customer.device)

    assert auth.http.get("/v1/auth/session", headers=raced).status_code == 401
    assert auth.http.get("/v1/auth/session", headers=fresh).status_code == 200
    with database.read() as session:
        revoked = session.execute(
            select(SessionRow.revoked_reason)
            .where(SessionRow.customer_id == customer.customer_id)
            .order_by(SessionRow.id)
        ).scalars()
        # onboarding (ended by enrolling), the raced one, the one after the unlock
        assert list(revoked) == ["passkey_enrolled", "customer_locked", None]


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name, value in settings.model_dump().items():
        if value is not None and not isinstance(value, (list, frozenset, dict)):
            text = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
            monkeypatch.setenv(f"KABUGUARD_{name.upper()}", text)
    return CliRunner()


def test_staff_unlock_needs_two_different_operators(auth: Auth, cli: CliRunner) -> None:
    customer, _ = _locked_customer(auth, "all")
    app = typer.Typer()
    register(app)
    first = cli.invoke(app, ["customer", "unlock", customer.customer_id, "--operator", "sato"])
    assert first.exit_code == 0, first.output
    assert "second, different operator" in first.output
    same = cli.invoke(app, ["customer", "unlock", customer.customer_id, "--operator", "sato"])
    assert same.exit_code == 1
    assert _order_outcome(auth, customer) == "deny"
    second = cli.invoke(app, ["customer", "unlock", customer.customer_id, "--operator", "suzuki"])
    assert second.exit_code == 0, second.output
    assert _order_outcome(auth, customer) == "allow"
    assert auth.login_with_passkey(customer)
    audit = cli.invoke(app, ["customer", "create", "hanako", "--password", "short"])
    assert audit.exit_code == 1
    assert "at least 10" in audit.output

"""Passkeys over the JSON API with a software authenticator: the good path and every bad one."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kabuguard.audit.models import AuditEntry
from kabuguard.auth.bench import SoftAuthenticator
from kabuguard.auth.webauthn import b64
from kabuguard.db import Database
from tests.auth.conftest import ORIGIN, Auth, Customer, ServerWith
from tests.conftest import FrozenClock

POLICY = Path(__file__).resolve().parents[2] / "src/kabuguard/risk/default_policy.toml"


def _rejections(database: Database) -> int:
    with database.read() as session:
        return int(
            session.execute(
                select(func.count()).where(AuditEntry.kind == "auth:step:rejected")
            ).scalar_one()
        )


@pytest.fixture
def customer(auth: Auth) -> Customer:
    created = auth.create()
    auth.register_passkey(created)
    return created


def test_passwordless_login_records_enrolment_and_login(auth: Auth, customer: Customer) -> None:
    token = auth.login_with_passkey(customer)
    session = auth.http.get(
        "/v1/auth/session", headers=auth.session_headers(token, customer.device)
    ).json()
    assert (session["factor"], session["factor_class"]) == ("passkey", "phishing_resistant")
    events = [
        i["event"]
        for i in auth.http.get(f"/v1/customers/{customer.customer_id}/timeline").json()["items"]
    ]
    assert {"type": "credential_change", "credential": "passkey", "action": "added"}.items() <= (
        next(e for e in events if e["type"] == "credential_change").items()
    )
    assert any(e["type"] == "login_attempt" and e["step"] == "passkey" for e in events)


def test_a_replayed_assertion_is_refused_and_audited(
    auth: Auth, customer: Customer, database: Database
) -> None:
    options = auth.passkey_options(customer)
    assertion = customer.authenticator.get(options["public_key"])
    assert auth.passkey_login(customer, options, assertion).status_code == 200
    before = _rejections(database)
    replay = auth.passkey_login(customer, options, assertion)
    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "step_expired"
    fresh = auth.passkey_options(customer)  # the old assertion against a new challenge
    assert auth.passkey_login(customer, fresh, assertion).status_code == 400
    assert _rejections(database) == before + 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"origin": "https://kabuguard-login.example"}, "origin"),
        ({"rp_id": "evil.example"}, "RP ID"),
        ({"user_verified": False}, "verif"),
    ],
)
def test_phished_or_unverified_assertions_are_refused(
    auth: Auth, customer: Customer, change: dict[str, Any], problem: str
) -> None:
    options = auth.passkey_options(customer)
    reply = auth.passkey_login(
        customer, options, customer.authenticator.get(options["public_key"], **change)
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "passkey_rejected"
    assert problem.lower() in reply.json()["error"]["message"].lower()
    events = auth.http.get(f"/v1/customers/{customer.customer_id}/timeline").json()["items"]
    failed = [i["event"] for i in events if i["event"].get("result") == "failure"]
    assert failed[0]["step"] == "passkey"  # a relay's attempt shows on the timeline


def test_expired_challenge_unknown_credential_and_malformed_responses(
    auth: Auth, customer: Customer, clock: FrozenClock
) -> None:
    options = auth.passkey_options(customer)
    clock.advance(timedelta(minutes=10))
    late = auth.passkey_login(customer, options, customer.authenticator.get(options["public_key"]))
    assert late.json()["error"]["code"] == "step_expired"
    stranger = SoftAuthenticator("localhost", ORIGIN)
    stranger.user_handle = customer.authenticator.user_handle
    options = auth.passkey_options(customer)
    unknown = auth.passkey_login(customer, options, stranger.get(options["public_key"]))
    assert unknown.status_code == 400
    assert "not registered" in unknown.json()["error"]["message"]
    for garbage in (
        {},
        {"id": "!!", "rawId": "!!", "type": "public-key", "response": {}},
        {
            "response": {"clientDataJSON": "e30", "authenticatorData": "AAAA", "signature": "AAAA"},
            "id": "AAAA",
            "rawId": "AAAA",
            "type": "public-key",
        },
    ):
        options = auth.passkey_options(customer)
        reply = auth.passkey_login(customer, options, garbage)
        assert reply.status_code == 400, reply.text
    not_an_object = auth.http.post(
        "/v1/auth/passkeys/login",
        json={"challenge_id": "x", "credential": "nope", "client": customer.client()},
    )
    assert not_an_object.status_code == 422


def test_a_risk_challenge_for_a_passkey_is_obeyed_during_the_transition(
    server_with: ServerWith, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        POLICY.read_text().replace('"network:ip:unparseable" = 10', '"network:ip:unparseable" = 50')
    )
    with server_with(policy_file=policy) as auth:
        customer = auth.create()
        auth.register_passkey(customer)
        pending = auth.password(customer, ip="not-an-ip").json()
        assert pending["required_factor"] == "phishing_resistant"
        assert pending["factors"] == ["passkey", "recovery_code"]
        code = auth.code(customer, pending["login_token"], "email_otp", "123456")
        assert code.status_code == 403
        assert code.json()["error"]["code"] == "factor_not_allowed"
        options = auth.passkey_options(customer, pending["login_token"])
        done = auth.passkey_login(
            customer, options, customer.authenticator.get(options["public_key"])
        )
        assert done.status_code == 200, done.text
        assert done.json()["session"]["factor"] == "passkey"


@pytest.mark.parametrize(("length", "status"), [(1023, 201), (1024, 400)])
def test_a_credential_id_longer_than_webauthn_allows_is_a_4xx(
    auth: Auth, length: int, status: int
) -> None:
    customer = auth.create()
    customer.authenticator.credential_id = b64(os.urandom(length))
    headers = auth.session_headers(customer.enrolment_token, customer.device)
    options = auth.http.post("/v1/auth/passkeys/registration/options", headers=headers).json()
    body = {
        "challenge_id": options["challenge_id"],
        "credential": customer.authenticator.create(options["public_key"]),
    }
    reply = auth.http.post("/v1/auth/passkeys/registration", json=body, headers=headers)
    assert reply.status_code == status, reply.text
    if status == 400:
        assert reply.json()["error"]["code"] == "passkey_rejected"
        assert "1023 bytes" in reply.json()["error"]["message"]
    else:  # the longest id WebAuthn allows is stored, and logs in
        assert reply.json()["credential_id"] == customer.authenticator.credential_id
        assert auth.login_with_passkey(customer)

"""The login flow over the JSON API on a live server, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select

from kabuguard.audit.models import AuditEntry
from kabuguard.auth.models import AccountRow, SessionRow
from kabuguard.db import Database
from kabuguard.notifications.models import OutboxRow
from tests import factories
from tests.auth.conftest import SEOUL, Auth, ServerWith, last_code
from tests.conftest import FrozenClock

DOCOMO = "1.79.158.24"


def _events(auth: Auth, customer_id: str) -> list[dict[str, Any]]:
    reply = auth.http.get(f"/v1/customers/{customer_id}/timeline")
    assert reply.status_code == 200
    return [item["event"] for item in reply.json()["items"]]


def _logins(auth: Auth, customer_id: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    reply = auth.http.get(f"/v1/customers/{customer_id}/timeline")
    assert reply.status_code == 200
    return [
        (item["event"], item["decision"])
        for item in reply.json()["items"]
        if item["event"]["type"] == "login_attempt"
    ]


def test_unknown_user_and_wrong_password_get_the_same_answer(auth: Auth) -> None:
    customer = auth.create()
    wrong = auth.password(customer, "not-the-password-at-all")
    customer.username = "nobody-" + customer.username
    unknown = auth.password(customer)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


def test_password_then_email_code_logs_in_and_every_step_is_on_the_timeline(
    auth: Auth, database: Database
) -> None:
    customer = auth.create()
    pending = auth.password(customer)
    assert pending.status_code == 200, pending.text
    body = pending.json()
    assert body["required_factor"] == "any_mfa"  # the default transition runs to 2027-03-31
    assert "email_otp" in body["factors"]
    sent = auth.http.post(
        "/v1/auth/login/email-code",
        json={"login_token": body["login_token"], "client": customer.client()},
    )
    assert sent.status_code == 200, sent.text
    code = last_code(database, customer.customer_id)
    wrong = auth.code(
        customer, body["login_token"], "email_otp", "000000" if code != "000000" else "111111"
    )
    assert wrong.status_code == 401
    logged_in = auth.code(customer, body["login_token"], "email_otp", code)
    assert logged_in.status_code == 200, logged_in.text
    session = logged_in.json()["session"]
    assert session["factor"] == "email_otp"
    assert session["factor_class"] == "any_mfa"
    assert session["network"] == "198.51.100.0/24"
    assert session["scope"] == "full"  # any MFA logs in fully during the transition
    again = auth.code(customer, body["login_token"], "email_otp", code)
    assert again.status_code in (400, 401)
    steps = [
        (e["step"], e["result"])
        for e in _events(auth, customer.customer_id)
        if e["type"] == "login_attempt"
    ]
    assert ("password", "success") in steps
    assert ("second_factor", "failure") in steps
    assert ("second_factor", "success") in steps


def test_password_lockout_pauses_the_password_path_only(
    server_with: ServerWith, database: Database
) -> None:
    with server_with(auth_password_max_failures=3) as auth:
        customer = auth.create()
        auth.register_passkey(customer)
        for _ in range(3):
            assert auth.password(customer, "wrong-password-123").status_code == 401
        with database.read() as session:
            row = session.get(AccountRow, customer.customer_id)
            assert row is not None
            assert row.password_locked_until is not None
            notices = (
                session.execute(
                    select(OutboxRow.kind).where(OutboxRow.customer_id == customer.customer_id)
                )
                .scalars()
                .all()
            )
        assert "login:attempt:refused" in notices  # the customer is told
        paused = auth.password(customer)  # even the right password is not checked now
        assert paused.status_code == 401
        assert paused.json() == auth.password(customer, "wrong-password-123").json()
        token = auth.login_with_passkey(customer)  # the real customer is not locked out
        assert token


def test_parallel_wrong_passwords_are_counted_exactly(
    server_with: ServerWith, database: Database
) -> None:
    with server_with(
        auth_password_max_failures=100, auth_ip_max_failures=1000, auth_network_max_failures=1000
    ) as auth:
        customer = auth.create()
        with ThreadPoolExecutor(max_workers=24) as pool:
            answers = list(
                pool.map(lambda _: auth.password(customer, "wrong-password-123"), range(24))
            )
        assert [a.status_code for a in answers] == [401] * 24
        with database.read() as session:
            row = session.get(AccountRow, customer.customer_id)
        assert row is not None
        assert row.password_failures == 24


def test_per_ip_limit_applies_across_accounts(server_with: ServerWith) -> None:
    with server_with(auth_ip_max_failures=3) as auth:
        customers = [auth.create() for _ in range(2)]
        for i in range(3):
            assert auth.password(customers[i % 2], "wrong-password-123").status_code == 401
        limited = auth.password(customers[1])  # the right password, from the same IP
        assert limited.status_code == 429
        assert auth.password(customers[1], ip="203.0.113.9").status_code == 200


def test_sessions_are_bound_to_their_device_and_revocable(auth: Auth) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    token = auth.login_with_passkey(customer)
    headers = auth.session_headers(token, customer.device)
    current = auth.http.get("/v1/auth/session", headers=headers)
    assert current.status_code == 200
    assert current.json()["factor"] == "passkey"
    stolen = auth.http.get(
        "/v1/auth/session", headers=auth.session_headers(token, "another-device")
    )
    assert stolen.status_code == 401
    other = auth.login_with_passkey(customer)
    listed = auth.http.get("/v1/auth/sessions", headers=headers).json()
    assert len(listed) == 2
    revoked = auth.http.post("/v1/auth/sessions/revoke-all", headers=headers)
    assert revoked.json() == {"revoked": 2}
    assert (
        auth.http.get(
            "/v1/auth/session", headers=auth.session_headers(other, customer.device)
        ).status_code
        == 401
    )


def test_revoking_a_session_id_beyond_bigint_is_a_422_not_a_500(auth: Auth) -> None:
    customer = auth.create()
    auth.register_passkey(customer)
    headers = auth.session_headers(auth.login_with_passkey(customer), customer.device)
    huge = auth.http.post("/v1/auth/sessions/99999999999999999999/revoke", headers=headers)
    assert huge.status_code == 422
    assert "session_id" in huge.text


def test_an_engine_deny_is_obeyed(auth: Auth) -> None:
    customer = auth.create()
    blocked = auth.http.post(
        "/v1/lists/blocked-networks", json={"network": "198.51.100.0/24", "reason": "relay"}
    )
    assert blocked.status_code in (200, 201), blocked.text
    refused = auth.password(customer)
    assert refused.status_code == 403
    assert "network:ip:blocked" in refused.json()["error"]["message"]


def test_malformed_and_unknown_input_gets_4xx(auth: Auth, database: Database) -> None:
    customer = auth.create()
    assert auth.http.post("/v1/auth/login/password", json={"username": 1}).status_code == 422
    bad_token = auth.code(customer, "x" * 40, "totp", "123456")
    assert bad_token.status_code == 400
    assert bad_token.json()["error"]["code"] == "step_expired"
    with database.read() as session:
        kinds = session.execute(select(AuditEntry.kind)).scalars().all()
    assert "auth:step:rejected" in kinds
    with database.read() as session:
        assert session.execute(select(SessionRow)).first() is not None  # the enrolment session


def test_a_nul_in_any_text_of_a_request_is_a_422_naming_the_field(auth: Auth) -> None:
    """Was 500: an e-mail address with NUL on SQLite too, any stored text on PostgreSQL."""
    customer = {
        "username": "nul-probe",
        "password": "correct horse battery staple",
        "client": {"device_id": "device-0123456789"},
    }
    for field, body in (
        ("email", customer | {"email": "taro\x00@example.jp"}),
        ("display_name", customer | {"display_name": "Ta\x00ro"}),
        (
            "client.user_agent",
            customer | {"client": {"device_id": "device-01", "user_agent": "\x00"}},
        ),
    ):
        reply = auth.http.post("/v1/auth/customers", json=body)
        assert reply.status_code == 422, reply.text
        assert [f["field"] for f in reply.json()["error"]["fields"]] == [field]
        assert "NUL" in reply.json()["error"]["message"]
    login = {"username": "x", "password": "y", "client": {"device_id": "device-01", "ip": "\x00"}}
    assert auth.http.post("/v1/auth/login/password", json=login).status_code == 422


def test_a_credential_nested_hundreds_deep_is_a_4xx(auth: Auth) -> None:
    # Valid JSON (orjson takes 1,024 levels) that the NUL check once walked recursively: 500.
    deep: object = "x"
    for _ in range(500):
        deep = [deep]
    body = {"challenge_id": "x", "client": {"device_id": "device-01"}, "credential": {"a": deep}}
    reply = auth.http.post("/v1/auth/passkeys/login", json=body)
    assert 400 <= reply.status_code < 500, reply.text


def test_every_step_of_a_login_and_its_session_carry_one_engine_session_id(auth: Auth) -> None:
    customer = auth.create()
    logged_in = auth.email_login(customer)
    assert logged_in.status_code == 200, logged_in.text
    engine_id = logged_in.json()["session"]["event_session_id"]
    assert engine_id
    steps = {event["step"]: event["session_id"] for event, _ in _logins(auth, customer.customer_id)}
    assert steps == {"password": engine_id, "second_factor": engine_id}
    headers = auth.session_headers(logged_in.json()["session_token"], customer.device)
    assert (
        auth.http.get("/v1/auth/session", headers=headers).json()["event_session_id"] == engine_id
    )

    auth.register_passkey(customer, logged_in.json()["session_token"])
    passwordless = auth.login_with_passkey(customer)
    session = auth.http.get(
        "/v1/auth/session", headers=auth.session_headers(passwordless, customer.device)
    ).json()
    passkey_steps = [
        event["session_id"]
        for event, _ in _logins(auth, customer.customer_id)
        if event["step"] == "passkey"
    ]
    assert passkey_steps == [session["event_session_id"]]
    assert session["event_session_id"] != engine_id  # another login, another session


def test_a_risky_but_allowed_login_opens_a_sell_only_session(
    auth: Auth, clock: FrozenClock
) -> None:
    customer = auth.create()
    logged_in = auth.email_login(customer, ip=SEOUL)
    assert logged_in.status_code == 200, logged_in.text
    assert logged_in.json()["session"]["scope"] == "full"  # allowed: the engine did not challenge
    password = next(d for e, d in _logins(auth, customer.customer_id) if e["step"] == "password")
    assert "session:login:risky" in [reason["code"] for reason in password["reasons"]]

    # The broker tags the session's orders with its engine session id: a buy is refused.
    assert auth.http.post("/v1/events", json=factories.instrument()).status_code == 200
    buy = factories.order(
        customer.customer_id,
        occurred_at=clock().isoformat(),
        session_id=logged_in.json()["session"]["event_session_id"],
        ip=SEOUL,
    )
    decided = auth.http.post("/v1/events", json=buy).json()
    assert decided["outcome"] == "deny"
    assert "session:login:risky" in [reason["code"] for reason in decided["reasons"]]


def test_a_code_entered_from_another_network_than_the_password_is_a_relay(auth: Auth) -> None:
    customer = auth.create()
    pending = auth.password(customer, ip=SEOUL)
    assert pending.status_code == 200, pending.text
    token = pending.json()["login_token"]
    body = {"login_token": token, "client": customer.client(DOCOMO)}
    assert auth.http.post("/v1/auth/login/email-code", json=body).status_code == 200
    code = last_code(auth.server.database, customer.customer_id)
    relayed = auth.code(customer, token, "email_otp", code, ip=DOCOMO)
    assert relayed.status_code == 403
    assert relayed.json()["error"]["code"] == "factor_not_allowed"  # a passkey, or nothing
    second = next(d for e, d in _logins(auth, customer.customer_id) if e["step"] == "second_factor")
    assert "login:relay:factor_network" in [reason["code"] for reason in second["reasons"]]

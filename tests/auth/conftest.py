"""A live server with authentication configured, and a client speaking the auth JSON API."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from kabuguard.auth.bench import SoftAuthenticator
from kabuguard.auth.models import AccountRow
from kabuguard.config import Environment, Settings
from kabuguard.db import Database
from kabuguard.notifications.models import OutboxRow
from tests.conftest import TEST_DATA_KEY, TEST_PEPPER, FrozenClock, LiveServer, running_server

ORIGIN = "http://localhost:8000"
SEOUL = "121.163.55.136"  # abroad: a first login from here is risky (20) but allowed: sell-only
# An auth policy after the transition: a customer without a passkey gets an enrolment session.
AFTER_TRANSITION = (
    'version = "t"\n[required_factor]\nlogin = "phishing_resistant"\norder = "any_mfa"\n'
    'withdrawal = "phishing_resistant"\npayout_change = "phishing_resistant"\n'
    'contact_change = "phishing_resistant"\ncredential_change = "phishing_resistant"\n'
)
PASSWORD = "violet-harbour-lantern-42"
# A real browser's user agent: login-risk rules treat HTTP libraries as automation.
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def auth_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "environment": Environment.TEST,
        "api_key_pepper": TEST_PEPPER,
        "data_key": TEST_DATA_KEY,
        "log_json": False,
        "public_base_url": ORIGIN,
        "auth_cookie_secure": False,
        "auth_open_signup": True,
        "smtp_host": "127.0.0.1",  # the e-mail channel exists; nothing is dispatched in tests
        "dispatch_in_serve": False,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return auth_settings(database_url)


@dataclass
class Customer:
    customer_id: str
    username: str
    password: str
    device: str
    enrolment_token: str
    authenticator: SoftAuthenticator = field(
        default_factory=lambda: SoftAuthenticator("localhost", ORIGIN)
    )

    def client(self, ip: str = "198.51.100.7") -> dict[str, str]:
        return {"device_id": self.device, "ip": ip, "user_agent": BROWSER}


@dataclass
class Auth:
    """The broker's side of the auth JSON API, with an all-scopes key."""

    server: LiveServer
    http: httpx.Client

    def create(self, *, email: str | None = "taro@example.com", **extra: Any) -> Customer:
        username = extra.pop("username", f"user-{secrets.token_hex(4)}")
        device = f"device-{secrets.token_hex(6)}"
        body = {
            "username": username,
            "password": PASSWORD,
            "display_name": "Taro",
            "email": email,
            "client": {"device_id": device},
        } | extra
        reply = self.http.post("/v1/auth/customers", json=body)
        assert reply.status_code == 201, reply.text
        data = reply.json()
        return Customer(
            data["customer_id"], username, PASSWORD, device, data["enrolment"]["session_token"]
        )

    def session_headers(self, token: str, device: str) -> dict[str, str]:
        return {"X-Kabuguard-Session": token, "X-Kabuguard-Device": device}

    def register_passkey(self, customer: Customer, token: str | None = None) -> None:
        headers = self.session_headers(token or customer.enrolment_token, customer.device)
        options = self.http.post("/v1/auth/passkeys/registration/options", headers=headers)
        assert options.status_code == 200, options.text
        credential = customer.authenticator.create(options.json()["public_key"])
        body = {"challenge_id": options.json()["challenge_id"], "credential": credential}
        reply = self.http.post("/v1/auth/passkeys/registration", json=body, headers=headers)
        assert reply.status_code == 201, reply.text

    def password(
        self, customer: Customer, password: str | None = None, **client: str
    ) -> httpx.Response:
        body = {
            "username": customer.username,
            "password": password or customer.password,
            "client": customer.client() | client,
        }
        return self.http.post("/v1/auth/login/password", json=body)

    def passkey_options(self, customer: Customer, login_token: str | None = None) -> dict[str, Any]:
        body = {"login_token": login_token, "client": customer.client()}
        reply = self.http.post("/v1/auth/passkeys/login/options", json=body)
        assert reply.status_code == 200, reply.text
        options: dict[str, Any] = reply.json()
        return options

    def passkey_login(
        self, customer: Customer, options: dict[str, Any], credential: dict[str, Any]
    ) -> httpx.Response:
        body = {
            "challenge_id": options["challenge_id"],
            "credential": credential,
            "client": customer.client(),
        }
        return self.http.post("/v1/auth/passkeys/login", json=body)

    def login_with_passkey(self, customer: Customer) -> str:
        options = self.passkey_options(customer)
        reply = self.passkey_login(
            customer, options, customer.authenticator.get(options["public_key"])
        )
        assert reply.status_code == 200, reply.text
        token: str = reply.json()["session_token"]
        return token

    def code(
        self, customer: Customer, login_token: str, factor: str, code: str, **client: str
    ) -> httpx.Response:
        body = {
            "login_token": login_token,
            "factor": factor,
            "code": code,
            "client": customer.client() | client,
        }
        return self.http.post("/v1/auth/login/code", json=body)

    def email_login(self, customer: Customer, **client: str) -> httpx.Response:
        """Password, then an e-mail code, both from `client` (e.g. ip=...): the session."""
        pending = self.password(customer, **client)
        assert pending.status_code == 200, pending.text
        token = pending.json()["login_token"]
        body = {"login_token": token, "client": customer.client() | client}
        assert self.http.post("/v1/auth/login/email-code", json=body).status_code == 200
        code = last_code(self.server.database, customer.customer_id)
        return self.code(customer, token, "email_otp", code, **client)


def last_code(database: Database, customer_id: str) -> str:
    """The e-mail code waiting in the outbox (what the customer would read in the mail)."""
    with database.read() as session:
        context = session.execute(
            select(OutboxRow.context)
            .where(OutboxRow.customer_id == customer_id, OutboxRow.channel == "email")
            .order_by(OutboxRow.id.desc())
            .limit(1)
        ).scalar_one()
    text: str = orjson.loads(context)["reasons"][0]["en"]
    return text.split("Your code: ")[1][:6]


@pytest.fixture
def auth(live_server: LiveServer) -> Iterator[Auth]:
    with live_server.client(live_server.key("broker")) as http:
        yield Auth(live_server, http)


ServerWith = Callable[..., AbstractContextManager[Auth]]


@pytest.fixture
def server_with(database_url: str, database: Database, clock: FrozenClock) -> ServerWith:
    """Start a server with other auth settings: `with server_with(key=value) as auth:`."""

    @contextmanager
    def start(**overrides: Any) -> Iterator[Auth]:
        settings = auth_settings(database_url, **overrides)
        with (
            running_server(settings, database, clock) as server,
            server.client(server.key("broker")) as http,
        ):
            yield Auth(server, http)

    return start


def self_lock(database: Database, customer_id: str, at: datetime) -> None:
    """The customer's login lock, set straight in the row: as if it landed mid-request."""
    with database.write() as session:
        session.execute(
            update(AccountRow)
            .where(AccountRow.customer_id == customer_id)
            .values(self_lock="login", self_locked_at=at)
        )

"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL, and a live server.

PostgreSQL tests skip when the server is unreachable, unless KABUGUARD_REQUIRE_SERVICES=1 (set
by .ci/run), in which case they fail: CI must never go green by skipping them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import make_url

from kabuguard import migrations
from kabuguard.apikeys import services as apikeys
from kabuguard.apikeys.interfaces import Scope
from kabuguard.app import create_app
from kabuguard.audit.chain import GENESIS_HASH
from kabuguard.config import Environment, Settings
from kabuguard.db import Base, Database
from tests.factories import BASE_TIME

REQUIRE_SERVICES = os.environ.get("KABUGUARD_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "KABUGUARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
TEST_PEPPER = "test-pepper-" + "x" * 40
# base64 of b"test-only-data-key-32-bytes-long": encrypts contact details in tests.
TEST_DATA_KEY = "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc="


def service_unavailable(name: str, problem: str) -> None:
    """Skip on a laptop; fail in CI, where the service is promised."""
    message = f"{name} is unreachable ({problem})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} but KABUGUARD_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kabuguard.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated database on the PostgreSQL server, dropped at the end of the run."""
    admin = make_url(POSTGRES_URL)
    name = f"kabuguard_test_{os.getpid()}_{secrets.token_hex(3)}"
    conninfo = (
        f"host={admin.host} port={admin.port or 5432} user={admin.username} dbname={admin.database}"
    )
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        service_unavailable("PostgreSQL", str(error).strip().splitlines()[0])
    url = admin.set(database=name).render_as_string(hide_password=False)
    migrations.upgrade(url)
    yield url
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    database = Database(url)
    tables = [t.name for t in Base.metadata.sorted_tables if t.name != "audit_head"]
    with database.engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        connection.exec_driver_sql(f"UPDATE audit_head SET seq = 0, hash = '{GENESIS_HASH}'")
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: every test using it runs once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "kabuguard.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


class FrozenClock:
    """An injectable clock that only moves when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def settings_for(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        environment=Environment.TEST,
        api_key_pepper=TEST_PEPPER,
        data_key=TEST_DATA_KEY,
        log_json=False,
    )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url)


@pytest.fixture
def clock() -> FrozenClock:
    """The server's clock: a month after the factories' base time, so test events are past."""
    return FrozenClock(BASE_TIME + timedelta(days=30))


@dataclass
class LiveServer:
    url: str
    settings: Settings
    database: Database
    clock: FrozenClock

    def key(self, name: str | None = None, scopes: tuple[Scope, ...] = tuple(Scope)) -> str:
        with self.database.write() as session:
            return apikeys.create(
                session,
                name=name or f"key-{secrets.token_hex(4)}",
                scopes=scopes,
                pepper=TEST_PEPPER.encode(),
                actor="test",
                at=datetime.now(UTC),
            )

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def running_server(
    settings: Settings, database: Database, clock: FrozenClock, *, fast_path: bool = True
) -> Iterator[LiveServer]:
    """The real app under uvicorn on a loopback port, on the test's database."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted connections. asyncio sets it only on sockets whose proto is
    # IPPROTO_TCP, which this one (proto 0) is not: without it, a response written in two
    # parts waits for the client's delayed ACK, 40 ms a request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, clock=clock, fast_path=fast_path)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings, database, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_server(settings: Settings, database: Database, clock: FrozenClock) -> Iterator[LiveServer]:
    with running_server(settings, database, clock) as server:
        yield server


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A client authenticated with a key holding every scope."""
    with live_server.client(live_server.key("all-scopes")) as client:
        yield client


@pytest.fixture(params=[True, False], ids=["fast-path", "framework-route"])
def server_on_either_path(
    request: pytest.FixtureRequest, settings: Settings, database: Database, clock: FrozenClock
) -> Iterator[LiveServer]:
    """POST /v1/events is served by the fast path or, with it off, by the FastAPI route."""
    with running_server(settings, database, clock, fast_path=request.param) as live:
        yield live

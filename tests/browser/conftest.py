"""A real `kabuguard serve` and Debian's Chromium with a CDP virtual authenticator.

Browser tests skip when /usr/bin/chromium is missing (scripts/ensure-chromium installs it),
except under KABUGUARD_REQUIRE_SERVICES=1, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from kabuguard.apikeys import services as apikeys
from kabuguard.apikeys.interfaces import Scope
from kabuguard.db import Database
from tests.conftest import TEST_DATA_KEY, TEST_PEPPER, service_unavailable

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
KABUGUARD = str(Path(sys.executable).parent / "kabuguard")


@dataclass
class Served:
    url: str
    database: Database
    key: str

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not CHROMIUM.exists():
        service_unavailable("Chromium", f"{CHROMIUM} is missing: run scripts/ensure-chromium")
    port = _free_port()
    url = f"http://localhost:{port}"
    database_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'kabuguard.db'}"
    env = os.environ | {
        "KABUGUARD_DATABASE_URL": database_url,
        "KABUGUARD_HOST": "127.0.0.1",
        "KABUGUARD_PORT": str(port),
        "KABUGUARD_ENVIRONMENT": "test",
        "KABUGUARD_API_KEY_PEPPER": TEST_PEPPER,
        "KABUGUARD_DATA_KEY": TEST_DATA_KEY,
        "KABUGUARD_PUBLIC_BASE_URL": url,
        "KABUGUARD_AUTH_COOKIE_SECURE": "false",
        "KABUGUARD_AUTH_OPEN_SIGNUP": "true",
        "KABUGUARD_LOG_JSON": "false",
        "KABUGUARD_DISPATCH_IN_SERVE": "false",
    }
    process = subprocess.Popen(
        [KABUGUARD, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_ready(url, process)
        database = Database(database_url)
        with database.write() as session:
            key = apikeys.create(
                session,
                name="browser-broker",
                scopes=tuple(Scope),
                pepper=TEST_PEPPER.encode(),
                actor="test",
                at=datetime.now(UTC),
            )
        yield Served(url, database, key)
        database.dispose()
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"kabuguard serve exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("kabuguard serve did not become ready")


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context whose page has a passkey-capable virtual authenticator."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 900, "height": 1200})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

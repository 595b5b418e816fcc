"""The hosted pages run on the same live server as the auth API tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.auth.conftest import BROWSER, Auth, auth, server_with, settings

__all__ = ["auth", "browser", "server_with", "settings"]


@pytest.fixture
def browser(auth: Auth) -> Iterator[httpx.Client]:
    """A browser-like client of the pages (a real browser's user agent, cookies kept)."""
    with httpx.Client(base_url=auth.server.url, timeout=30, headers={"user-agent": BROWSER}) as c:
        yield c

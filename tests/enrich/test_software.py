"""User-agent enrichment: browser, OS, device type, automation; bad input never raises."""

from __future__ import annotations

import pytest

from kabuguard.enrich.enricher import default_enricher
from kabuguard.risk.login import Unknown

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.5 Mobile/15E148 Safari/604.1"
)
HEADLESS = CHROME.replace("Chrome/", "HeadlessChrome/")


def test_a_desktop_browser() -> None:
    facts = default_enricher().software(CHROME)
    assert (facts.browser, facts.os, facts.device_type) == ("Chrome 124", "Windows 10", "desktop")
    assert not facts.automation
    assert facts.unknown is None


def test_a_phone() -> None:
    facts = default_enricher().software(IPHONE)
    assert (facts.browser, facts.device_type) == ("Mobile Safari 18", "mobile")


@pytest.mark.parametrize("agent", [HEADLESS, "python-requests/2.31.0", "Go-http-client/1.1"])
def test_automation_clients(agent: str) -> None:
    assert default_enricher().software(agent).automation


@pytest.mark.parametrize(("agent", "why"), [(None, Unknown.MISSING), ("", Unknown.MISSING)])
def test_missing_agent(agent: str | None, why: Unknown) -> None:
    facts = default_enricher().software(agent)
    assert (facts.unknown, facts.device_type, facts.browser) == (why, "unknown", None)


def test_unparseable_agent_is_unknown_not_an_error() -> None:
    facts = default_enricher().software("garbage!!")
    assert facts.unknown is Unknown.UNPARSEABLE
    assert facts.user_agent == "garbage!!"

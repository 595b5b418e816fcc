"""Real user-agent strings for customers' browsers and phones, and a few automation clients.

Customer strings are the npm package `top-user-agents` (microlink.io's list of the most common
browser user agents, MIT licence, notice in data/top-user-agents.LICENSE.md), vendored
unmodified in data/user_agents.json. Its versions are from the day it was packed, so a run
dated 2025 may show browser versions from later: harmless for detection, which compares a
customer with their own history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "user_agents.json"

# What credential-stuffing tools and scripted sessions send when they do not spoof a browser.
AUTOMATION = (
    "python-requests/2.32.3",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36",
    "Go-http-client/2.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 PhantomJS/2.1.1",
)


@dataclass(frozen=True, slots=True)
class UserAgents:
    desktop: tuple[str, ...]
    mobile: tuple[str, ...]
    automation: tuple[str, ...]


@cache
def user_agents() -> UserAgents:
    document = json.loads(DATA.read_text(encoding="utf-8"))
    desktop, mobile = tuple(document["desktop"]), tuple(document["mobile"])
    for text in (*desktop, *mobile, *AUTOMATION):
        # The renderer writes these into JSON without escaping: refuse anything needing it.
        if '"' in text or "\\" in text or not text.isprintable():
            raise ValueError(f"user agent needs JSON escaping: {text!r}")
    return UserAgents(desktop, mobile, AUTOMATION)

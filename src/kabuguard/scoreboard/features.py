"""Turning a login event into Freeman's hierarchical features (IP → ASN → country; UA → browser →
OS → device type), with geoip2fast's shipped ASN data and ua-parser. Lookups are cached: a
population reuses few addresses and user agents, and a missed UA costs about a millisecond.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from geoip2fast import GeoIP2Fast
from ua_parser import Result, parse

from kabuguard.risk.events import LoginAttempt
from kabuguard.scoreboard.freeman import Login

# This file answers IPv4 and IPv6 with the ASN's name and the country (GeoLite2-derived).
_GEO_DATA = "geoip2fast-asn-ipv6.dat.gz"
_UNKNOWN = ""
_CACHED_IPS = 1 << 18
_CACHED_USER_AGENTS = 1 << 16


class LoginFeatures:
    """Builds the model's `Login` from an event; loads the network data once (about 0.3 s)."""

    def __init__(self) -> None:
        self._geo = _geo_database()
        self.network = lru_cache(maxsize=_CACHED_IPS)(self._network)
        self.software = lru_cache(maxsize=_CACHED_USER_AGENTS)(self._software)

    def login(self, event: LoginAttempt) -> Login | None:
        """The features of a login by a known customer; None when it names no customer."""
        if event.customer_id is None:
            return None
        network = self.network(event.ip or _UNKNOWN)
        software = self.software(event.user_agent or _UNKNOWN)
        return Login(event.customer_id, event.occurred_at, (network, software))

    def _network(self, ip: str) -> tuple[str, str, str]:
        if not ip:
            return (_UNKNOWN, _UNKNOWN, _UNKNOWN)
        found = self._geo.lookup(ip)
        return (ip, str(found.asn_name), str(found.country_code))

    @staticmethod
    def _software(user_agent: str) -> tuple[str, str, str, str]:
        if not user_agent:
            return (_UNKNOWN, _UNKNOWN, _UNKNOWN, "unknown")
        parsed = parse(user_agent)
        browser = parsed.user_agent
        system = parsed.os
        return (
            user_agent,
            f"{browser.family} {browser.major or ''}".rstrip() if browser else "Other",
            f"{system.family} {system.major or ''}".rstrip() if system else "Other",
            device_type(parsed),
        )


@cache
def _geo_database() -> Any:
    """Loaded once per process: the data never changes while we run."""
    return GeoIP2Fast(geoip2fast_data_file=_GEO_DATA, verbose=False)


def device_type(parsed: Result) -> str:
    """desktop, mobile, tablet or bot. ua-parser names devices but not their class, so this is
    the usual heuristic: crawlers are "Spider", tablets say so (or are Android without
    "Mobile"), and iOS, Android or a "Mobile" token mean a phone."""
    device = parsed.device
    system = parsed.os.family if parsed.os else ""
    if device and device.family == "Spider":
        return "bot"
    brand = device.brand or "" if device else ""
    family = device.family if device else ""
    mobile_token = "Mobile" in parsed.string
    if "Tablet" in brand or family == "iPad" or (system == "Android" and not mobile_token):
        return "tablet"
    if mobile_token or system in {"iOS", "Android"}:
        return "mobile"
    return "desktop"

"""Where an event came from, in words a customer can read: country, network, device.

Only what parses is shown. A user agent is attacker-controlled text: printing it raw would let
an attacker write into the broker's own security mail ("call 0120-… / visit …"), so only the
browser and system families ua-parser recognises are shown, reduced to letters and digits.
The network data is the enrichment's own copy (`enrich.network.geo_database`): one per process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import ip_address

from ua_parser import parse

from kabuguard.enrich.network import geo_database
from kabuguard.notifications.kinds import Locale

_UNSAFE = re.compile(r"[^A-Za-z0-9 ]+")
_COUNTRIES_JA = {
    "JP": "日本",
    "US": "アメリカ",
    "CN": "中国",
    "HK": "香港",
    "TW": "台湾",
    "KR": "韓国",
    "SG": "シンガポール",
    "VN": "ベトナム",
    "TH": "タイ",
    "PH": "フィリピン",
    "ID": "インドネシア",
    "MY": "マレーシア",
    "IN": "インド",
    "RU": "ロシア",
    "GB": "イギリス",
    "DE": "ドイツ",
    "FR": "フランス",
    "NL": "オランダ",
    "CA": "カナダ",
    "AU": "オーストラリア",
    "BR": "ブラジル",
}


@dataclass(frozen=True, slots=True)
class Origin:
    ip: str | None
    country: str | None
    network: str | None


def origin_of(raw_ip: str | None, locale: Locale) -> Origin:
    try:
        address = str(ip_address((raw_ip or "").strip()))
    except ValueError:
        return Origin(None, None, None)
    return _lookup(address, locale)


@lru_cache(maxsize=4096)
def _lookup(address: str, locale: Locale) -> Origin:
    found = geo_database().lookup(address)
    code = str(found.country_code)
    if len(code) != 2 or not code.isalpha():
        return Origin(address, None, None)
    name = _COUNTRIES_JA.get(code) if locale is Locale.JA else None
    country = name or _safe(str(found.country_name))
    return Origin(address, country or None, _safe(str(found.asn_name)) or None)


@lru_cache(maxsize=4096)
def device_summary(user_agent: str | None) -> str | None:
    """e.g. "Chrome 131 / Windows 10"; None when nothing is recognised."""
    if not user_agent:
        return None
    parsed = parse(user_agent)
    parts = [
        _safe(f"{part.family} {part.major or ''}")
        for part in (parsed.user_agent, parsed.os)
        if part is not None and part.family != "Other"
    ]
    return " / ".join(p for p in parts if p) or None


def _safe(text: str) -> str:
    return _UNSAFE.sub(" ", text).strip()[:40]

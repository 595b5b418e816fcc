"""Typed facts about a login, fetched and enriched outside the core, read by the login rules.

Enrichment (IP → ASN → country, user agent → browser → OS → device type) happens in
`kabuguard.enrich`; state (the customer's history profile, stuffing windows, session facts,
the exposed-credentials list) in `kabuguard.state`. The rules only read what arrives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kabuguard.risk.history import PopulationFacts, Profile


class AsnClass(StrEnum):
    """What kind of network an autonomous system is (enrich/asn_classes.py says how)."""

    HOSTING = "hosting"
    MOBILE = "mobile"
    RESIDENTIAL = "residential"
    UNKNOWN = "unknown"
    VPN = "vpn"


class Unknown(StrEnum):
    """Why a network or software fact is unknown: never an exception, always a reason."""

    MISSING = "missing"
    NOT_IN_DATA = "not_in_data"
    PRIVATE = "private"
    RESERVED = "reserved"
    UNPARSEABLE = "unparseable"


@dataclass(frozen=True, slots=True)
class NetworkFacts:
    """The source address as the rules see it; `unknown` says why the lookups are empty."""

    ip: str | None
    prefix: str | None  # the /24 (IPv4) or /48 (IPv6) around the address
    asn: str | None  # the AS organisation name (the shipped data carries no number)
    country: str | None  # ISO 3166 alpha-2
    asn_class: AsnClass
    unknown: Unknown | None = None

    @property
    def anonymising(self) -> bool:
        """Hosting and VPN exits hide where the person really is."""
        return self.asn_class in {AsnClass.HOSTING, AsnClass.VPN}


@dataclass(frozen=True, slots=True)
class SoftwareFacts:
    user_agent: str | None
    browser: str | None  # family and major version
    os: str | None
    device_type: str  # desktop, mobile, tablet, bot or unknown
    automation: bool  # headless browsers, HTTP libraries, crawlers
    unknown: Unknown | None = None


UNKNOWN_NETWORK = NetworkFacts(None, None, None, None, AsnClass.UNKNOWN, Unknown.MISSING)
UNKNOWN_SOFTWARE = SoftwareFacts(None, None, None, "unknown", False, Unknown.MISSING)


class WindowKind(StrEnum):
    """What a stuffing window aggregates on (domain §4.2: IP, /24, ASN and user agent)."""

    ASN = "asn"
    IP = "ip"
    PREFIX = "prefix"
    USER_AGENT = "ua"


@dataclass(frozen=True, slots=True)
class Bucket:
    """Password attempts on one key in one time bucket (epoch seconds of its start)."""

    start: int
    attempts: int = 0
    failures: int = 0
    unknown_usernames: int = 0
    # Short hashes of the usernames tried, kept up to a cap: enough to tell 10 from 1.
    usernames: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Window:
    """The recent buckets of one stuffing key, oldest first."""

    kind: WindowKind
    key: str
    buckets: tuple[Bucket, ...]


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the login of a session established, kept so later events in the session see it."""

    customer_id: str
    login_at: datetime
    network: NetworkFacts
    risk_score: int
    restricted: bool  # risky enough to sell only: no buys, payout or contact changes
    first_sensitive_at: datetime | None = None
    # The login was challenged for a passkey: the broker enforces challenges, so a session that
    # goes on passed one, which neither a relay nor a password thief can.
    stepped_up: bool = False


@dataclass(frozen=True, slots=True)
class LoginSignals:
    """Everything the login rules consult for one event, as of the event's time."""

    network: NetworkFacts = UNKNOWN_NETWORK
    software: SoftwareFacts = UNKNOWN_SOFTWARE
    profile: Profile | None = None
    population: PopulationFacts | None = None  # everybody's history: the global likelihoods
    values: tuple[str, ...] = ()  # this login's value per history Level
    windows: tuple[Window, ...] = ()
    session: SessionFacts | None = None
    # The session is the customer's latest login's, the event naming none kabuguard knows.
    session_inferred: bool = False
    exposed_since: datetime | None = None  # on the exposed-credentials list since then


_JST_OFFSET = 9 * 3600
UNKNOWN_VALUE = "?"


def history_values(
    network: NetworkFacts, software: SoftwareFacts, device_id: str | None, at: datetime
) -> tuple[str, ...]:
    """This login's value at each history Level; an unknown fact is one value of its own."""
    hour = (int(at.timestamp()) + _JST_OFFSET) // 3600 % 24
    values = (
        network.ip,
        network.prefix,
        network.asn,
        network.country,
        network.asn_class.value,
        software.user_agent,
        software.browser,
        software.os,
        software.device_type,
        device_id,
        str(hour // 3),
    )
    return tuple(UNKNOWN_VALUE if value is None else value for value in values)

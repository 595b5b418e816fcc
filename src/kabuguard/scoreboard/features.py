"""Turning a login event into Freeman's hierarchical features (IP → ASN → country; UA → browser →
OS → device type), from the shared enrichment (`kabuguard.enrich`: geoip2fast's shipped ASN
data and ua-parser, cached). An unknown fact is one value of its own, as in the plain model.
"""

from __future__ import annotations

from kabuguard.enrich.enricher import Enricher, default_enricher
from kabuguard.risk.events import LoginAttempt
from kabuguard.scoreboard.freeman import Login

_UNKNOWN = ""
_OTHER = "Other"  # what ua-parser calls a browser or OS it does not know


class LoginFeatures:
    """Builds the model's `Login` from an event; loads the network data once (about 0.3 s)."""

    def __init__(self, enricher: Enricher | None = None) -> None:
        self._enricher = enricher or default_enricher()

    def login(self, event: LoginAttempt) -> Login | None:
        """The features of a login by a known customer; None when it names no customer."""
        if event.customer_id is None:
            return None
        return Login(
            event.customer_id,
            event.occurred_at,
            (self.network(event.ip), self.software(event.user_agent)),
        )

    def network(self, ip: str | None) -> tuple[str, str, str]:
        facts = self._enricher.network(ip)
        return (facts.ip or _UNKNOWN, facts.asn or _UNKNOWN, facts.country or _UNKNOWN)

    def software(self, user_agent: str | None) -> tuple[str, str, str, str]:
        facts = self._enricher.software(user_agent)
        if facts.user_agent is None:
            return (_UNKNOWN, _UNKNOWN, _UNKNOWN, "unknown")
        return (facts.user_agent, facts.browser or _OTHER, facts.os or _OTHER, facts.device_type)

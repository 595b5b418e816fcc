"""One entry point for the state layer: an event's network and software facts."""

from __future__ import annotations

from functools import cache

from kabuguard.enrich.network import NetworkLookup
from kabuguard.enrich.software import SoftwareLookup
from kabuguard.risk.login import NetworkFacts, SoftwareFacts


class Enricher:
    """Cached lookups; build one per process with `default_enricher()` (loading takes ~0.3 s)."""

    def __init__(self) -> None:
        self._network = NetworkLookup()
        self._software = SoftwareLookup()

    def network(self, ip: str | None) -> NetworkFacts:
        return self._network.facts(ip)

    def software(self, user_agent: str | None) -> SoftwareFacts:
        return self._software.facts(user_agent)


@cache
def default_enricher() -> Enricher:
    return Enricher()

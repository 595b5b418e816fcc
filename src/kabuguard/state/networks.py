"""Fast lookup of an address in a set of blocked networks (one set probe per prefix length)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from ipaddress import ip_network

from kabuguard.risk.addresses import IPAddress
from kabuguard.risk.signals import BlockedNetwork, IPNetwork


class NetworkIndex:
    def __init__(self, entries: Iterable[BlockedNetwork]) -> None:
        self._by_prefix: dict[tuple[int, int], dict[IPNetwork, BlockedNetwork]] = {}
        for entry in entries:
            key = (entry.network.version, entry.network.prefixlen)
            self._by_prefix.setdefault(key, {})[entry.network] = entry

    def match(self, address: IPAddress, at: datetime) -> BlockedNetwork | None:
        for (version, prefixlen), networks in self._by_prefix.items():
            if version != address.version:
                continue
            found = networks.get(ip_network((address, prefixlen), strict=False))
            if found is not None and (found.until is None or found.until > at):
                return found
        return None

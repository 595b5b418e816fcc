"""Fast lookup of an address in a set of blocked networks (one set probe per prefix length)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_network

from kabuguard.risk.addresses import IPAddress
from kabuguard.risk.signals import BlockedNetwork, IPNetwork

_MAPPED = IPv6Network("::ffff:0:0/96")


def unmapped(network: IPNetwork) -> IPNetwork:
    """An IPv4-mapped IPv6 network (`::ffff:a.b.c.d/96` or longer) as the IPv4 network it
    names; any other network as it is. Event addresses arrive so converted
    (`risk.addresses.parse_address`), so a mapped entry would otherwise never match."""
    if isinstance(network, IPv6Network) and network.prefixlen >= 96 and network.subnet_of(_MAPPED):
        return IPv4Network((int(network.network_address) & 0xFFFF_FFFF, network.prefixlen - 96))
    return network


def mapped(network: IPNetwork) -> IPv6Network | None:
    """The IPv4-mapped IPv6 spelling of an IPv4 network (`unmapped` reversed); None for IPv6."""
    if isinstance(network, IPv6Network):
        return None
    address = int(_MAPPED.network_address) | int(network.network_address)
    return IPv6Network((address, network.prefixlen + 96))


class NetworkIndex:
    def __init__(self, entries: Iterable[BlockedNetwork]) -> None:
        self._by_prefix: dict[tuple[int, int], dict[IPNetwork, BlockedNetwork]] = {}
        for entry in entries:
            # Entries stored as IPv4-mapped IPv6 before they were converted on input match
            # the IPv4 addresses they name.
            network = unmapped(entry.network)
            key = (network.version, network.prefixlen)
            self._by_prefix.setdefault(key, {})[network] = entry

    def match(self, address: IPAddress, at: datetime) -> BlockedNetwork | None:
        if isinstance(address, IPv6Address) and address.scope_id is not None:
            # An event's "2001:db8::1%x" is 2001:db8::1: with its zone it matched no /128.
            address = IPv6Address(int(address))
        for (version, prefixlen), networks in self._by_prefix.items():
            if version != address.version:
                continue
            found = networks.get(ip_network((address, prefixlen), strict=False))
            if found is not None and (found.until is None or found.until > at):
                return found
        return None

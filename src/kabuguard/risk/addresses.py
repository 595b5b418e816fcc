"""IP address parsing shared by every reader of an event's `ip`, parsed once per address.

An event's address is read by the signals, the network enrichment and the pivot index;
`ipaddress` spends about 8 µs on each parse of a dotted quad. The canonical IPv4 form is
checked by hand here (the same rules as `ipaddress`: four decimal octets, none above 255,
no leading zeros) and everything else is left to `ipaddress`, so answers and errors are its.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, ip_address

IPAddress = IPv4Address | IPv6Address
_CACHED = 4096  # recent addresses: an event's readers, and a burst from one source


@lru_cache(maxsize=_CACHED)
def parse_address(raw: str) -> IPAddress:
    """`raw` (surrounding blanks ignored) as an address; IPv4-mapped IPv6 comes back as IPv4,
    since dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d. Raises ValueError."""
    text = raw.strip()
    fast = _dotted_quad(text)
    if fast is not None:
        return fast
    address = ip_address(text)
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=_CACHED)
def is_global(address: IPAddress) -> bool:
    """`ipaddress`'s own answer, remembered: it walks a table of reserved networks."""
    return address.is_global


def block_prefix(address: IPAddress) -> int:
    """The length of an address's block: a /24 for IPv4, a /48 for IPv6."""
    return 24 if isinstance(address, IPv4Address) else 48


def block_of(address: IPAddress) -> str:
    """The /24 of an IPv4 address or the /48 of an IPv6 one, as `a.b.c.0/24` or `x:y:z::/48`."""
    length = block_prefix(address)
    host_bits = address.max_prefixlen - length
    first = type(address)(int(address) >> host_bits << host_bits)
    return f"{first}/{length}"


def _dotted_quad(text: str) -> IPv4Address | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not (0 < len(part) <= 3 and part.isascii() and part.isdigit()):
            return None
        if len(part) > 1 and part[0] == "0":
            return None  # ipaddress refuses leading zeros as ambiguous (octal?)
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return IPv4Address(value)

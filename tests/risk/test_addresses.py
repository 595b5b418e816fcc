"""The hand-checked dotted quad answers exactly as `ipaddress` does, errors included."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from kabuguard.risk.addresses import block_of, is_global, parse_address

ODD_INPUTS = [
    "0.0.0.0",  # noqa: S104 (an address to parse, not to bind)
    "255.255.255.255", " 203.0.113.9 ", "203.0.113.9\n", "1.2.3", "1.2.3.4.5",
    "1.2.3.256", "01.2.3.4", "1.2.3.00", "1.2.3.0", "1..3.4", ".1.2.3", "1.2.3.", "1.2.3.-4",
    "1.2.3.+4", "1.2.3.4 ", "1.2.3.٤", "1.2.3.²", "1.2.3.1000", "0x1.2.3.4", "1.2.3.4/32",
    "1.2.3.4%eth0", "::ffff:198.51.100.7", "::ffff:c633:6407", "2001:db8::1", "::1", "::",
    "fe80::1%eth0", "2001:db8:0:0:0:0:0:1", "not an address", "", "   ", "1.2.3.4\x00",
]  # fmt: skip


def _reference(raw: str) -> IPv4Address | IPv6Address | str:
    try:
        address = ip_address(raw.strip())
    except ValueError as error:
        return f"error: {error}"
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _parsed(raw: str) -> IPv4Address | IPv6Address | str:
    try:
        return parse_address(raw)
    except ValueError as error:
        return f"error: {error}"


@pytest.mark.parametrize("raw", ODD_INPUTS)
def test_odd_inputs_parse_or_fail_as_ipaddress_does(raw: str) -> None:
    assert _parsed(raw) == _reference(raw)


def test_random_dotted_quads_parse_as_ipaddress_does() -> None:
    rng = random.Random(11)
    pieces = ["0", "00", "7", "07", "25", "255", "256", "300", "1000", "", "a", "９"]
    for _ in range(5_000):
        raw = ".".join(rng.choice(pieces) for _ in range(rng.choice((3, 4, 4, 4, 5))))
        assert _parsed(raw) == _reference(raw), raw


def test_a_parsed_address_is_the_same_type_and_text_as_ipaddress_gives() -> None:
    found = parse_address("198.51.100.7")
    assert type(found) is IPv4Address
    assert str(found) == "198.51.100.7"
    assert parse_address("::ffff:198.51.100.7") == IPv4Address("198.51.100.7")


@pytest.mark.parametrize(
    "raw", ["198.51.100.7", "0.0.0.255", "255.255.255.255", "2001:db8:1:2::9", "::1", "::"]
)
def test_the_block_is_the_24_or_48_ipaddress_names(raw: str) -> None:
    address = ip_address(raw)
    length = 24 if address.version == 4 else 48
    assert block_of(address) == str(ip_network((address, length), strict=False))


@pytest.mark.parametrize("raw", ["8.8.8.8", "10.0.0.1", "100.64.0.1", "192.0.2.1", "2001:db8::1"])
def test_is_global_is_ipaddress_own_answer(raw: str) -> None:
    address = ip_address(raw)
    assert is_global(address) is address.is_global

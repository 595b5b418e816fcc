"""NetworkIndex: an address matches the blocked network around it, at any prefix and version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_address, ip_network

import pytest

from kabuguard.risk.signals import BlockedNetwork
from kabuguard.state.networks import NetworkIndex, mapped, unmapped

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _blocked(network: str, until: datetime | None = None) -> BlockedNetwork:
    return BlockedNetwork(ip_network(network), f"block {network}", until)


ENTRIES = [
    _blocked("10.0.0.0/8"),
    _blocked("172.16.0.0/12"),
    _blocked("192.0.2.0/24"),
    _blocked("198.51.100.64/26"),
    _blocked("203.0.113.9/32"),
    _blocked("2001:db8::/32"),
    _blocked("2400:4050:a0::/48"),
    _blocked("2400:4051::/64"),
    _blocked("2400:4052::1/128"),
]


@pytest.fixture
def index() -> NetworkIndex:
    return NetworkIndex(ENTRIES)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("10.0.0.0", "10.0.0.0/8"),
        ("10.255.255.255", "10.0.0.0/8"),
        ("172.31.200.1", "172.16.0.0/12"),
        ("192.0.2.77", "192.0.2.0/24"),
        ("198.51.100.64", "198.51.100.64/26"),
        ("198.51.100.127", "198.51.100.64/26"),
        ("203.0.113.9", "203.0.113.9/32"),
        ("2001:db8:ffff::1", "2001:db8::/32"),
        ("2400:4050:a0:ffff::1", "2400:4050:a0::/48"),
        ("2400:4051::dead:beef", "2400:4051::/64"),
        ("2400:4052::1", "2400:4052::1/128"),
    ],
)
def test_address_inside_a_network_matches_it(
    index: NetworkIndex, address: str, network: str
) -> None:
    found = index.match(ip_address(address), T0)
    assert found is not None
    assert found.network == ip_network(network)
    assert found.reason == f"block {network}"


@pytest.mark.parametrize(
    "address",
    [
        "172.32.0.1",  # just past 172.16.0.0/12
        "192.0.3.1",
        "198.51.100.63",  # just below the /26
        "198.51.100.128",  # just above it
        "203.0.113.8",  # beside the /32
        "203.0.113.10",
        "2001:db9::1",
        "2400:4050:a1::1",
        "2400:4051:0:1::1",
        "2400:4052::2",
        "::1",
    ],
)
def test_address_outside_every_network_does_not_match(index: NetworkIndex, address: str) -> None:
    assert index.match(ip_address(address), T0) is None


def test_versions_never_cross(index: NetworkIndex) -> None:
    v4_only = NetworkIndex([_blocked("0.0.0.0/0")])
    v6_only = NetworkIndex([_blocked("::/0")])
    assert v4_only.match(ip_address("2001:db8::1"), T0) is None
    assert v6_only.match(ip_address("192.0.2.1"), T0) is None
    found_v4 = v4_only.match(ip_address("192.0.2.1"), T0)
    found_v6 = v6_only.match(ip_address("2001:db8::1"), T0)
    assert found_v4 is not None
    assert found_v4.network.version == 4
    assert found_v6 is not None
    assert found_v6.network.version == 6
    # "::a00:1" has the same low 32 bits as 10.0.0.1 but is an IPv6 address.
    assert index.match(ip_address("::a00:1"), T0) is None


def test_catch_all_networks_match_everything_of_their_version() -> None:
    index = NetworkIndex([_blocked("0.0.0.0/0"), _blocked("::/0")])
    for address in ("1.2.3.4", "255.255.255.255", "::", "ffff::1"):
        found = index.match(ip_address(address), T0)
        assert found is not None
        assert found.network.prefixlen == 0


def test_nested_networks_both_match_their_addresses() -> None:
    index = NetworkIndex([_blocked("10.0.0.0/8"), _blocked("10.1.2.0/24")])
    inner = index.match(ip_address("10.1.2.3"), T0)
    outer = index.match(ip_address("10.9.9.9"), T0)
    assert inner is not None
    assert inner.network in {ip_network("10.0.0.0/8"), ip_network("10.1.2.0/24")}
    assert outer is not None
    assert outer.network == ip_network("10.0.0.0/8")


def test_expiry_is_judged_at_the_given_time() -> None:
    until = T0 + timedelta(hours=1)
    index = NetworkIndex([_blocked("192.0.2.0/24", until)])
    address = ip_address("192.0.2.5")
    assert index.match(address, until - timedelta(microseconds=1)) is not None
    assert index.match(address, until) is None
    assert index.match(address, until + timedelta(days=1)) is None
    assert index.match(address, T0 - timedelta(days=365)) is not None


def test_an_expired_network_does_not_hide_a_live_one_around_it() -> None:
    index = NetworkIndex(
        [_blocked("10.1.2.0/24", T0 - timedelta(hours=1)), _blocked("10.0.0.0/8", None)]
    )
    found = index.match(ip_address("10.1.2.3"), T0)
    assert found is not None
    assert found.network == ip_network("10.0.0.0/8")


def test_empty_index_matches_nothing() -> None:
    empty = NetworkIndex(())
    assert empty.match(ip_address("192.0.2.1"), T0) is None
    assert empty.match(ip_address("2001:db8::1"), T0) is None


def test_same_network_given_twice_keeps_the_last_entry() -> None:
    first = BlockedNetwork(ip_network("192.0.2.0/24"), "first", None)
    second = BlockedNetwork(ip_network("192.0.2.0/24"), "second", None)
    found = NetworkIndex([first, second]).match(ip_address("192.0.2.1"), T0)
    assert found == second


def test_index_accepts_a_generator() -> None:
    index = NetworkIndex(entry for entry in ENTRIES)
    assert index.match(ip_address("192.0.2.1"), T0) is not None


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("::ffff:203.0.113.0/120", "203.0.113.0/24"),
        ("::ffff:203.0.113.9/128", "203.0.113.9/32"),
        ("::ffff:0:0/96", "0.0.0.0/0"),
        ("::fffe:0:0/95", "::fffe:0:0/95"),  # wider than the mapped range: IPv6 as it is
        ("::/0", "::/0"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::cb00:7100/120", "::cb00:7100/120"),  # IPv4-compatible, not mapped
        ("203.0.113.0/24", "203.0.113.0/24"),
    ],
)
def test_an_ipv4_mapped_network_is_the_ipv4_network_it_names(written: str, meant: str) -> None:
    assert unmapped(ip_network(written)) == ip_network(meant)


def test_mapped_spells_an_ipv4_network_as_ipv4_mapped_ipv6() -> None:
    assert mapped(ip_network("203.0.113.0/24")) == ip_network("::ffff:203.0.113.0/120")
    assert mapped(ip_network("2001:db8::/32")) is None


def test_an_entry_stored_as_ipv4_mapped_ipv6_matches_the_ipv4_addresses_it_names() -> None:
    # Was never matched: event addresses come as IPv4, and versions never cross.
    index = NetworkIndex([_blocked("::ffff:203.0.113.0/120")])
    found = index.match(ip_address("203.0.113.5"), T0)
    assert found is not None
    assert found.network == ip_network("::ffff:203.0.113.0/120")  # as stored, and listed
    assert index.match(ip_address("203.0.114.5"), T0) is None


@pytest.mark.parametrize("address", ["2400:4052::1%eth0", "2001:db8::1%x", "fe80::1%1"])
def test_an_address_with_a_zone_matches_as_the_address_alone(address: str) -> None:
    # "2001:db8::1%x" from an event escaped a block on 2001:db8::1 (/128): the zone was kept.
    index = NetworkIndex([*ENTRIES, _blocked("fe80::1/128")])
    assert index.match(ip_address(address), T0) is not None

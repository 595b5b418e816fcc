"""IP enrichment: real lookups in the shipped data; bad input is unknown with a reason."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest

from kabuguard.enrich.asn_classes import asn_class
from kabuguard.enrich.enricher import default_enricher
from kabuguard.enrich.network import NetworkLookup, geo_database
from kabuguard.risk.addresses import parse_address
from kabuguard.risk.login import AsnClass, NetworkFacts, Unknown


@pytest.mark.parametrize(
    ("ip", "asn", "country", "kind"),
    [
        ("1.79.158.24", "NTT DOCOMO, INC.", "JP", AsnClass.MOBILE),
        ("153.243.241.242", "NTT Communications Corporation", "JP", AsnClass.RESIDENTIAL),
        ("18.181.233.59", "AMAZON-02", "JP", AsnClass.HOSTING),
        ("43.132.201.112", "Tencent Building, Kejizhongyi Avenue", "HK", AsnClass.HOSTING),
        ("193.36.125.3", "M247 Europe SRL", "JP", AsnClass.VPN),
        ("36.16.105.45", "Chinanet", "CN", AsnClass.RESIDENTIAL),
    ],
)
def test_addresses_resolve_to_asn_country_and_class(
    ip: str, asn: str, country: str, kind: AsnClass
) -> None:
    facts = default_enricher().network(ip)
    assert (facts.asn, facts.country, facts.asn_class, facts.unknown) == (asn, country, kind, None)
    assert facts.ip == ip


def test_prefix_is_the_slash_24_or_slash_48() -> None:
    assert default_enricher().network("1.79.158.24").prefix == "1.79.158.0/24"
    mapped = default_enricher().network("::ffff:1.79.158.24")
    assert (mapped.ip, mapped.asn) == ("1.79.158.24", "NTT DOCOMO, INC.")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (None, Unknown.MISSING),
        ("", Unknown.MISSING),
        ("   ", Unknown.MISSING),
        ("not-an-ip", Unknown.UNPARSEABLE),
        ("999.1.1.1", Unknown.UNPARSEABLE),
        ("10.1.2.3", Unknown.PRIVATE),
        ("192.168.0.1", Unknown.PRIVATE),
        ("127.0.0.1", Unknown.PRIVATE),
        ("fe80::1", Unknown.PRIVATE),
        ("100.64.0.1", Unknown.RESERVED),  # carrier-grade NAT space
        ("224.0.0.1", Unknown.RESERVED),
        ("198.51.100.7", Unknown.PRIVATE),  # documentation range: Python calls it private
    ],
)
def test_bad_or_unroutable_addresses_are_unknown_with_a_reason(
    raw: str | None, why: Unknown
) -> None:
    facts = default_enricher().network(raw)
    assert facts.unknown is why
    assert (facts.asn, facts.country, facts.asn_class) == (None, None, AsnClass.UNKNOWN)


def test_class_list_and_keywords() -> None:
    assert asn_class("Datacamp Limited") is AsnClass.VPN
    assert asn_class("Example Cloud Hosting K.K.") is AsnClass.HOSTING
    assert asn_class("Some Regional Cable TV") is AsnClass.RESIDENTIAL


# Special-purpose addresses, some in ranges narrower than a /24 (192.0.0.0/29, 192.0.0.170/31).
SPECIAL = [
    "0.0.0.0",  # noqa: S104 - an address to classify; nothing binds to it
    "255.255.255.255", "192.0.0.9", "192.0.0.170", "192.0.0.50", "::1", "::",
    "ff02::1", "2001:db8::1", "64:ff9b::102:304", "2002::1", "2400:4050::1",
    "::8.8.8.8", "::1.79.158.24",  # IPv4-compatible: the data answers from its IPv4 ranges
]  # fmt: skip


def _from_the_data(raw: str) -> tuple[object, ...]:
    """The answer for one address straight from the stdlib and the data, no block kept."""
    address = parse_address(raw)
    if address.is_private or address.is_loopback or address.is_link_local:
        return (Unknown.PRIVATE,)
    if not address.is_global or address.is_multicast:
        return (Unknown.RESERVED,)
    found = geo_database().lookup(str(address))
    name = str(found.asn_name or "") if _in(address, found.asn_cidr) else ""
    country = str(found.country_code or "") if _in(address, found.cidr) else ""
    if not name or name == "IANA.ORG" or country in ("", "--"):
        return (Unknown.NOT_IN_DATA,)
    return (None, name, country)


def _in(address: IPv4Address | IPv6Address, data_range: object) -> bool:
    try:
        return address in ip_network(str(data_range))
    except ValueError:
        return False


def _answer(facts: NetworkFacts) -> tuple[object, ...]:
    return (facts.unknown,) if facts.unknown else (None, facts.asn, facts.country)


def _split_blocks(rng: random.Random, wanted: int) -> list[str]:
    """Addresses whose country or ASN range is narrower than their /24."""
    found: list[str] = []
    for _ in range(100_000):
        raw = ".".join(str(rng.randrange(256)) for _ in range(4))
        answer = geo_database().lookup(raw)
        if any(int(str(r).partition("/")[2] or 0) > 24 for r in (answer.cidr, answer.asn_cidr)):
            found.append(raw)
            if len(found) == wanted:
                return found
    raise AssertionError("the data has no ranges narrower than a /24 any more")


def test_a_blocks_kept_answer_is_the_datas_answer_for_every_address_in_it() -> None:
    """A new address in a block seen before is answered from the block only where the data's
    ranges cover the whole block: a /24 split between networks answers each from its own."""
    rng = random.Random(24)
    seeds = [".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(400)]
    seeds += _split_blocks(rng, 20)
    seeds += SPECIAL
    lookup = NetworkLookup()
    for seed in seeds:
        address = parse_address(seed)
        step = 1 if isinstance(address, IPv4Address) else 1 << 70
        block = int(address) & ~((1 << (8 if step == 1 else 80)) - 1)
        # The seed first, so that its block's answer is kept before its neighbours ask.
        for offset in (None, 0, 37 * step, 128 * step, 255 * step):
            family = IPv4Address if step == 1 else IPv6Address
            raw = seed if offset is None else str(family(block + offset))
            assert _answer(lookup.facts(raw)) == _from_the_data(raw), raw


class _Counted:
    """The shipped data, counting the lookups made in it."""

    def __init__(self) -> None:
        self.lookups = 0

    def lookup(self, text: str) -> object:
        self.lookups += 1
        return geo_database().lookup(text)


def test_a_new_address_in_a_block_held_by_one_range_is_answered_without_a_lookup() -> None:
    lookup = NetworkLookup()
    counted = _Counted()
    lookup._geo = counted
    first, neighbour = lookup.facts("1.79.158.24"), lookup.facts("1.79.158.200")
    assert counted.lookups == 1
    assert (neighbour.asn, neighbour.country, neighbour.prefix) == (
        first.asn, first.country, "1.79.158.0/24",
    )  # fmt: skip
    assert neighbour.ip == "1.79.158.200"


def test_an_address_in_a_gap_between_the_datas_asn_ranges_has_no_network() -> None:
    """geoip2fast answers an address no ASN range holds with the range before it: that
    network is not the address's, and claiming it would feed the rules a wrong class."""
    rng = random.Random(7)
    for _ in range(100_000):
        raw = ".".join(str(rng.randrange(1, 224)) for _ in range(4))
        if not IPv4Address(raw).is_global:
            continue
        found = geo_database().lookup(raw)
        if found.asn_name and found.asn_cidr and not _in(IPv4Address(raw), found.asn_cidr):
            break
    else:
        raise AssertionError("no address in a gap between ASN ranges found")
    facts = NetworkLookup().facts(raw)
    assert facts.asn != found.asn_name
    assert facts.unknown is Unknown.NOT_IN_DATA

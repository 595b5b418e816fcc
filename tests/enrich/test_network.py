"""IP enrichment: real lookups in the shipped data; bad input is unknown with a reason."""

from __future__ import annotations

import pytest

from kabuguard.enrich.asn_classes import asn_class
from kabuguard.enrich.enricher import default_enricher
from kabuguard.risk.login import AsnClass, Unknown


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

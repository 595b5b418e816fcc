"""The curated ASN classes: which autonomous systems are hosting, VPN or mobile networks.

geoip2fast's shipped data names each AS by its organisation (GeoLite2 `autonomous_system_
organization`), not its number, so the classes are keyed by that name, exactly as the data
spells it. The lists name the large clouds, data centres and VPN operators seen in attacks on
Japanese brokers and in public abuse reports, and the mobile carriers of Japan and of the
countries Japanese travellers visit most. Anything not listed is an access network
(`residential`), unless its name carries a hosting keyword. An ISP that runs fixed and mobile
service under one AS (KDDI, SoftBank, IIJ) is `residential`: the data cannot tell them apart.

To add a network, add its name exactly as `GeoIP2Fast().lookup(ip).asn_name` prints it, with a
comment naming the operator and AS number. docs/login-risk.md describes the classes.
"""

from __future__ import annotations

from kabuguard.risk.login import AsnClass

HOSTING_NAMES = frozenset(
    {
        "AMAZON-02",  # AWS, AS16509
        "AMAZON-AES",  # AWS, AS14618
        "GOOGLE-CLOUD-PLATFORM",  # AS396982
        "GOOGLE",  # AS15169 (Google Cloud egress as well)
        "MICROSOFT-CORP-MSN-AS-BLOCK",  # Azure, AS8075
        "DIGITALOCEAN-ASN",  # AS14061
        "OVH SAS",  # AS16276
        "Hetzner Online GmbH",  # AS24940
        "AS-CHOOPA",  # Vultr, AS20473
        "AS-VULTR",  # Vultr, AS20473 (newer name)
        "Akamai Connected Cloud",  # Linode, AS63949
        "LINODE-AP Linode, LLC",  # AS63949 (older name)
        "Alibaba US Technology Co., Ltd.",  # Alibaba Cloud, AS45102
        "Hangzhou Alibaba Advertising Co.,Ltd.",  # AS37963
        "Tencent Building, Kejizhongyi Avenue",  # Tencent Cloud, AS132203
        "Shenzhen Tencent Computer Systems Company Limited",  # AS45090
        "ORACLE-BMC-31898",  # Oracle Cloud, AS31898
        "SAKURA Internet Inc.",  # AS9371
        "GMO Internet,Inc",  # ConoHa, AS7506
        "IDC Frontier Inc.",  # AS4694
        "Contabo GmbH",  # AS51167
        "LEASEWEB-NL-AMS-01",  # AS60781
        "Scaleway S.a.s.",  # AS12876
        "CLOUDFLARENET",  # AS13335 (Workers, WARP egress)
        "HostPapa",  # AS36352
        "IONOS SE",  # AS8560
        "Psychz Networks",  # AS40676
        "QuadraNet Enterprises LLC",  # AS8100
        "Choopa, LLC",  # AS20473 (older name)
    }
)

VPN_NAMES = frozenset(
    {
        "M247 Europe SRL",  # M247, AS9009: exits of most consumer VPNs
        "M247 Ltd",  # AS9009 (other name)
        "Datacamp Limited",  # CDN77/Datacamp, AS60068: VPN exits
        "PacketHub S.A.",  # NordVPN, AS147049
        "Clouvider Limited",  # AS62240: VPN exits
        "31173 Services AB",  # Mullvad, AS39351
        "Tzulo, Inc.",  # AS11878: VPN exits
        "Performive LLC",  # AS46562: VPN exits
        "Private Layer INC",  # AS51852
        "GSL Networks Pty LTD",  # AS137409: VPN exits
        "Proton AG",  # Proton VPN, AS62371
        "xTom GmbH",  # AS3214: VPN exits
    }
)

MOBILE_NAMES = frozenset(
    {
        "NTT DOCOMO, INC.",  # AS9605
        "Rakuten Mobile Network, Inc.",  # AS138384
        "CELLCO-PART",  # Verizon Wireless, AS22394
        "T-MOBILE-AS21928",  # AS21928
        "SK Telecom",  # AS9644
        "LG POWERCOMM",  # LG U+, AS17858
        "Far EasTone Telecommunication Co., Ltd.",  # AS9674
        "Taiwan Mobile Co., Ltd.",  # AS24158
        "China Mobile communications corporation",  # AS9808
        "Hutchison Telephone Company Limited",  # AS9304 (3 Hong Kong)
        "Advanced Wireless Network Company Limited",  # AIS, AS45430
        "Vodafone GmbH",  # AS3209
        "Telefonica Moviles",  # AS12430
    }
)

# Words that mark a data centre in an AS name not on the lists above.
HOSTING_WORDS = ("hosting", "cloud", "data center", "datacenter", "datacentre", "server", "vps")


def asn_class(name: str) -> AsnClass:
    """The class of the AS named `name` (a GeoLite2 organisation name)."""
    if name in VPN_NAMES:
        return AsnClass.VPN
    if name in HOSTING_NAMES:
        return AsnClass.HOSTING
    if name in MOBILE_NAMES:
        return AsnClass.MOBILE
    lowered = name.lower()
    if any(word in lowered for word in HOSTING_WORDS):
        return AsnClass.HOSTING
    return AsnClass.RESIDENTIAL

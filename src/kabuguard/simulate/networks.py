"""The curated catalogue of real networks that customers and attackers connect from.

Each entry names a real autonomous system: its registry number (for the reader) and the AS
name exactly as geoip2fast's GeoLite2-derived data reports it (for the lookup: that data
carries names, not numbers, so prefixes are selected by name and, where one carrier runs
several AS numbers under one name, pooled). `country` restricts the prefixes to those
GeoLite2 places in that country, so a "JP" entry only ever yields Japanese addresses.

Shares are rough market shares for sampling, not measurements; docs/simulation.md lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class NetworkKind(StrEnum):
    FIXED = "fixed"  # residential fibre/cable
    MOBILE = "mobile"  # mobile carrier (carrier-grade NAT: a new address per connection)
    BUSINESS = "business"  # business lines behind which corporate proxies sit
    HOSTING = "hosting"  # cloud and data-centre networks
    VPN = "vpn"  # consumer VPN exits


class Region(IntEnum):
    HOKKAIDO = 0
    TOHOKU = 1
    KANTO = 2
    CHUBU = 3
    KANSAI = 4
    CHUGOKU = 5
    SHIKOKU = 6
    KYUSHU = 7


# Share of Japan's population by region (rounded census proportions).
REGION_WEIGHTS = (0.04, 0.07, 0.35, 0.17, 0.18, 0.06, 0.03, 0.10)


@dataclass(frozen=True, slots=True)
class Network:
    key: str
    asn: int
    as_name: str
    kind: NetworkKind
    country: str
    label: str
    share: float = 1.0
    region: Region | None = None  # regional ISPs only serve their own region


F, M, B, H, V = (
    NetworkKind.FIXED,
    NetworkKind.MOBILE,
    NetworkKind.BUSINESS,
    NetworkKind.HOSTING,
    NetworkKind.VPN,
)

JP_FIXED = (
    Network("ocn", 4713, "NTT Communications Corporation", F, "JP", "OCN / Docomo Hikari", 0.20),
    Network(
        "softbank-hikari", 17676, "SoftBank Corp.", F, "JP", "SoftBank Hikari / Yahoo! BB", 0.17
    ),
    Network("au-hikari", 2516, "KDDI CORPORATION", F, "JP", "au Hikari (KDDI)", 0.15),
    Network(
        "so-net", 2527, "Sony Network Communications Inc.", F, "JP", "So-net / NURO Hikari", 0.09
    ),
    Network("biglobe", 2518, "BIGLOBE Inc.", F, "JP", "BIGLOBE", 0.06),
    Network("jcom", 9824, "JCOM Co., Ltd.", F, "JP", "J:COM cable", 0.08),
    Network("iij", 2497, "Internet Initiative Japan Inc.", F, "JP", "IIJmio Hikari", 0.04),
    Network("asahi-net", 4685, "Asahi Net", F, "JP", "Asahi Net", 0.03),
    Network("arteria", 17506, "ARTERIA Networks Corporation", F, "JP", "ARTERIA / UCOM", 0.04),
    Network("optage", 17511, "OPTAGE Inc.", F, "JP", "eo Hikari (OPTAGE)", 0.35, Region.KANSAI),
    Network(
        "ctc",
        18126,
        "Chubu Telecommunications Company, Inc.",
        F,
        "JP",
        "commufa",
        0.3,
        Region.CHUBU,
    ),
    Network("qtnet", 7679, "QTnet,Inc.", F, "JP", "BBIQ (QTnet)", 0.30, Region.KYUSHU),
)

JP_MOBILE = (
    Network("docomo", 9605, "NTT DOCOMO, INC.", M, "JP", "NTT Docomo", 0.36),
    Network("au", 2516, "KDDI CORPORATION", M, "JP", "au / UQ / povo (KDDI)", 0.28),
    Network("softbank", 17676, "SoftBank Corp.", M, "JP", "SoftBank / Y!mobile / LINEMO", 0.21),
    Network("rakuten", 138384, "Rakuten Mobile Network, Inc.", M, "JP", "Rakuten Mobile", 0.09),
    Network("iijmio", 2497, "Internet Initiative Japan Inc.", M, "JP", "IIJmio (MVNO)", 0.06),
)

# Corporate proxies are single addresses on business lines, shared by every employee.
JP_BUSINESS = (
    Network("iij-biz", 2497, "Internet Initiative Japan Inc.", B, "JP", "IIJ business line"),
    Network("ocn-biz", 4713, "NTT Communications Corporation", B, "JP", "OCN business line"),
    Network("kddi-biz", 2516, "KDDI CORPORATION", B, "JP", "KDDI business line"),
    Network("arteria-biz", 17506, "ARTERIA Networks Corporation", B, "JP", "ARTERIA business line"),
)

HOSTING = (
    Network("aws-jp", 16509, "AMAZON-02", H, "JP", "AWS Tokyo/Osaka"),
    Network("aws-us", 16509, "AMAZON-02", H, "US", "AWS US"),
    Network("gcp-jp", 396982, "GOOGLE-CLOUD-PLATFORM", H, "JP", "Google Cloud Tokyo"),
    Network("azure-jp", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK", H, "JP", "Microsoft Azure Japan"),
    Network("digitalocean-sg", 14061, "DIGITALOCEAN-ASN", H, "SG", "DigitalOcean Singapore"),
    Network("digitalocean-us", 14061, "DIGITALOCEAN-ASN", H, "US", "DigitalOcean US"),
    Network("ovh-fr", 16276, "OVH SAS", H, "FR", "OVHcloud"),
    Network("hetzner-de", 24940, "Hetzner Online GmbH", H, "DE", "Hetzner"),
    Network("vultr-jp", 20473, "AS-CHOOPA", H, "JP", "Vultr Tokyo"),
    Network("linode-jp", 63949, "Akamai Connected Cloud", H, "JP", "Akamai/Linode Tokyo"),
    Network("alibaba-hk", 45102, "Alibaba US Technology Co., Ltd.", H, "HK", "Alibaba Cloud HK"),
    Network("alibaba-jp", 45102, "Alibaba US Technology Co., Ltd.", H, "JP", "Alibaba Cloud Tokyo"),
    Network(
        "tencent-hk", 132203, "Tencent Building, Kejizhongyi Avenue", H, "HK", "Tencent Cloud HK"
    ),
    Network("oracle-jp", 31898, "ORACLE-BMC-31898", H, "JP", "Oracle Cloud Tokyo"),
    Network("sakura", 9371, "SAKURA Internet Inc.", H, "JP", "SAKURA Internet"),
    Network("gmo", 7506, "GMO Internet,Inc", H, "JP", "GMO Internet (ConoHa)"),
    Network("idcf", 4694, "IDC Frontier Inc.", H, "JP", "IDC Frontier"),
)

VPN = (
    Network("m247-jp", 9009, "M247 Europe SRL", V, "JP", "M247 (VPN exits), Tokyo"),
    Network("m247-us", 9009, "M247 Europe SRL", V, "US", "M247 (VPN exits), US"),
    Network("datacamp-jp", 60068, "Datacamp Limited", V, "JP", "Datacamp/CDN77 (VPN exits), Tokyo"),
    Network("datacamp-sg", 60068, "Datacamp Limited", V, "SG", "Datacamp/CDN77 (VPN exits), SG"),
    Network("packethub-us", 147049, "PacketHub S.A.", V, "US", "PacketHub (NordVPN), US"),
    Network("clouvider-jp", 62240, "Clouvider Limited", V, "JP", "Clouvider (VPN exits), Tokyo"),
    Network("mullvad-se", 39351, "31173 Services AB", V, "SE", "31173 Services (Mullvad)"),
)

FOREIGN_RESIDENTIAL = (
    Network("comcast", 7922, "COMCAST-7922", F, "US", "Comcast Xfinity"),
    Network("att", 7018, "ATT-INTERNET4", F, "US", "AT&T Internet"),
    Network("verizon-wireless", 22394, "CELLCO-PART", M, "US", "Verizon Wireless"),
    Network("kt", 4766, "Korea Telecom", F, "KR", "KT"),
    Network("sk-broadband", 9318, "SK Broadband Co Ltd", F, "KR", "SK Broadband"),
    Network("hinet", 3462, "Data Communication Business Group", F, "TW", "Chunghwa HiNet"),
    Network("hkbn", 9269, "Hong Kong Broadband Network Ltd.", F, "HK", "HKBN"),
    Network("true", 7470, "TRUE INTERNET Co.,Ltd.", F, "TH", "True Internet"),
    Network("bt", 2856, "British Telecommunications PLC", F, "GB", "BT"),
    Network("orange", 3215, "Orange", F, "FR", "Orange"),
    Network("telekom", 3320, "Deutsche Telekom AG", F, "DE", "Deutsche Telekom"),
    Network("telstra", 1221, "Telstra Limited", F, "AU", "Telstra"),
    Network("chinanet", 4134, "Chinanet", F, "CN", "China Telecom (Chinanet)"),
    Network("unicom", 4837, "CHINA UNICOM China169 Backbone", F, "CN", "China Unicom"),
    Network("viettel", 7552, "Viettel Group", F, "VN", "Viettel"),
    Network("vnpt", 45899, "VNPT Corp", F, "VN", "VNPT"),
    Network("rostelecom", 12389, "Rostelecom", F, "RU", "Rostelecom"),
)

CATALOGUE: tuple[Network, ...] = (
    *JP_FIXED,
    *JP_MOBILE,
    *JP_BUSINESS,
    *HOSTING,
    *VPN,
    *FOREIGN_RESIDENTIAL,
)
INDEX = {network.key: position for position, network in enumerate(CATALOGUE)}


def keys(*names: str) -> tuple[int, ...]:
    """Catalogue positions of the named networks (raises KeyError on a typo)."""
    return tuple(INDEX[name] for name in names)


# Where Japanese travellers go (rough outbound-tourism shares) and the networks they meet.
TRAVEL = keys(
    "kt", "sk-broadband", "hinet", "hinet", "comcast", "att", "verizon-wireless", "hkbn",
    "true", "bt", "orange", "telekom", "telstra", "viettel", "chinanet",
)  # fmt: skip
# Naive attackers use their own home connection (Wiefling et al.): mostly abroad.
ATTACKER_HOME = keys(
    "chinanet", "chinanet", "unicom", "viettel", "vnpt", "rostelecom", "comcast", "kt", "true",
)  # fmt: skip
JP_VPN_EXITS = keys("m247-jp", "datacamp-jp", "clouvider-jp", "vultr-jp", "aws-jp", "sakura")
CONSUMER_VPN = keys(
    "m247-jp", "datacamp-jp", "clouvider-jp", "m247-us", "datacamp-sg", "packethub-us",
    "mullvad-se",
)  # fmt: skip
RELAY_INFRA = keys(
    "aws-jp", "gcp-jp", "azure-jp", "vultr-jp", "alibaba-hk", "alibaba-jp", "tencent-hk",
    "digitalocean-sg", "oracle-jp", "linode-jp",
)  # fmt: skip
DATACENTRE = keys(
    "aws-us", "digitalocean-us", "ovh-fr", "hetzner-de", "vultr-jp", "alibaba-hk",
    "tencent-hk", "gmo", "idcf", "sakura", "linode-jp",
)  # fmt: skip

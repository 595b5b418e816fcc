"""Request and response bodies of the list endpoints."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Annotated, Final

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from kabuguard.parsing import RequestBody
from kabuguard.risk.events import Market, StorableInstant, Symbol
from kabuguard.risk.signals import BlockedNetwork, IPNetwork, SymbolHalt
from kabuguard.state.networks import unmapped

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
NETWORK_LENGTH: Final = 64  # the `blocked_networks.network` column


def parse_network(text: str, *, strict: bool = False) -> IPNetwork:
    """An address or CIDR network as the entry it is stored and matched as; ValueError says
    what is wrong. Host bits are dropped (`192.0.2.9/24` is `192.0.2.0/24`) unless `strict`,
    and an IPv4-mapped IPv6 network becomes the IPv4 network it names, which is how event
    addresses are matched (`::ffff:203.0.113.0/120` is `203.0.113.0/24`)."""
    value = text.strip()
    if "%" in value:
        # ipaddress keeps a zone (fe80::1%eth0) in the text it prints: a zone names a link on
        # some host, never a client seen from here, and made the stored text outgrow the column.
        raise ValueError(f"{text!r} carries a zone (scope id) after '%': give the address alone")
    try:
        network = unmapped(ip_network(value, strict=strict))
    except ValueError as error:
        if strict and "host bits" in str(error):
            loose = unmapped(ip_network(value, strict=False))
            raise ValueError(f"{text!r} has host bits set: the network is {loose}") from None
        raise ValueError(f"{text!r} is not an IP address or CIDR network") from None
    if len(str(network)) > NETWORK_LENGTH:
        raise ValueError(f"{text!r} is longer than {NETWORK_LENGTH} characters as a network")
    return network


class HaltIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    symbol: Symbol
    market: Market
    reason: Reason
    until: StorableInstant | None = Field(
        default=None, description="When the halt lapses; none = until lifted."
    )


class HaltOut(BaseModel):
    symbol: str
    market: str
    reason: str
    until: AwareDatetime | None

    @classmethod
    def of(cls, halt: SymbolHalt) -> HaltOut:
        return cls(symbol=halt.symbol, market=halt.market, reason=halt.reason, until=halt.until)


class BlockIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    network: str = Field(description="An address or CIDR network, IPv4 or IPv6.", max_length=64)
    reason: Reason
    until: StorableInstant | None = None

    @field_validator("network")
    @classmethod
    def _parse(cls, value: str) -> str:
        return str(parse_network(value))


class BlockOut(BaseModel):
    network: str
    reason: str
    until: AwareDatetime | None

    @classmethod
    def of(cls, blocked: BlockedNetwork) -> BlockOut:
        return cls(network=str(blocked.network), reason=blocked.reason, until=blocked.until)

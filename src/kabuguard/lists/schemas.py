"""Request and response bodies of the list endpoints."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Annotated

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
from kabuguard.risk.signals import BlockedNetwork, SymbolHalt

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


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
        try:
            return str(ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR network") from None


class BlockOut(BaseModel):
    network: str
    reason: str
    until: AwareDatetime | None

    @classmethod
    def of(cls, blocked: BlockedNetwork) -> BlockOut:
        return cls(network=str(blocked.network), reason=blocked.reason, until=blocked.until)

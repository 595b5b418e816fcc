"""Facts the service layer fetches from state before the engine runs (the core does no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Network, IPv6Network

from kabuguard.risk.addresses import IPAddress, parse_address
from kabuguard.risk.decisions import Restriction
from kabuguard.risk.events import Initiator
from kabuguard.risk.login import LoginSignals
from kabuguard.risk.money import NO_MONEY, MoneySignals
from kabuguard.risk.trading import NO_TRADING, TradingSignals

IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class CustomerLockState:
    since: datetime
    initiated_by: str
    reason: str | None

    def stands_against(self, initiator: str) -> bool:
        """Whether this lock outranks a lock or unlock by `initiator`: a customer can neither
        lift nor replace one set by staff, the broker or the system (lifting it takes two
        operators, AUTH-10), or one link in a phished mailbox would undo it."""
        return initiator == Initiator.CUSTOMER and self.initiated_by != Initiator.CUSTOMER


@dataclass(frozen=True, slots=True)
class BlockedNetwork:
    network: IPNetwork
    reason: str
    until: datetime | None


@dataclass(frozen=True, slots=True)
class SymbolHalt:
    symbol: str
    market: str
    reason: str
    until: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedIP:
    """The event's `ip` field after parsing: an address, or a note that it was unusable."""

    address: IPAddress | None
    unparseable: bool

    @classmethod
    def parse(cls, raw: str | None) -> ParsedIP:
        if raw is None or raw == "":
            return cls(address=None, unparseable=False)
        try:
            return cls(address=parse_address(raw), unparseable=False)
        except ValueError:
            return cls(address=None, unparseable=True)


@dataclass(frozen=True, slots=True)
class Signals:
    """Everything the rules may consult about one event, fetched as of the event's time."""

    ip: ParsedIP
    lock: CustomerLockState | None = None
    restrictions: tuple[Restriction, ...] = ()
    blocked_network: BlockedNetwork | None = None
    symbol_halt: SymbolHalt | None = None
    # When kabuguard received the event (None in replay, where the event's time is the clock).
    received_at: datetime | None = None
    # The login risk facts (enriched network and software, profile, windows, session); None
    # when the state fetched none, and the login rules then have nothing to judge.
    login: LoginSignals | None = None
    trading: TradingSignals = NO_TRADING  # the order guard (state/trading.py)
    money: MoneySignals = NO_MONEY  # payouts, withdrawals, contacts (state/money.py)

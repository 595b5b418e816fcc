"""The state Protocols. Memory and SQL implementations pass the same conformance tests."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.events import Event
from kabuguard.risk.signals import BlockedNetwork, IPNetwork, Signals, SymbolHalt


class StateError(Exception):
    """Base of the state package's errors."""


class NotListed(StateError):
    """Removing an entry that is not on the list."""

    def __init__(self, list_name: str, key: str) -> None:
        super().__init__(f"{key} is not on the {list_name} list")
        self.list_name = list_name
        self.key = key


class DecisionState(Protocol):
    """What the engine needs before it decides, and what a decision changes afterwards."""

    def signals_for(self, event: Event) -> Signals: ...

    def record(self, event: Event, verdict: Verdict) -> None: ...

    def active_restrictions(self, customer_id: str, at: datetime) -> tuple[Restriction, ...]: ...


class Lists(Protocol):
    """Symbol buy-halts and blocked networks, set and lifted by staff through API and CLI."""

    def halt_symbol(self, halt: SymbolHalt) -> None: ...

    def lift_halt(self, symbol: str, market: str) -> SymbolHalt: ...

    def halts(self, at: datetime) -> list[SymbolHalt]: ...

    def block_network(self, blocked: BlockedNetwork) -> None: ...

    def unblock_network(self, network: IPNetwork) -> BlockedNetwork: ...

    def blocked_networks(self, at: datetime) -> list[BlockedNetwork]: ...

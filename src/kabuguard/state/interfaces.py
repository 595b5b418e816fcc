"""The state Protocols. Memory and SQL implementations pass the same conformance tests."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.events import Event
from kabuguard.risk.signals import BlockedNetwork, IPNetwork, Signals, SymbolHalt

if TYPE_CHECKING:
    from kabuguard.state.login import LoginMemory


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


class LoginStore(Protocol):
    """Login-risk state around one group of events, in bulk: one read before, one write after.

    `load` returns the profiles and leak-list entries of `customers` and the counters under
    `keys` (stuffing buckets, population counts, session facts; see `state.login.keys_for`) as
    a `LoginMemory` to decide against; `save` writes back what it changed and drops what has
    expired. SQL implements it with two `IN` queries and executemany upserts; a Redis store
    would pipeline MGET/HGETALL and SET with TTLs behind the same two calls.
    """

    def load(self, customers: Sequence[str], keys: Collection[str]) -> LoginMemory: ...

    def save(self, memory: LoginMemory, now: datetime) -> None: ...

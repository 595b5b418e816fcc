"""In-process state: what `replay` uses, and the reference for the conformance tests."""

from __future__ import annotations

from datetime import datetime

from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.events import Event, Instrument, Order, Price
from kabuguard.risk.signals import (
    BlockedNetwork,
    CustomerLockState,
    IPNetwork,
    ParsedIP,
    Signals,
    SymbolHalt,
)
from kabuguard.state.effects import Effects, effects_of, wants_halt_check
from kabuguard.state.guard import GuardMemory, default_guard
from kabuguard.state.interfaces import NotListed
from kabuguard.state.login import LoginMemory
from kabuguard.state.networks import NetworkIndex


class MemoryState:
    """Implements both DecisionState and Lists in plain dictionaries."""

    def __init__(
        self,
        login: LoginMemory | None = None,
        guard: GuardMemory | None = None,
        *,
        keep_changes: bool = True,
    ) -> None:
        """`keep_changes=False` where no store will write the changes back (replay): their
        record would otherwise grow with every event of a long history."""
        self.login = login or LoginMemory()
        self._keep_changes = keep_changes
        self.guard = guard or default_guard()
        self._locks: dict[str, CustomerLockState] = {}
        self._restrictions: dict[str, list[Restriction]] = {}
        self._halts: dict[tuple[str, str], SymbolHalt] = {}
        self._blocked: dict[IPNetwork, BlockedNetwork] = {}
        self._index = NetworkIndex(())
        self.instruments: dict[tuple[str, str], Instrument | Price] = {}
        self.automatic_halts: list[SymbolHalt] = []  # applied by coordination, to be stored

    @classmethod
    def load(
        cls,
        *,
        locks: dict[str, CustomerLockState],
        restrictions: dict[str, list[Restriction]],
        halts: list[SymbolHalt],
        networks: NetworkIndex,
        login: LoginMemory | None = None,
        guard: GuardMemory | None = None,
    ) -> MemoryState:
        """A state seeded from a snapshot (the SQL batch loads one per transaction)."""
        state = cls(login, guard)
        state._locks = dict(locks)
        state._restrictions = {customer: list(found) for customer, found in restrictions.items()}
        state._halts = {(halt.market, halt.symbol): halt for halt in halts}
        state._index = networks
        return state

    # DecisionState

    def signals_for(self, event: Event) -> Signals:
        ip = ParsedIP.parse(event.ip)
        customer = event.customer_id
        halt = None
        if wants_halt_check(event):
            assert isinstance(event, Order)
            halt = self._halt_at(event.symbol, event.market, event.occurred_at)
        login = self.login.signals(event)
        trading, money = self.guard.signals(event, login)
        return Signals(
            ip=ip,
            lock=self.lock_of(customer),
            restrictions=(
                self.active_restrictions(customer, event.occurred_at)
                if customer is not None
                else ()
            ),
            blocked_network=(
                self._index.match(ip.address, event.occurred_at) if ip.address is not None else None
            ),
            symbol_halt=halt,
            login=login,
            trading=trading,
            money=money,
        )

    def record(self, event: Event, verdict: Verdict) -> None:
        self.apply(event, verdict)

    def apply(self, event: Event, verdict: Verdict) -> Effects:
        """`record`, returning what changed for a store to write (SqlBatch)."""
        self.login.record(event, verdict)
        self.guard.record(event, verdict)
        for halt in self.guard.take_halts():  # a coordination alert applied a buy-halt
            self._apply_automatic(halt)
        effects = effects_of(event, verdict, held=self.lock_of(event.customer_id))
        customer = effects.customer_id
        if customer is not None:
            if effects.lock is not None:
                self._locks[customer] = effects.lock
            if effects.unlock:
                self._locks.pop(customer, None)
            if effects.restrictions:
                kept = self.active_restrictions(customer, event.occurred_at)
                self._restrictions[customer] = [*kept, *effects.restrictions]
        if effects.reference is not None:
            key = (effects.reference.market, effects.reference.symbol)
            self.instruments[key] = effects.reference
        if not self._keep_changes:
            self.login.forget_changes()
            self.guard.forget_changes()
            self.automatic_halts.clear()
        return effects

    def lock_of(self, customer_id: str | None) -> CustomerLockState | None:
        return self._locks.get(customer_id) if customer_id is not None else None

    def active_restrictions(self, customer_id: str, at: datetime) -> tuple[Restriction, ...]:
        # Expired entries are dropped when the customer next gains one (record), so memory
        # stays bounded in a long replay without reads mutating state.
        return tuple(r for r in self._restrictions.get(customer_id, ()) if r.until > at)

    # Lists

    def halt_symbol(self, halt: SymbolHalt) -> None:
        self._halts[(halt.market, halt.symbol)] = halt

    def lift_halt(self, symbol: str, market: str) -> SymbolHalt:
        removed = self._halts.pop((market, symbol), None)
        if removed is None:
            raise NotListed("halted symbol", f"{market}:{symbol}")
        return removed

    def halts(self, at: datetime) -> list[SymbolHalt]:
        return sorted(
            (h for h in self._halts.values() if h.until is None or h.until > at),
            key=lambda h: (h.market, h.symbol),
        )

    def block_network(self, blocked: BlockedNetwork) -> None:
        self._blocked[blocked.network] = blocked
        self._index = NetworkIndex(self._blocked.values())

    def unblock_network(self, network: IPNetwork) -> BlockedNetwork:
        removed = self._blocked.pop(network, None)
        if removed is None:
            raise NotListed("blocked network", str(network))
        self._index = NetworkIndex(self._blocked.values())
        return removed

    def blocked_networks(self, at: datetime) -> list[BlockedNetwork]:
        return sorted(
            (b for b in self._blocked.values() if b.until is None or b.until > at),
            key=lambda b: (b.network.version, str(b.network)),
        )

    def _apply_automatic(self, halt: SymbolHalt) -> None:
        """A coordination alert's halt never shortens one in force, e.g. staff's "until
        lifted": it would end the staff halt silently when its own hours ran out."""
        assert halt.until is not None  # automatic halts always end
        held = self._halts.get((halt.market, halt.symbol))
        if held is not None and (held.until is None or held.until >= halt.until):
            return
        self.halt_symbol(halt)
        self.automatic_halts.append(halt)

    def _halt_at(self, symbol: str, market: str, at: datetime) -> SymbolHalt | None:
        halt = self._halts.get((market, symbol))
        return halt if halt is not None and (halt.until is None or halt.until > at) else None

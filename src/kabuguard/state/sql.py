"""State in the relational database (SQLite or PostgreSQL), inside the caller's transaction.

Decisions use `SqlBatch`: the state a batch of events needs is loaded in a handful of queries,
the batch is decided against an in-memory overlay (so an event sees the effects of the ones
before it), and the changes are written at the end. Lists are changed through `SqlState`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Collection, Sequence
from datetime import datetime
from ipaddress import ip_network
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kabuguard.enrich.enricher import default_enricher
from kabuguard.hotsql import Row, select_in
from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.events import Event, Instrument, Price
from kabuguard.risk.policy import Policy
from kabuguard.risk.signals import BlockedNetwork, CustomerLockState, IPNetwork, Signals, SymbolHalt
from kabuguard.state.effects import Effects
from kabuguard.state.guard import GuardMemory, builtin_policy, default_guard
from kabuguard.state.guard_sql import SqlGuardStore
from kabuguard.state.interfaces import NotListed
from kabuguard.state.login import keys_for
from kabuguard.state.login_sql import SqlLoginStore
from kabuguard.state.memory import MemoryState
from kabuguard.state.models import (
    BlockedNetworkRow,
    CustomerLockRow,
    HaltedSymbolRow,
    InstrumentRow,
    ListVersionRow,
    RestrictionRow,
)
from kabuguard.state.networks import NetworkIndex

BLOCKED_NETWORKS = "blocked_networks"
HALTED_SYMBOLS = "halted_symbols"

_RESTRICTION_COLUMNS = ("customer_id", "capability", "until", "enforcement", "reason", "id")
_HALTS = select(
    HaltedSymbolRow.symbol,
    HaltedSymbolRow.market,
    HaltedSymbolRow.reason,
    HaltedSymbolRow.until,
).order_by(HaltedSymbolRow.market, HaltedSymbolRow.symbol)
_INSERT_RESTRICTION = insert(RestrictionRow)
_DELETE_LOCK = delete(CustomerLockRow).where(CustomerLockRow.customer_id == bindparam("customer"))
_INSTRUMENT_COLUMNS = (
    "name",
    "currency",
    "lot_size",
    "listed_shares",
    "average_daily_volume",
    "limit_up",
    "limit_down",
    "reference_at",
)
_PRICE_COLUMNS = ("last", "previous_close", "limit_up", "limit_down", "price_at")
_LOCK_COLUMNS = ("since", "initiated_by", "reason", "event_id")


def _upserts(dialect_insert: Any) -> dict[str, Any]:
    """Insert-or-update statements keyed by what they store, for one dialect."""

    def upsert(model: Any, keys: list[str], columns: tuple[str, ...]) -> Any:
        statement = dialect_insert(model)
        return statement.on_conflict_do_update(
            index_elements=keys, set_={column: statement.excluded[column] for column in columns}
        )

    return {
        "instrument": upsert(InstrumentRow, ["market", "symbol"], _INSTRUMENT_COLUMNS),
        "price": upsert(InstrumentRow, ["market", "symbol"], _PRICE_COLUMNS),
        "lock": upsert(CustomerLockRow, ["customer_id"], _LOCK_COLUMNS),
        "halt": upsert(HaltedSymbolRow, ["market", "symbol"], ("reason", "until")),
        "block": upsert(BlockedNetworkRow, ["network"], ("reason", "until")),
        "list_version": dialect_insert(ListVersionRow).on_conflict_do_nothing(
            index_elements=["name"]
        ),
    }


_UPSERTS = {"postgresql": _upserts(pg_insert), "sqlite": _upserts(sqlite_insert)}


def _upsert(session: Session, kind: str) -> Any:
    return _UPSERTS[session.connection().dialect.name][kind]


class ListCache:
    """A worker's copy of the lists every decision reads, reloaded when a list's version moves.

    Every batch reads all list versions in one query; the lists themselves are read only after
    a change (the CLI, the API or another worker bumps the version in the same transaction).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[str, int] | None = None  # None: nothing loaded yet
        self._networks = NetworkIndex(())
        self._halts: tuple[SymbolHalt, ...] = ()

    def lists(self, session: Session) -> tuple[NetworkIndex, tuple[SymbolHalt, ...]]:
        """The blocked networks and every halt, expired ones included (filter by time)."""
        connection = session.connection()
        names = (BLOCKED_NETWORKS, HALTED_SYMBOLS)
        found = select_in(connection, ListVersionRow, ("name", "version"), "name", names)
        versions = {str(name): int(version) for name, version in found}
        with self._lock:
            if self._stale(versions, BLOCKED_NETWORKS):
                rows = session.execute(select(BlockedNetworkRow)).scalars()
                self._networks = NetworkIndex(_blocked(row) for row in rows)
            if self._stale(versions, HALTED_SYMBOLS):
                halts = connection.execute(_HALTS)
                self._halts = tuple(
                    SymbolHalt(h.symbol, h.market, h.reason, h.until) for h in halts
                )
            self._versions = versions
            return self._networks, self._halts

    def _stale(self, versions: dict[str, int], name: str) -> bool:
        # A list never changed has no version row; every change writes one (`_bump`).
        return self._versions is None or versions.get(name) != self._versions.get(name)


class SqlBatch:
    """DecisionState for one batch of events inside one transaction; `flush()` writes it."""

    def __init__(
        self,
        session: Session,
        lists: ListCache,
        *,
        customers: Sequence[str],
        earliest: datetime | None,
        login_keys: Collection[str] = (),
        guard: GuardMemory | None = None,
    ) -> None:
        """Load what `customers` need for events from `earliest` on (None: nothing to load),
        and the login-risk counters under `login_keys`."""
        self._session = session
        self._pending: list[tuple[str, Effects]] = []
        self._latest = earliest
        self._login = SqlLoginStore(session)
        wanted = sorted(set(customers))
        if guard is None:  # read nothing: every record it changes counts as not loaded
            guard = default_guard()
            guard.loaded = frozenset()
        networks, halts = lists.lists(session) if earliest is not None else (NetworkIndex(()), ())
        self._memory = MemoryState.load(
            locks=self._load_locks(wanted),
            restrictions=self._load_restrictions(wanted, earliest),
            halts=[h for h in halts if earliest is not None and _in_force(h.until, earliest)],
            networks=networks,
            login=self._login.load(wanted, login_keys) if earliest is not None else None,
            guard=guard,
        )
        self._guard = SqlGuardStore(session)

    @classmethod
    def for_events(
        cls,
        session: Session,
        lists: ListCache,
        events: Sequence[Event],
        policy: Policy | None = None,
    ) -> SqlBatch:
        """`policy`: the live policy, for the guard's knobs (default: built-in)."""
        guard_memory = SqlGuardStore(session).load(policy or builtin_policy(), events)
        return cls(
            session,
            lists,
            customers=[e.customer_id for e in events if e.customer_id is not None],
            earliest=min((e.occurred_at for e in events), default=None),
            login_keys=keys_for(events, default_enricher()),
            guard=guard_memory,
        )

    def signals_for(self, event: Event) -> Signals:
        return self._memory.signals_for(event)

    def record(self, event: Event, verdict: Verdict) -> None:
        self._pending.append((event.event_id, self._memory.apply(event, verdict)))
        if self._latest is None or event.occurred_at > self._latest:
            self._latest = event.occurred_at

    def active_restrictions(self, customer_id: str, at: datetime) -> tuple[Restriction, ...]:
        return self._memory.active_restrictions(customer_id, at)

    def flush(self) -> list[SymbolHalt]:
        """Write what the batch changed, in event order (the events' rows must exist first).
        Returns the buy-halts coordination alerts applied, for the audit log."""
        connection = self._session.connection()
        restrictions: list[dict[str, Any]] = []
        for event_id, effects in self._pending:
            customer = effects.customer_id
            if customer is not None and effects.lock is not None:
                lock = effects.lock
                row = {"customer_id": customer, "since": lock.since, "event_id": event_id}
                row |= {"initiated_by": lock.initiated_by, "reason": lock.reason}
                connection.execute(_upsert(self._session, "lock"), row)
            if customer is not None and effects.unlock:
                connection.execute(_DELETE_LOCK, {"customer": customer})
            restrictions += [_restriction_row(customer, event_id, r) for r in effects.restrictions]
            if effects.reference is not None:
                kind, row = _reference_row(effects.reference)
                connection.execute(_upsert(self._session, kind), row)
        if restrictions:
            connection.execute(_INSERT_RESTRICTION, restrictions)
        if self._latest is not None:
            self._login.save(self._memory.login, self._latest)
            self._guard.save(self._memory.guard, self._latest)
        halts, self._memory.automatic_halts = self._memory.automatic_halts, []
        for halt in halts:
            SqlState(self._session).halt_symbol(halt)
        self._pending.clear()
        return halts

    def _load_locks(self, customers: list[str]) -> dict[str, CustomerLockState]:
        columns = ("customer_id", "since", "initiated_by", "reason")
        rows = select_in(
            self._session.connection(), CustomerLockRow, columns, "customer_id", customers
        )
        return {customer: CustomerLockState(*lock) for customer, *lock in rows}

    def _load_restrictions(
        self, customers: list[str], earliest: datetime | None
    ) -> dict[str, list[Restriction]]:
        found: dict[str, list[Restriction]] = {}
        if earliest is None:
            return found
        rows = select_in(
            self._session.connection(), RestrictionRow, _RESTRICTION_COLUMNS, "customer_id",
            customers, above=("until", earliest),
        )  # fmt: skip
        for customer, capability, until, enforcement, reason, _id in sorted(rows, key=_in_order):
            found.setdefault(customer, []).append(
                Restriction(Capability(capability), until, Outcome(enforcement), ReasonCode(reason))
            )
        return found


class SqlState:
    """Implements Lists (symbol halts, blocked networks) over one SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def halt_symbol(self, halt: SymbolHalt) -> None:
        row: dict[str, Any] = {"market": halt.market, "symbol": halt.symbol}
        row |= {"reason": halt.reason, "until": halt.until}
        self._session.execute(_upsert(self._session, "halt"), row)
        self._bump(HALTED_SYMBOLS)

    def lift_halt(self, symbol: str, market: str) -> SymbolHalt:
        row = self._session.get(HaltedSymbolRow, (market, symbol))
        if row is None:
            raise NotListed("halted symbol", f"{market}:{symbol}")
        halt = SymbolHalt(row.symbol, row.market, row.reason, row.until)
        self._session.delete(row)
        self._session.flush()
        self._bump(HALTED_SYMBOLS)
        return halt

    def halts(self, at: datetime) -> list[SymbolHalt]:
        return _active_halts(self._session, at)

    def block_network(self, blocked: BlockedNetwork) -> None:
        row = {"network": str(blocked.network), "reason": blocked.reason, "until": blocked.until}
        self._session.execute(_upsert(self._session, "block"), row)
        self._bump(BLOCKED_NETWORKS)

    def unblock_network(self, network: IPNetwork) -> BlockedNetwork:
        row = self._session.get(BlockedNetworkRow, str(network))
        if row is None:
            raise NotListed("blocked network", str(network))
        removed = _blocked(row)
        self._session.delete(row)
        self._session.flush()
        self._bump(BLOCKED_NETWORKS)
        return removed

    def blocked_networks(self, at: datetime) -> list[BlockedNetwork]:
        rows = self._session.execute(
            select(BlockedNetworkRow).where(
                BlockedNetworkRow.until.is_(None) | (BlockedNetworkRow.until > at)
            )
        ).scalars()
        return sorted(
            (_blocked(r) for r in rows), key=lambda b: (b.network.version, str(b.network))
        )

    def _bump(self, name: str) -> None:
        self._session.execute(_upsert(self._session, "list_version"), {"name": name, "version": 0})
        # A random token, not a counter: a rolled-back change must never share its version
        # with a later committed one, or a worker's cache would keep the rolled-back list.
        self._session.execute(
            update(ListVersionRow)
            .where(ListVersionRow.name == name)
            .values(version=secrets.randbits(62))
        )


def _active_halts(session: Session, at: datetime) -> list[SymbolHalt]:
    rows = session.connection().execute(_HALTS)
    halts = (SymbolHalt(r.symbol, r.market, r.reason, r.until) for r in rows)
    return [halt for halt in halts if _in_force(halt.until, at)]


def _in_order(row: Row) -> tuple[Any, ...]:
    """A customer's restrictions, the soonest to end first (then as they were written)."""
    return (row[2], row[5])


def _in_force(until: datetime | None, at: datetime) -> bool:
    return until is None or until > at


def _restriction_row(
    customer: str | None, event_id: str, restriction: Restriction
) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "capability": restriction.capability.value,
        "until": restriction.until,
        "enforcement": restriction.enforcement.value,
        "reason": restriction.reason.value,
        "event_id": event_id,
    }


def _reference_row(reference: Instrument | Price) -> tuple[str, dict[str, Any]]:
    row: dict[str, Any] = {"market": reference.market, "symbol": reference.symbol}
    if isinstance(reference, Instrument):
        row |= {column: getattr(reference, column, None) for column in _INSTRUMENT_COLUMNS}
        row["reference_at"] = reference.occurred_at
        return "instrument", row
    # A price for an unknown instrument creates its row; the currency stays the default
    # until reference data arrives (the upsert never overwrites it from a price).
    row |= {column: getattr(reference, column, None) for column in _PRICE_COLUMNS}
    row |= {"price_at": reference.occurred_at, "currency": "JPY"}
    return "price", row


def _blocked(row: BlockedNetworkRow) -> BlockedNetwork:
    return BlockedNetwork(ip_network(row.network), row.reason, row.until)

"""State in the relational database (SQLite or PostgreSQL), inside the caller's transaction."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from ipaddress import ip_network
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kabuguard.risk.codes import Capability, Outcome, ReasonCode
from kabuguard.risk.decisions import Restriction, Verdict
from kabuguard.risk.events import Event, Instrument, Order
from kabuguard.risk.signals import BlockedNetwork, CustomerLockState, IPNetwork, Signals, SymbolHalt
from kabuguard.state.effects import Effects, effects_of, empty_signals, wants_halt_check
from kabuguard.state.interfaces import NotListed
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

# The per-decision reads and writes, built once (statement construction dominates otherwise).
_LOCK = select(CustomerLockRow.since, CustomerLockRow.initiated_by, CustomerLockRow.reason).where(
    CustomerLockRow.customer_id == bindparam("customer_id")
)
_RESTRICTIONS = (
    select(
        RestrictionRow.capability,
        RestrictionRow.until,
        RestrictionRow.enforcement,
        RestrictionRow.reason,
    )
    .where(RestrictionRow.customer_id == bindparam("customer_id"))
    .where(RestrictionRow.until > bindparam("at"))
    .order_by(RestrictionRow.until, RestrictionRow.id)
)
_HALT = select(
    HaltedSymbolRow.symbol, HaltedSymbolRow.market, HaltedSymbolRow.reason, HaltedSymbolRow.until
).where(
    HaltedSymbolRow.market == bindparam("market"), HaltedSymbolRow.symbol == bindparam("symbol")
)
_LIST_VERSION = select(ListVersionRow.version).where(ListVersionRow.name == bindparam("name"))
_INSERT_RESTRICTION = insert(RestrictionRow)


class NetworkCache:
    """A worker's copy of the blocked-network index, reloaded when the list's version moves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._index = NetworkIndex(())

    def index(self, session: Session) -> NetworkIndex:
        version = _list_version(session, BLOCKED_NETWORKS)
        with self._lock:
            if version != self._version:
                rows = session.execute(select(BlockedNetworkRow)).scalars()
                self._index = NetworkIndex(_blocked(row) for row in rows)
                self._version = version
            return self._index


class SqlState:
    """Implements DecisionState and Lists over one SQLAlchemy session."""

    def __init__(self, session: Session, networks: NetworkCache) -> None:
        self._session = session
        self._networks = networks

    def signals_for(self, event: Event) -> Signals:
        signals = empty_signals(event)
        customer = event.customer_id
        blocked = None
        if signals.ip.address is not None:
            blocked = self._networks.index(self._session).match(
                signals.ip.address, event.occurred_at
            )
        halt = None
        if wants_halt_check(event):
            assert isinstance(event, Order)
            halt = self._halt(event.symbol, event.market, event.occurred_at)
        return dataclasses.replace(
            signals,
            lock=self._lock_of(customer) if customer is not None else None,
            restrictions=(
                self.active_restrictions(customer, event.occurred_at)
                if customer is not None
                else ()
            ),
            blocked_network=blocked,
            symbol_halt=halt,
        )

    def record(self, event: Event, verdict: Verdict) -> None:
        effects = effects_of(event, verdict)
        if effects.customer_id is not None:
            self._apply_customer(effects, event.event_id)
        if effects.reference is not None:
            self._upsert_reference(effects.reference)

    def active_restrictions(self, customer_id: str, at: datetime) -> tuple[Restriction, ...]:
        rows = self._session.connection().execute(
            _RESTRICTIONS, {"customer_id": customer_id, "at": at}
        )
        return tuple(
            Restriction(
                capability=Capability(row.capability),
                until=row.until,
                enforcement=Outcome(row.enforcement),
                reason=ReasonCode(row.reason),
            )
            for row in rows
        )

    # Lists

    def halt_symbol(self, halt: SymbolHalt) -> None:
        values = {
            "market": halt.market,
            "symbol": halt.symbol,
            "reason": halt.reason,
            "until": halt.until,
        }
        self._upsert(HaltedSymbolRow, values, ("market", "symbol"))

    def lift_halt(self, symbol: str, market: str) -> SymbolHalt:
        row = self._session.get(HaltedSymbolRow, (market, symbol))
        if row is None:
            raise NotListed("halted symbol", f"{market}:{symbol}")
        halt = SymbolHalt(row.symbol, row.market, row.reason, row.until)
        self._session.delete(row)
        self._session.flush()
        return halt

    def halts(self, at: datetime) -> list[SymbolHalt]:
        rows = self._session.execute(
            select(HaltedSymbolRow)
            .where((HaltedSymbolRow.until.is_(None)) | (HaltedSymbolRow.until > at))
            .order_by(HaltedSymbolRow.market, HaltedSymbolRow.symbol)
        ).scalars()
        return [SymbolHalt(r.symbol, r.market, r.reason, r.until) for r in rows]

    def block_network(self, blocked: BlockedNetwork) -> None:
        values = {"network": str(blocked.network), "reason": blocked.reason, "until": blocked.until}
        self._upsert(BlockedNetworkRow, values, ("network",))
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
                (BlockedNetworkRow.until.is_(None)) | (BlockedNetworkRow.until > at)
            )
        ).scalars()
        return sorted(
            (_blocked(r) for r in rows), key=lambda b: (b.network.version, str(b.network))
        )

    # internals

    def _lock_of(self, customer_id: str) -> CustomerLockState | None:
        row = self._session.connection().execute(_LOCK, {"customer_id": customer_id}).first()
        return None if row is None else CustomerLockState(row.since, row.initiated_by, row.reason)

    def _halt(self, symbol: str, market: str, at: datetime) -> SymbolHalt | None:
        params = {"market": market, "symbol": symbol}
        row = self._session.connection().execute(_HALT, params).first()
        if row is None or (row.until is not None and row.until <= at):
            return None
        return SymbolHalt(row.symbol, row.market, row.reason, row.until)

    def _apply_customer(self, effects: Effects, event_id: str) -> None:
        customer = effects.customer_id
        assert customer is not None
        if effects.lock is not None:
            values = {
                "customer_id": customer,
                "since": effects.lock.since,
                "initiated_by": effects.lock.initiated_by,
                "reason": effects.lock.reason,
                "event_id": event_id,
            }
            self._upsert(CustomerLockRow, values, ("customer_id",))
        if effects.unlock:
            self._session.execute(
                delete(CustomerLockRow).where(CustomerLockRow.customer_id == customer)
            )
        if effects.restrictions:
            self._session.connection().execute(
                _INSERT_RESTRICTION,
                [
                    {
                        "customer_id": customer,
                        "capability": r.capability.value,
                        "until": r.until,
                        "enforcement": r.enforcement.value,
                        "reason": r.reason.value,
                        "event_id": event_id,
                    }
                    for r in effects.restrictions
                ],
            )

    def _upsert_reference(self, reference: Any) -> None:
        values: dict[str, Any] = {"market": reference.market, "symbol": reference.symbol}
        if isinstance(reference, Instrument):
            values |= {
                "name": reference.name,
                "currency": reference.currency,
                "lot_size": reference.lot_size,
                "listed_shares": reference.listed_shares,
                "average_daily_volume": reference.average_daily_volume,
                "limit_up": reference.limit_up,
                "limit_down": reference.limit_down,
                "reference_at": reference.occurred_at,
            }
        else:
            values |= {
                "currency": "JPY",
                "last": reference.last,
                "previous_close": reference.previous_close,
                "limit_up": reference.limit_up,
                "limit_down": reference.limit_down,
                "price_at": reference.occurred_at,
            }
        # A price update must not reset the instrument's currency to the placeholder.
        self._upsert(
            InstrumentRow,
            values,
            ("market", "symbol"),
            keep=("currency",) if "last" in values else (),
        )

    def _upsert(
        self, model: Any, values: dict[str, Any], keys: tuple[str, ...], keep: tuple[str, ...] = ()
    ) -> None:
        dialect = self._session.get_bind().dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(model).values(
            **values
        )
        changes = {k: v for k, v in values.items() if k not in keys and k not in keep}
        self._session.execute(
            statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
        )

    def _bump(self, name: str) -> None:
        dialect = self._session.get_bind().dialect.name
        create = (pg_insert if dialect == "postgresql" else sqlite_insert)(ListVersionRow)
        self._session.execute(
            create.values(name=name, version=0).on_conflict_do_nothing(index_elements=["name"])
        )
        self._session.execute(
            update(ListVersionRow)
            .where(ListVersionRow.name == name)
            .values(version=ListVersionRow.version + 1)
        )


def _list_version(session: Session, name: str) -> int:
    version = session.connection().execute(_LIST_VERSION, {"name": name}).scalar_one_or_none()
    return int(version) if version is not None else 0


def _blocked(row: BlockedNetworkRow) -> BlockedNetwork:
    return BlockedNetwork(ip_network(row.network), row.reason, row.until)

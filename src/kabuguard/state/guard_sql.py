"""The guard's state in SQL: a few reads per group of events, executemany writes at the end.

Reads, per group: the customers' records (one `IN` query on `guard_customers`), their names
and product restrictions (one each), and every keyed entry the group can touch (one `IN`
query on `guard_keys`: the symbols' reference facts and buyer windows, the IPs, devices and
networks of the events, the bank accounts of payout changes). When a coordination case opens,
one more query reads what its risky buyers' IPs and devices touched. Writes replace whole
rows, like the login store: the decision service runs one writer at a time; a row is only
written where it was read. Every keyed row carries `expires`; each flush
deletes the expired ones, so the table holds only live windows (see docs/order-guard.md).
These reads and writes run on the driver itself (`kabuguard.hotsql`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from kabuguard.db import Base
from kabuguard.enrich.enricher import default_enricher
from kabuguard.hotsql import Row, delete_below, insert_many, select_in, upsert_many
from kabuguard.risk.events import Event, Instrument, Order, PayoutChange, Price, Side
from kabuguard.risk.policy import Policy
from kabuguard.state.coordination import DAYS, PIVOT_SECONDS, WINDOW_SECONDS
from kabuguard.state.guard import CustomerRecord, GuardChanges, GuardMemory, pivot_keys
from kabuguard.state.guard_codec import (
    dump_record,
    dump_reference,
    dump_window,
    load_record,
    load_reference,
    load_window,
)
from kabuguard.state.guard_models import (
    CaseAccountRow,
    CaseRow,
    GuardCustomerRow,
    GuardKeyRow,
    HoldRow,
    ProductRestrictionRow,
    RegisteredNameRow,
)
from kabuguard.state.money import account_key
from kabuguard.state.trading import symbol_key

FOREVER = 2**62  # reference facts and bank accounts do not expire


def keys_for(events: Sequence[Event]) -> set[str]:
    """Every keyed entry a group of events may read (the pivot's second hop is added later)."""
    enricher = default_enricher()
    keys: set[str] = set()
    for event in events:
        if isinstance(event, Order | Instrument | Price):
            key = symbol_key(event.market, event.symbol)
            keys.add(f"ref:{key}")
            if isinstance(event, Order) and event.side is Side.BUY:  # only a buy reads its window
                keys.add(f"sym:{key}")
        if isinstance(event, PayoutChange):
            keys.add(account_key(event))
        if event.customer_id is None:
            continue
        # The IP and device keys as `_touch` writes them; without login facts, `pivot_keys`
        # leaves no shared address out, so this is every key any login facts could give.
        keys.update(pivot_keys(event, None))
        if event.ip:
            network = enricher.network(event.ip)
            if network.anonymising and network.prefix:
                keys.add(f"net:{network.prefix}")
    return keys


class SqlGuardStore:
    """Loads a `GuardMemory` for a group of events and writes back what it changed."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def load(self, policy: Policy, events: Sequence[Event]) -> GuardMemory:
        memory = GuardMemory(policy)
        connection = self._session.connection()
        customers = sorted({e.customer_id for e in events if e.customer_id is not None})
        memory.loaded = frozenset(customers)
        for customer, detail in _of(connection, GuardCustomerRow, "detail", customers):
            memory.customers[customer] = load_record(detail)
        # Read by the events that use them only: most groups hold neither kind.
        payees = _customers_of(events, PayoutChange)
        for customer, name in _of(connection, RegisteredNameRow, "name_kana", payees):
            memory.register_name(customer, name)
        traders = _customers_of(events, Order)
        for customer, market in _of(connection, ProductRestrictionRow, "market", traders):
            found = memory.restricted.get(customer, frozenset())
            memory.restrict_markets(customer, found | {market})
        self._load_keys(memory, keys_for(events))
        # The pivot's second hop (what the risky buyers' IPs and devices touched) is read
        # only when a case opens: a rare event, and the keys are hundreds on a busy symbol.
        memory.load_pivots = partial(self._load_keys, memory)
        memory.changes = GuardChanges()
        return memory

    def _load_keys(self, memory: GuardMemory, keys: set[str]) -> None:
        connection = self._session.connection()
        found = select_in(connection, GuardKeyRow, ("key", "detail"), "key", sorted(keys))
        for key, detail in found:
            _put(memory, key, detail)

    def save(self, memory: GuardMemory, now: datetime) -> None:
        connection = self._session.connection()
        changes = memory.changes
        self._merge_outsiders(memory)
        rows = [
            {"customer_id": c, "detail": dump_record(memory.customers[c])}
            for c in sorted(changes.customers)
            if c in memory.customers
        ]
        upsert_many(connection, GuardCustomerRow, ("customer_id",), ("detail",), rows)
        upsert_many(connection, GuardKeyRow, ("key",), ("detail", "expires"), _keyed_rows(memory))
        self._save_cases(memory)
        holds = [_hold_row(h) for h in changes.holds]
        if holds:
            connection.execute(insert(HoldRow), holds)
        delete_below(connection, GuardKeyRow, "expires", int(now.timestamp()))
        memory.changes = GuardChanges()

    def _merge_outsiders(self, memory: GuardMemory) -> None:
        """A coordination case marks accounts outside the group as pivoted: their records were
        not loaded, so memory holds only the mark. It is carried onto the stored record, which
        would otherwise be replaced by an empty one (payout accounts, risky logins, profile)."""
        if memory.loaded is None:  # memory holds every record there is
            return
        outsiders = sorted(c for c in memory.changes.customers if c not in memory.loaded)
        connection = self._session.connection()
        for customer, detail in _of(connection, GuardCustomerRow, "detail", outsiders):
            marked = memory.customers[customer].pivoted_until
            if memory.customers[customer] != CustomerRecord(pivoted_until=marked):
                raise RuntimeError(f"{customer}: only a pivot mark may change an unloaded record")
            stored = load_record(detail)
            if marked is not None:
                stored.pivoted_until = max(marked, stored.pivoted_until or marked)
            memory.customers[customer] = stored
        memory.loaded |= frozenset(outsiders)

    def _save_cases(self, memory: GuardMemory) -> None:
        connection = self._session.connection()
        cases = {case.case_id: case for case in memory.changes.cases}
        if not cases:
            return
        rows = [
            {"case_id": c.case_id, "market": c.market, "symbol": c.symbol,
             "opened_at": c.opened_at, "event_id": c.event_id,
             "halt": "applied" if c.halt.value == "apply" else "proposed",
             "status": "open", "note": None}
            for c in cases.values()
        ]  # fmt: skip
        insert_many(connection, CaseRow, rows, skip_existing=("case_id",))
        accounts = [
            {"case_id": c.case_id, "customer_id": customer, "role": role.value}
            for c in cases.values()
            for customer, role in sorted(c.accounts.items())
        ]
        upsert_many(connection, CaseAccountRow, ("case_id", "customer_id"), ("role",), accounts)


def _customers_of(events: Sequence[Event], kind: type[Event]) -> list[str]:
    return sorted({e.customer_id for e in events if isinstance(e, kind) and e.customer_id})


def _of(
    connection: Connection, model: type[Base], column: str, customers: list[str]
) -> Iterator[Row]:
    """(customer_id, column) of the customers that have a row in `model`."""
    return select_in(connection, model, ("customer_id", column), "customer_id", customers)


def _put(memory: GuardMemory, key: str, detail: str) -> None:
    kind, _, rest = key.partition(":")
    if kind == "ref":
        memory.reference[rest] = load_reference(detail)
    elif kind == "sym":
        memory.symbols[rest] = load_window(detail)
    elif kind == "acct":
        memory.accounts[key] = set(orjson.loads(detail))
    else:
        memory.pivots.touched[key] = {c: int(t) for c, t in orjson.loads(detail).items()}


def _keyed_rows(memory: GuardMemory) -> list[dict[str, Any]]:
    changes = memory.changes
    rows: list[dict[str, Any]] = []
    for key in sorted(changes.references):
        rows.append(_row(f"ref:{key}", dump_reference(memory.reference[key]), FOREVER))
    for key in sorted(changes.symbols):
        window = memory.symbols[key]
        newest = max((at for at, _, _ in window.buyers.values()), default=0)
        days = max(window.days, default=0)
        expires = max(newest + WINDOW_SECONDS, (days + DAYS + 1) * 86_400)
        rows.append(_row(f"sym:{key}", dump_window(window), expires))
    for key in sorted(changes.accounts):
        rows.append(_row(key, orjson.dumps(sorted(memory.accounts[key])).decode(), FOREVER))
    for key in sorted(changes.pivot_keys):
        entries = memory.pivots.touched.get(key, {})
        if entries:
            expires = max(entries.values()) + PIVOT_SECONDS
            rows.append(_row(key, orjson.dumps(entries).decode(), expires))
    return rows


def _row(key: str, detail: str, expires: int) -> dict[str, Any]:
    return {"key": key, "detail": detail, "expires": expires}


def _hold_row(hold: Any) -> dict[str, Any]:
    return {
        "event_id": hold.event_id,
        "customer_id": hold.customer_id,
        "action": hold.action.value,
        "subject": hold.subject,
        "reasons": orjson.dumps(list(hold.reasons)).decode(),
        "held_at": hold.held_at,
        "release_at": hold.release_at,
        "status": "pending",
        "decided_by": None,
        "decided_at": None,
        "note": None,
    }

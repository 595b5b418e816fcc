"""List changes under concurrency (both backends): a change takes the audit head lock first,
so changes to one entry run one after the other, and a change never waits for the head while
holding list rows that a decision holding the head waits to write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from sqlalchemy import func, select

from kabuguard.audit import services as audit
from kabuguard.audit.models import AuditEntry
from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.lists.services import ListService
from kabuguard.risk.signals import BlockedNetwork, SymbolHalt
from kabuguard.state.interfaces import NotListed
from kabuguard.state.sql import SqlState
from tests.concurrency import Alongside

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
HALT = SymbolHalt("7203", "TSE", "pump", None)
BLOCK = BlockedNetwork(ip_network("192.0.2.0/24"), "relay", None)


def _audited(database: Database, kind: str) -> int:
    with database.read() as session:
        count: int = session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.kind == kind)
        ).scalar_one()
        assert verify_chain(session).intact
    return count


@pytest.mark.parametrize(
    ("add", "remove", "kind"),
    [
        (
            lambda lists: lists.halt(HALT),
            lambda lists: lists.lift("7203", "TSE"),
            "list:halted_symbol:removed",
        ),
        (
            lambda lists: lists.block(BLOCK),
            lambda lists: lists.unblock(BLOCK.network),
            "list:blocked_network:removed",
        ),
    ],
    ids=["halt", "block"],
)
def test_an_entry_removed_alongside_is_removed_and_audited_once(
    database: Database,
    add: Callable[[ListService], object],
    remove: Callable[[ListService], object],
    kind: str,
) -> None:
    with database.write() as session:
        add(ListService(session, actor="staff", at=NOW))
    with database.write() as session:
        remove(ListService(session, actor="staff:a", at=NOW))
        alongside = Alongside(database, lambda s: remove(ListService(s, actor="staff:b", at=NOW)))
    # Was a second success on PostgreSQL: both found the row, and both audited its removal.
    assert isinstance(alongside.outcome(), NotListed)
    assert _audited(database, kind) == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda lists: lists.halt(HALT),
        lambda lists: lists.block(BLOCK),
    ],
    ids=["halt", "block"],
)
def test_a_change_alongside_a_decision_holding_the_head_waits_for_it(
    database: Database, change: Callable[[ListService], object]
) -> None:
    # The decision writer takes the head lock, then may halt a symbol on its own (a
    # coordination alert), which writes the halts' version row. A halt that wrote that row
    # first and then waited for the head deadlocked with it on PostgreSQL: one of the two
    # failed (a 503 or a lost decision). A block writes another version row; it is here to
    # hold every change to the same order.
    with database.write() as session:
        audit.lock_head(session)
        alongside = Alongside(database, lambda s: change(ListService(s, actor="staff:b", at=NOW)))
        SqlState(session).halt_symbol(SymbolHalt("9999", "TSE", "coordination alert", None))
    assert alongside.outcome() is None
    with database.read() as session:
        state = SqlState(session)
        assert {h.symbol for h in state.halts(NOW)} >= {"9999"}
        assert len(state.halts(NOW)) + len(state.blocked_networks(NOW)) == 2

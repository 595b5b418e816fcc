"""List changes under concurrency (both backends): a change takes the audit head lock first,
so changes to one entry run one after the other, and a change never waits for the head while
holding list rows that a decision holding the head waits to write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from sqlalchemy import func, select, text

from kabuguard.audit import services as audit
from kabuguard.audit.models import AuditEntry
from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.lists.services import ListService
from kabuguard.risk.signals import BlockedNetwork, SymbolHalt
from kabuguard.state.interfaces import NotListed
from kabuguard.state.sql import SqlState

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
HALT = SymbolHalt("7203", "TSE", "pump", None)
BLOCK = BlockedNetwork(ip_network("192.0.2.0/24"), "relay", None)


class Alongside:
    """`work` in a write transaction of its own on a thread, started while the caller's
    transaction is open and left waiting on it; `outcome()` is its result or error."""

    def __init__(self, database: Database, work: Callable[[ListService], object]) -> None:
        self._outcomes: list[object] = []

        def run() -> None:
            try:
                with database.write() as session:
                    done = work(ListService(session, actor="staff:b", at=NOW))
            except Exception as error:  # at commit too
                self._outcomes.append(error)
            else:
                self._outcomes.append(done)

        self._thread = threading.Thread(target=run)
        self._thread.start()
        _until_waiting_for_a_lock(database, self._thread)

    def outcome(self) -> object:
        self._thread.join(timeout=30)
        [outcome] = self._outcomes
        return outcome


def _until_waiting_for_a_lock(database: Database, thread: threading.Thread) -> None:
    """Until `thread`'s transaction waits for a lock held here. SQLite's writers queue before
    their first statement, where nothing shows it: a moment's head start must do there."""
    if database.is_sqlite:
        thread.join(timeout=0.2)
        return
    deadline = time.monotonic() + 10
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with database.engine.connect() as connection:
            if connection.execute(waiting).scalar():
                return
        time.sleep(0.01)
    raise AssertionError("the change alongside never waited for this one")


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
        alongside = Alongside(database, remove)
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
        alongside = Alongside(database, change)
        SqlState(session).halt_symbol(SymbolHalt("9999", "TSE", "coordination alert", None))
    assert alongside.outcome() is None
    with database.read() as session:
        state = SqlState(session)
        assert {h.symbol for h in state.halts(NOW)} >= {"9999"}
        assert len(state.halts(NOW)) + len(state.blocked_networks(NOW)) == 2

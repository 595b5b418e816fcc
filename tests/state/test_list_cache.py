"""The worker's list cache: lists are re-read exactly when another transaction changed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_address, ip_network
from typing import Any

from sqlalchemy import event as sa_event

from kabuguard.db import Database
from kabuguard.risk.signals import BlockedNetwork, SymbolHalt
from kabuguard.state.sql import ListCache, SqlState

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _lists(database: Database, cache: ListCache) -> tuple[bool, set[str]]:
    """Whether 203.0.113.7 is blocked, and the halted symbols the cache holds."""
    with database.read() as session:
        networks, halts = cache.lists(session)
    blocked = networks.match(ip_address("203.0.113.7"), NOW) is not None
    return blocked, {f"{h.market}:{h.symbol}" for h in halts}


def test_a_new_halt_or_block_is_seen_by_the_next_batch(database: Database) -> None:
    cache = ListCache()
    assert _lists(database, cache) == (False, set())
    with database.write() as session:
        SqlState(session).halt_symbol(SymbolHalt("9999", "TSE", "pump", None))
        SqlState(session).block_network(BlockedNetwork(ip_network("203.0.113.0/24"), "bot", None))
    assert _lists(database, cache) == (True, {"TSE:9999"})


def test_a_lifted_halt_disappears_from_the_cache(database: Database) -> None:
    cache = ListCache()
    with database.write() as session:
        SqlState(session).halt_symbol(SymbolHalt("9999", "TSE", "pump", None))
    assert _lists(database, cache)[1] == {"TSE:9999"}
    with database.write() as session:
        SqlState(session).lift_halt("9999", "TSE")
    assert _lists(database, cache)[1] == set()


def test_a_rolled_back_change_never_reaches_the_cache(database: Database) -> None:
    cache = ListCache()
    _lists(database, cache)
    try:
        with database.write() as session:
            SqlState(session).halt_symbol(SymbolHalt("9999", "TSE", "pump", None))
            raise RuntimeError("abandon the transaction")
    except RuntimeError:
        pass
    assert _lists(database, cache)[1] == set()


def test_expired_halts_are_cached_but_not_in_force(database: Database) -> None:
    with database.write() as session:
        SqlState(session).halt_symbol(SymbolHalt("1111", "TSE", "old", NOW - timedelta(hours=1)))
        SqlState(session).halt_symbol(SymbolHalt("2222", "TSE", "new", NOW + timedelta(hours=1)))
    with database.read() as session:
        in_force = {h.symbol for h in SqlState(session).halts(NOW)}
    assert in_force == {"2222"}
    assert _lists(database, ListCache())[1] == {"TSE:1111", "TSE:2222"}


def test_unchanged_lists_cost_one_version_read_per_batch(database: Database) -> None:
    cache = ListCache()
    _lists(database, cache)  # the first batch loads both lists, never changed (no version row)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    with database.write() as session:
        sa_event.listen(session.connection(), "before_cursor_execute", record)
        for _batch in range(2):
            networks, halts = cache.lists(session)
            assert networks.match(ip_address("203.0.113.7"), NOW) is None
            assert halts == ()
        sa_event.remove(session.connection(), "before_cursor_execute", record)
    assert [s.split("FROM")[1].split()[0] for s in statements] == ["list_versions"] * 2

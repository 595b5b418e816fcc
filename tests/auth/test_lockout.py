"""Exact counting under concurrency at the service level, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from kabuguard.auth.accounts import Accounts, NewAccount
from kabuguard.auth.lockout import (
    Lockout,
    LockoutPolicy,
    Path,
    Slot,
    SourceLimits,
    SourceThrottle,
    source_keys,
)
from kabuguard.auth.models import AccountRow
from kabuguard.db import Database
from kabuguard.notifications.wiring import cipher_from
from tests.auth.conftest import PASSWORD, auth_settings

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _lockout(database: Database, max_failures: int) -> Lockout:
    policy = LockoutPolicy(max_failures, timedelta(minutes=1), timedelta(minutes=30))
    return Lockout(database, {Path.PASSWORD: policy, Path.FACTOR: policy})


def _account(database: Database, database_url: str) -> str:
    accounts = Accounts(database, cipher_from(auth_settings(database_url)))
    return accounts.create(
        NewAccount("hanako", PASSWORD, "Hanako"), actor="test", now=NOW
    ).customer_id


def test_parallel_attempts_get_distinct_slots_and_at_most_n_are_verified(
    database: Database, database_url: str
) -> None:
    customer = _account(database, database_url)
    lockout = _lockout(database, 5)
    start = threading.Barrier(25)

    def attempt(_: int) -> Slot | None:
        start.wait()
        return lockout.take_slot(customer, Path.PASSWORD, NOW)

    with ThreadPoolExecutor(max_workers=25) as pool:
        slots = list(pool.map(attempt, range(25)))
    taken = [s for s in slots if s is not None]
    assert sum(1 for s in taken if s.allowed) == 5  # never more verifications than allowed
    assert sorted(s.number for s in taken) == list(range(1, len(taken) + 1))  # no lost update
    with database.read() as session:
        row = session.get(AccountRow, customer)
    assert row is not None
    assert row.password_lockouts == 1
    assert row.password_locked_until == NOW + timedelta(minutes=1)


def test_the_pause_grows_and_success_resets_it(database: Database, database_url: str) -> None:
    customer = _account(database, database_url)
    lockout = _lockout(database, 2)
    now = NOW
    for level in (1, 2, 3):
        for _ in range(2):
            slot = lockout.take_slot(customer, Path.PASSWORD, now)
            assert slot is not None
            assert slot.allowed
            paused = lockout.failed(customer, Path.PASSWORD, slot, now)
        assert paused == now + timedelta(minutes=2 ** (level - 1))
        assert lockout.take_slot(customer, Path.PASSWORD, now) is None
        assert lockout.take_slot(customer, Path.FACTOR, now) is not None  # a separate counter
        now = paused
    lockout.succeeded(customer, Path.PASSWORD)
    with database.read() as session:
        row = session.get(AccountRow, customer)
    assert row is not None
    assert (row.password_failures, row.password_lockouts) == (0, 0)


def test_source_limits_count_per_ip_and_per_network(database: Database) -> None:
    throttle = SourceThrottle(database, SourceLimits(2, 3, timedelta(minutes=15)))
    assert source_keys("203.0.113.77") == {"ip": "ip:203.0.113.77", "network": "net:203.0.113.0/24"}
    assert source_keys("2001:db8::1")["network"] == "net:2001:db8::/64"
    assert source_keys("garbage") == {"ip": "ip:unknown"}
    for ip in ("203.0.113.1", "203.0.113.1"):
        throttle.count_failure(ip, NOW)
    assert throttle.exceeded("203.0.113.1", NOW) == "ip"
    assert throttle.exceeded("203.0.113.2", NOW) is None
    throttle.count_failure("203.0.113.3", NOW)
    assert throttle.exceeded("203.0.113.2", NOW) == "network"
    assert throttle.exceeded("203.0.113.1", NOW + timedelta(minutes=15)) is None  # window over

"""SQLite discipline: pragmas, and a writer lock that cannot stall decisions forever."""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from kabuguard import migrations
from kabuguard.audit import services as audit
from kabuguard.db import Database, DatabaseBusy, storage_unavailable


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    migrations.upgrade(url)
    return url


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.read() as session:
        pragmas = [
            session.execute(text(f"PRAGMA {name}")).scalar_one()
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        ]
    database.dispose()
    # synchronous 1 = NORMAL: COMMIT itself does not fsync; Database.sync() does (FULL).
    assert pragmas == ["wal", 1, 1, 5000]


def test_full_durability_syncs_the_log_after_each_write(sqlite_url: str, tmp_path: Path) -> None:
    database = Database(sqlite_url)
    assert database.syncs_after_commit
    with database.write() as session:
        session.execute(text("UPDATE audit_head SET seq = seq"))
    assert (tmp_path / "k.db-wal").exists()
    database.sync()  # a real fsync of the log; nothing to assert but that it works
    database.dispose()
    assert not (tmp_path / "k.db-wal").exists()  # checkpointed and removed at close
    database.sync()  # and a missing log is nothing to sync


def test_normal_durability_and_postgresql_do_not_sync_after_commit(sqlite_url: str) -> None:
    assert not Database(sqlite_url, sqlite_synchronous="NORMAL").syncs_after_commit
    assert not Database("postgresql://nobody@127.0.0.1:1/none").syncs_after_commit


def test_a_writer_held_elsewhere_times_out_instead_of_stalling(
    sqlite_url: str, tmp_path: Path
) -> None:
    database = Database(sqlite_url, busy_timeout_ms=100)
    with (tmp_path / "k.db.writelock").open("a+b") as other_process_lock:
        fcntl.flock(other_process_lock, fcntl.LOCK_EX)
        with pytest.raises(DatabaseBusy, match="busy timeout"), database.write():
            pass
        with (tmp_path / "k.db.writelock.turn").open("rb") as turn:  # given back on timeout
            fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(turn, fcntl.LOCK_UN)
        fcntl.flock(other_process_lock, fcntl.LOCK_UN)
    with database.write() as session:  # free again once released
        session.execute(text("SELECT 1"))
    database.dispose()


def test_a_busy_writer_lets_another_process_write_in_turn(sqlite_url: str) -> None:
    """A writer that locks again the moment it lets go (the writer process under load) must
    not starve another process's writes: each gets in before its busy timeout."""
    busy, other = Database(sqlite_url), Database(sqlite_url, busy_timeout_ms=2_000)
    stop = threading.Event()
    turns = 0

    def decide_without_pause() -> None:
        nonlocal turns
        while not stop.is_set():
            with busy.write(sync=False) as session:
                session.execute(text("UPDATE audit_head SET seq = seq"))
                time.sleep(0.005)  # a group's work, holding the lock
            turns += 1

    hog = threading.Thread(target=decide_without_pause)
    hog.start()
    try:
        deadline = time.monotonic() + 10
        while turns < 3 and time.monotonic() < deadline:
            time.sleep(0.001)
        before = turns
        for _ in range(10):
            with other.write() as session:  # DatabaseBusy here would be starvation
                session.execute(text("SELECT 1"))
    finally:
        stop.set()
        hog.join()
        busy.dispose()
        other.dispose()
    assert turns > before  # the busy writer went on meanwhile


def test_a_head_lock_held_elsewhere_ends_in_storage_unavailable_on_either_backend(
    database_url: str,
) -> None:
    """A stuck peer's transaction (a suspended CLI import, a partitioned server) costs a
    request its busy timeout and a 503, never a wait without end."""
    holder = Database(database_url)
    waiter = Database(database_url, busy_timeout_ms=200)
    try:
        with holder.write() as held:
            audit.lock_head(held)  # and keeps it: the peer is stuck mid-transaction
            with pytest.raises(SQLAlchemyError) as refused, waiter.write() as session:
                audit.lock_head(session)
            assert storage_unavailable(refused.value)
    finally:
        waiter.dispose()
        holder.dispose()


def test_postgresql_sessions_carry_deadlines(postgres_url: str) -> None:
    database = Database(postgres_url, busy_timeout_ms=1_500)
    try:
        with database.read() as session:
            lock = session.execute(text("SHOW lock_timeout")).scalar()
            idle = session.execute(text("SHOW idle_in_transaction_session_timeout")).scalar()
    finally:
        database.dispose()
    assert (lock, idle) == ("1500ms", "1min")


def test_a_missing_table_is_a_defect_not_an_outage(sqlite_url: str) -> None:
    """A defect stays a 500 (logged, alerted on); a 503 would have clients retry for ever."""
    database = Database(sqlite_url)
    try:
        with pytest.raises(SQLAlchemyError) as failed, database.read() as session:
            session.execute(text("SELECT * FROM no_such_table"))
    finally:
        database.dispose()
    assert not storage_unavailable(failed.value)


def test_a_postgresql_server_that_does_not_answer_is_an_outage() -> None:
    database = Database("postgresql://postgres@127.0.0.1:1/test")  # nothing listens on port 1
    try:
        with pytest.raises(SQLAlchemyError) as failed, database.read() as session:
            session.execute(text("SELECT 1"))
    finally:
        database.dispose()
    assert storage_unavailable(failed.value)

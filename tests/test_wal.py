"""SQLite's log under FULL durability: kabuguard checkpoints it, inline or on its own thread."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy import text

from kabuguard import migrations
from kabuguard.db import Database, DatabaseBusy
from kabuguard.wal import CHECKPOINT_BYTES, WriteAheadLog


@pytest.fixture
def database(tmp_path: Path) -> Database:
    migrations.upgrade(f"sqlite:///{tmp_path / 'k.db'}")
    return Database(f"sqlite:///{tmp_path / 'k.db'}")


def _log_size(tmp_path: Path) -> int:
    path = tmp_path / "k.db-wal"
    return path.stat().st_size if path.exists() else 0


def _write(database: Database, megabytes: int, *, sync: bool = True) -> None:
    """Fill the log with about `megabytes` of new pages, one megabyte per transaction."""
    for _ in range(megabytes):
        with database.write(sync=sync) as session:
            session.execute(text("CREATE TABLE IF NOT EXISTS filler (blob BLOB)"))
            session.execute(text("INSERT INTO filler VALUES (randomblob(1048576))"))


def test_sqlite_does_not_checkpoint_inside_commits(database: Database, tmp_path: Path) -> None:
    _write(database, 8, sync=False)  # commits without kabuguard's sync: nothing checkpoints
    assert _log_size(tmp_path) > 2 * CHECKPOINT_BYTES
    database.dispose()


def test_a_sync_past_the_threshold_checkpoints_and_the_log_restarts_small(
    database: Database, tmp_path: Path
) -> None:
    _write(database, 8)  # each write syncs; past 4 MiB the sync checkpoints inline
    _write(database, 1)  # a checkpointed log restarts from the top, truncated to the limit
    assert _log_size(tmp_path) <= 2 * CHECKPOINT_BYTES
    database.dispose()


def test_the_background_checkpointer_keeps_the_log_bounded(
    database: Database, tmp_path: Path
) -> None:
    database.start_background_checkpoints()
    try:
        _write(database, 8)
        deadline = time.monotonic() + 30
        while _log_size(tmp_path) > 2 * CHECKPOINT_BYTES and time.monotonic() < deadline:
            _write(database, 1)
    finally:
        database.stop_background_checkpoints()
    assert _log_size(tmp_path) <= 2 * CHECKPOINT_BYTES
    database.dispose()


class _CountingLock:
    def __init__(self) -> None:
        self.entered = 0

    def __enter__(self) -> None:
        self.entered += 1

    def __exit__(self, *_exc: object) -> None:
        return None


def test_a_checkpoint_lets_the_next_transaction_restart_the_log(
    database: Database, tmp_path: Path
) -> None:
    _write(database, 3, sync=False)
    lock = _CountingLock()
    log = WriteAheadLog(str(tmp_path / "k.db"), lock, busy_timeout_ms=5_000)
    assert log.checkpoint() is True
    assert lock.entered == 1  # the last frames are copied between two transactions
    with database.read() as session:
        busy, frames, copied = session.execute(text("PRAGMA wal_checkpoint(PASSIVE)")).one()
    assert busy == 0
    assert frames == copied > 0  # everything is back in the database
    before = _log_size(tmp_path)
    _write(database, 1, sync=False)
    assert _log_size(tmp_path) <= before  # so the next writer started the log over
    database.dispose()


def test_a_reader_holding_the_copy_back_is_not_waited_for_under_the_writer_lock(
    database: Database, tmp_path: Path
) -> None:
    _write(database, 2, sync=False)
    reader = sqlite3.connect(tmp_path / "k.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM filler").fetchone()  # holds its snapshot
    _write(database, 2, sync=False)  # two more MiB the checkpoint may not copy yet
    lock = _CountingLock()
    log = WriteAheadLog(str(tmp_path / "k.db"), lock, busy_timeout_ms=5_000)
    assert log.checkpoint() is False
    assert lock.entered == 0
    reader.rollback()
    reader.close()
    assert log.checkpoint() is True  # the reader gone, the rest is copied
    assert lock.entered == 1
    database.dispose()


class _BusyLock:
    def __enter__(self) -> None:
        raise DatabaseBusy("another process held the writer lock")

    def __exit__(self, *_exc: object) -> None:
        return None


def test_an_inline_checkpoint_that_fails_does_not_fail_the_committed_write(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(database, 5, sync=False)
    log = WriteAheadLog(str(tmp_path / "k.db"), _BusyLock(), busy_timeout_ms=100)
    log.sync()  # past 4 MiB: checkpoints inline, and cannot take the writer lock
    assert "checkpointing the SQLite log failed" in caplog.text
    database.dispose()


def test_syncing_a_database_without_a_log_is_harmless(tmp_path: Path) -> None:
    log = WriteAheadLog(str(tmp_path / "none.db"), nullcontext(), busy_timeout_ms=100)
    log.sync()
    assert not os.path.exists(tmp_path / "none.db-wal")


def test_a_writer_that_never_pauses_still_lets_the_log_restart(
    database: Database, tmp_path: Path
) -> None:
    """Checkpoints copying beside the writer alone never let the log restart under
    back-to-back commits (it grew past 60 MiB here); the last frames copied between two
    transactions, under the writer lock, let it restart each time."""
    database.start_background_checkpoints()
    largest = 0
    try:
        with database.write() as session:
            session.execute(text("CREATE TABLE filler (blob BLOB)"))
        for _ in range(1_200):  # about 60 MiB of log in small commits, as a busy server makes
            with database.write() as session:
                session.execute(text("INSERT INTO filler VALUES (randomblob(50000))"))
            largest = max(largest, _log_size(tmp_path))
    finally:
        database.stop_background_checkpoints()
    assert largest <= 4 * CHECKPOINT_BYTES  # 4.5 MiB measured; room for a slow, busy machine
    database.dispose()

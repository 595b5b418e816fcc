"""SQLite's write-ahead log under FULL durability: kabuguard syncs and checkpoints it itself.

SQLite runs with synchronous=NORMAL and automatic checkpoints off, so neither an fsync nor a
checkpoint happens inside a COMMIT, on the writer's critical path:

- `sync()` fsyncs the log; nothing is answered before it (`Database.write`, the committer's
  sync thread). fsync on Linux flushes the file whatever descriptor asks.
- Checkpoints (copying the log back into the database) run on a thread of their own once the
  log grows past `CHECKPOINT_BYTES`. The bulk is copied beside the writer (PASSIVE). A log
  restarts only once every frame is copied, and a busy writer appends more during the copy,
  so the few frames it appended are then copied under the writer lock: a millisecond or two,
  after which the next transaction starts the log over, truncated back to that size
  (journal_size_limit), so its file size tells when it has grown again. Without that last
  step the log never restarted under steady load: it grew to `RESTART_BYTES` every second or
  two, every sync asked for another checkpoint, and restarting 64 MiB under the lock stalled
  decisions for 25-35 ms (measured at 500 decisions/s, 2026-12-07).
- Should readers keep the log from restarting until it outgrows `RESTART_BYTES`, the last
  step is a RESTART checkpoint, which waits for them (up to the busy timeout).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from contextlib import AbstractContextManager
from typing import Any

log = logging.getLogger(__name__)

CHECKPOINT_BYTES = 4 * 1024 * 1024  # about SQLite's own default of 1,000 pages
RESTART_BYTES = 64 * 1024 * 1024


class WriteAheadLog:
    def __init__(
        self, database_file: str, writer_lock: AbstractContextManager[Any], busy_timeout_ms: int
    ) -> None:
        self._database_file = database_file
        self._path = f"{database_file}-wal"
        self._directory = os.path.dirname(os.path.abspath(database_file))
        self._directory_synced = False
        self._writer_lock = writer_lock
        self._busy_timeout_ms = busy_timeout_ms
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def sync(self) -> None:
        """fsync the log: every transaction committed so far is then durable."""
        # Opened afresh each time: SQLite deletes and recreates the file (after the last
        # connection closes, say), and an old descriptor would sync a file nobody reads. A
        # missing file means everything is in the database, which checkpoints sync.
        try:
            descriptor = os.open(self._path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            os.fsync(descriptor)
            size = os.fstat(descriptor).st_size
        finally:
            os.close(descriptor)
        if not self._directory_synced:  # the log's own directory entry, once per process
            _fsync_path(self._directory)
            self._directory_synced = True
        if size > CHECKPOINT_BYTES:
            self._checkpoint_soon(size)

    def start_checkpointer(self) -> None:
        """Checkpoint on a background thread from now on (inline, in `sync()`, until then)."""
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="kabuguard-checkpointer", daemon=True
        )
        self._thread.start()

    def stop_checkpointer(self) -> None:
        if self._thread is not None:
            self._stopping = True
            self._wanted.set()
            self._thread.join()
            self._thread = None

    def checkpoint(self, size: int, connection: sqlite3.Connection | None = None) -> None:
        """Copy the log into the database, so that the next transaction starts it over."""
        own = connection is None
        connection = connection or self._connect()
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            last = "RESTART" if size >= RESTART_BYTES else "PASSIVE"
            with self._writer_lock:  # what was appended meanwhile; no writer appends more
                connection.execute(f"PRAGMA wal_checkpoint({last})").fetchone()
        finally:
            if own:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._database_file, timeout=self._busy_timeout_ms / 1000)

    def _checkpoint_soon(self, size: int) -> None:
        if self._thread is not None:
            self._wanted.set()
        else:
            self._checkpoint_logged(size)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None  # the thread's own, kept between runs
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                connection = connection or self._connect()
                if not self._checkpoint_logged(_size(self._path), connection):
                    connection.close()
                    connection = None  # start afresh after a failure
        finally:
            if connection is not None:
                connection.close()

    def _checkpoint_logged(self, size: int, connection: sqlite3.Connection | None = None) -> bool:
        try:
            self.checkpoint(size, connection)
        except Exception:  # the thread must survive: the next sync asks again, decisions go on
            log.warning("checkpointing the SQLite log failed", exc_info=True)
            return False
        return True


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _fsync_path(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""SQLite's write-ahead log under FULL durability: kabuguard syncs and checkpoints it itself.

SQLite runs with synchronous=NORMAL and automatic checkpoints off, so neither an fsync nor a
checkpoint happens inside a COMMIT, on the writer's critical path:

- `sync()` fsyncs the log; nothing is answered before it (`Database.write`, the committer's
  sync thread). fsync on Linux flushes the file whatever descriptor asks.
- Checkpoints (copying the log back into the database, 8 to 27 ms each on this VM, measured) run
  on a thread of their own once the log grows past `CHECKPOINT_BYTES`, PASSIVE so they never
  wait for the writer. The log is truncated back to that size whenever it restarts
  (journal_size_limit), so its file size tells when it has grown again. Should the log
  outgrow `RESTART_BYTES` anyway (a writer that never pauses starves passive checkpoints),
  one checkpoint restarts it under the writer lock.
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

    def checkpoint(self, size: int) -> None:
        """Copy the log into the database; restart the log when it has grown too long."""
        restart = size >= RESTART_BYTES
        connection = sqlite3.connect(self._database_file, timeout=self._busy_timeout_ms / 1000)
        try:
            if restart:
                with self._writer_lock:  # no writer may append while the log restarts
                    connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            else:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()

    def _checkpoint_soon(self, size: int) -> None:
        if self._thread is not None:
            self._wanted.set()
        else:
            self._checkpoint_logged(size)

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._stopping:
                return
            self._checkpoint_logged(_size(self._path))

    def _checkpoint_logged(self, size: int) -> None:
        try:
            self.checkpoint(size)
        except Exception:  # the thread must survive: the next sync asks again, decisions go on
            log.warning("checkpointing the SQLite log failed", exc_info=True)


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

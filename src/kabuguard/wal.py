"""SQLite's write-ahead log under FULL durability: kabuguard syncs and checkpoints it itself.

SQLite runs with synchronous=NORMAL and automatic checkpoints off, so neither an fsync nor a
checkpoint happens inside a COMMIT, on the writer's critical path:

- `sync()` fsyncs the log; nothing is answered before it (`Database.write`, the committer's
  sync thread). fsync on Linux flushes the file whatever descriptor asks.
- Checkpoints (copying the log back into the database) run on a thread of their own once the
  log grows past `CHECKPOINT_BYTES`. A log restarts (from the top, truncated back to that
  size by journal_size_limit, so its file size tells when it has grown again) only when a
  transaction begins on a fully copied log, and the writer begins its next transaction as
  soon as it commits: copied beside it alone, the log never restarted under steady load (it
  grew to 64 MiB every second or two, every sync asked for another checkpoint, and the
  RESTART then done under the writer lock stalled decisions for 25-35 ms; measured at 500
  decisions/s, 2026-12-07). So the bulk is copied beside the writer (PASSIVE, in a few
  passes, each copying what the writer appended during the last), and the last frames
  between two of its transactions, under the writer lock: about a millisecond, two fsyncs
  included (p99 3 ms measured on this VM).
- A reader on an old snapshot holds the copy back (a pass makes no progress). The log then
  grows until the reader is done, as in any SQLite database: waiting for the reader under
  the writer lock would stall decisions instead.
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
TAIL_FRAMES = 256  # 1 MiB of 4 KiB pages: what the passes beside the writer aim to leave
LOCKED_FRAMES = 1024  # at most 4 MiB copied under the writer lock (a slow disk's passes)
PASSES = 4  # passes beside the writer after the first


class LogNotDurable(OSError):
    """An fsync of the log failed, so commits may be lost with the page cache: Linux reports
    a failed writeback once, to whichever process syncs next, and may mark the pages clean, so
    a later fsync succeeds without writing them. The failure therefore sticks, for every
    process on the database, in a marker file beside it, until an operator who has checked the
    disk removes it (PostgreSQL panics for the same reason)."""


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
        self.marker = f"{database_file}.fsync-failed"  # see LogNotDurable
        self._failed: str | None = None  # this process's own record, should the marker fail

    @property
    def failure(self) -> str | None:
        """Why commits can no longer be made durable, until the marker is removed."""
        if self._failed is None and os.path.exists(self.marker):
            self._failed = _read_marker(self.marker)
        if self._failed is None:
            return None
        return (
            f"an fsync of the database log failed ({self._failed}); check the disk, back up, "
            f"run `kabuguard audit verify`, then remove {self.marker} and restart"
        )

    def sync(self) -> None:
        """fsync the log: every transaction committed so far is then durable."""
        failure = self.failure
        if failure is not None:
            raise LogNotDurable(failure)
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
        except OSError as error:
            self._fail(error)
            raise LogNotDurable(f"fsync of {self._path} failed: {error}") from error
        finally:
            os.close(descriptor)
        if not self._directory_synced:  # the log's own directory entry, once per process
            _fsync_path(self._directory)
            self._directory_synced = True
        if size > CHECKPOINT_BYTES:
            self._checkpoint_soon()

    def _fail(self, error: OSError) -> None:
        self._failed = f"{type(error).__name__}: {error}"
        try:
            with open(self.marker, "x", encoding="utf-8") as marker:
                marker.write(self._failed + "\n")
        except FileExistsError:
            pass
        except OSError:  # the disk may refuse this too: this process still remembers
            log.critical("could not write %s", self.marker, exc_info=True)

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

    def checkpoint(self, connection: sqlite3.Connection | None = None) -> bool:
        """Copy the log into the database so that the next transaction starts it over;
        False when the rest is left to the next sync (a reader or another process's
        checkpoint holds the copy back, or more is left than may be copied under the lock)."""
        own = connection is None
        connection = connection or self._connect()
        try:
            if not _copy_beside_the_writer(connection):
                return False
            with self._writer_lock:  # between two transactions: copy what was appended
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return True
        finally:
            if own:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._database_file, timeout=self._busy_timeout_ms / 1000)

    def _checkpoint_soon(self) -> None:
        if self._thread is not None:
            self._wanted.set()
            return
        try:
            self.checkpoint()
        except Exception:  # housekeeping after a commit: it must not fail the caller's write
            log.warning("checkpointing the SQLite log failed", exc_info=True)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None  # the thread's own, kept between runs
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                try:
                    connection = connection or self._connect()
                    self.checkpoint(connection)
                except Exception:  # the thread must survive: the next sync asks again
                    log.warning("checkpointing the SQLite log failed", exc_info=True)
                    if connection is not None:
                        connection.close()
                    connection = None  # start afresh
        finally:
            if connection is not None:
                connection.close()


def _copy_beside_the_writer(connection: sqlite3.Connection) -> bool:
    """PASSIVE checkpoints until at most `TAIL_FRAMES` are left: each pass copies what the
    writer appended during the last, so a few suffice. Returns whether the rest may be copied
    under the writer lock: not when it would not help or would hold the writer too long (a
    pass copied nothing new: a reader holds the rest back; or more than `LOCKED_FRAMES`)."""
    frames, copied = _passive(connection)
    for _ in range(PASSES):
        if copied < 0 or frames - copied <= TAIL_FRAMES:
            break
        before = copied
        frames, copied = _passive(connection)
        if copied == before:
            return False
    return copied >= 0 and frames - copied <= LOCKED_FRAMES  # -1: another checkpoint runs


def _passive(connection: sqlite3.Connection) -> tuple[int, int]:
    """The log's frames, and how many of them are in the database."""
    _, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames), int(copied)


def _fsync_path(path: str) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_marker(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as marker:
            return marker.read().strip() or "reason not recorded"
    except OSError as error:
        return f"marker unreadable: {error}"

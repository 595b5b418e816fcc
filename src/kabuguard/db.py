"""Engine and session factory, naming convention, SQLite pragmas, transaction discipline.

One write transaction per request or job (`Database.write()`): the caller never commits
itself. On SQLite every write transaction starts with BEGIN IMMEDIATE, so the audit chain's
head is read under the write lock. Threads of this process queue on a lock that wakes them at
once — SQLite's own busy handler sleeps and polls (1, 2, 5, 10 … ms) and would dominate
latency — and a file lock beside the database keeps other processes (the CLI) out meanwhile.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from kabuguard import observability
from kabuguard.config import Settings
from kabuguard.wal import CHECKPOINT_BYTES, LogNotDurable, WriteAheadLog

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back aware datetimes (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; attach a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _postgres_deadlines(busy_timeout_ms: int) -> dict[str, Any]:
    """Bounds on every wait, so a stuck peer gives 503s rather than requests that hang: a
    server that cannot be reached, a lock held past the busy timeout (another process's
    transaction stuck mid-way), a transaction left idle, and a peer whose host vanished (TCP
    keepalives notice in about a minute, not the kernel's two hours)."""
    return {
        "connect_timeout": 10,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "options": (
            f"-c lock_timeout={int(busy_timeout_ms)} -c idle_in_transaction_session_timeout=60000"
        ),
    }


def normalise_url(url: str) -> str:
    """Pick the maintained drivers: psycopg 3 for PostgreSQL, the stdlib for SQLite."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Database:
    """An engine plus the sessions and the write discipline that go with its backend."""

    def __init__(
        self, url: str, *, busy_timeout_ms: int = 5_000, sqlite_synchronous: str = "FULL"
    ) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        database_file = sqlite_file(self.url) if self.is_sqlite else None
        if database_file is not None:
            Path(database_file).parent.mkdir(parents=True, exist_ok=True)
        # FULL: an answer is given only once its transaction is on disk. SQLite itself runs
        # NORMAL (no fsync inside COMMIT) and kabuguard fsyncs the WAL after the commit: at
        # once in `write()`, or, for the group committer, on a sync thread while the next
        # group is decided, so the disk's latency no longer stalls the one writer.
        if self.is_sqlite:
            self.engine = create_engine(
                self.url, connect_args={"check_same_thread": False}, hide_parameters=True
            )
            _install_sqlite_discipline(
                self.engine,
                busy_timeout_ms,
                sqlite_synchronous,
                own_checkpoints=database_file is not None,
            )
        else:
            self.engine = create_engine(
                self.url,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                hide_parameters=True,
                connect_args=_postgres_deadlines(busy_timeout_ms),
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reader = (
            self.engine.execution_options(sqlite_begin="DEFERRED")
            if self.is_sqlite
            else self.engine
        )
        self._read_sessions = sessionmaker(reader, expire_on_commit=False)
        # SQLite's deferred read is one snapshot already; PostgreSQL's default is not.
        self._snapshot_sessions = (
            self._read_sessions
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(isolation_level="REPEATABLE READ"),
                expire_on_commit=False,
            )
        )
        self._write_lock: AbstractContextManager[Any] = (
            _SqliteWriterLock(database_file, busy_timeout_ms / 1000)
            if self.is_sqlite
            else nullcontext()
        )
        self._wal = (
            WriteAheadLog(database_file, self._write_lock, busy_timeout_ms)
            if database_file is not None and sqlite_synchronous == "FULL"
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database as configured: every entry point opens it the same way."""
        return cls(
            settings.database_url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            sqlite_synchronous=settings.sqlite_synchronous,
        )

    @contextmanager
    def write(self, *, sync: bool = True) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception.

        With `sync=False` the caller must call `sync()` before telling anyone it committed.
        """
        with self._write_lock, self._sessions() as session, session.begin():
            yield session
        if sync:
            self.sync()

    @property
    def syncs_after_commit(self) -> bool:
        """Whether commits become durable only at `sync()` (SQLite files with FULL)."""
        return self._wal is not None

    def sync(self) -> None:
        """Make every transaction committed so far durable (a no-op where COMMIT already is)."""
        if self._wal is not None:
            try:
                self._wal.sync()
            except LogNotDurable:
                observability.LOG_SYNC_FAILED.set(1)
                raise

    @property
    def durability_problem(self) -> str | None:
        """Why commits can no longer be made durable (a failed fsync), until an operator
        removes the marker (`wal.LogNotDurable`)."""
        return self._wal.failure if self._wal is not None else None

    def start_background_checkpoints(self) -> None:
        """Long-running writers (the server) checkpoint SQLite's log on a thread of their own."""
        if self._wal is not None:
            self._wal.start_checkpointer()

    def stop_background_checkpoints(self) -> None:
        if self._wal is not None:
            self._wal.stop_checkpointer()

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Session]:
        """A read-only unit of work (a deferred transaction on SQLite); with `snapshot`, every
        statement in it sees the same committed state on PostgreSQL too."""
        sessions = self._snapshot_sessions if snapshot else self._read_sessions
        with sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


class DatabaseBusy(SQLAlchemyError):
    """Another process held the SQLite write lock past the busy timeout."""


# SQLite result codes (primary) and PostgreSQL SQLSTATEs that say the database, not the
# request, failed: busy or locked, I/O, full, unopenable; connection, rollback (deadlock,
# serialization), resources, lock not available, shutdown.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14})
_SQLSTATE_UNAVAILABLE = ("08", "40", "53", "55P03", "57P")


def storage_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot serve now (503, retry with the same event
    id), as opposed to a defect (500): a missing table or a bad statement stays a 500, so it
    is logged and alerted on rather than retried for ever. A group failing so is answered at
    once, not retried item by item, each waiting out the same timeout again."""
    if isinstance(error, DatabaseBusy | PoolTimeout | InterfaceError | LogNotDurable):
        return True
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _SQLITE_UNAVAILABLE
    sqlstate = getattr(error.orig, "sqlstate", None)  # None: no server answered (refused, down)
    return sqlstate is None or str(sqlstate).startswith(_SQLSTATE_UNAVAILABLE)


_FIRST_POLL_SECONDS = 0.0001
_LONGEST_POLL_SECONDS = 0.0005  # the lock's holder lets go within one transaction


class _SqliteWriterLock:
    """One writer at a time across threads and processes, in turn, with a deadline.

    Threads of this process queue on a threading lock (woken at once); the file lock is then
    only contended by other processes (the writer process and the server, the CLI). A second
    file lock, the turn, makes that fair: a process waiting for the lock holds the turn, and
    the holder must take the turn before it can lock again, so it lets the waiter in first.
    Between two processes they alternate; with more, every waiter polls as often as the
    holder, so none is shut out. Without it, a writer process deciding group after group left
    the server's own writes (notices, a customer locking their account, staff actions) only
    the gaps between its transactions. Both files are polled, first every 0.1 ms, backing
    off to 0.5 ms, and the whole wait ends at the busy timeout, so that a stuck process
    cannot stall every decision.
    """

    def __init__(self, database_file: str | None, timeout_seconds: float) -> None:
        self._threads = threading.Lock()
        self._path = f"{database_file}.writelock" if database_file is not None else None
        self._files: tuple[BinaryIO, BinaryIO] | None = None  # the lock's, the turn's
        self._timeout = timeout_seconds

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._timeout
        if not self._threads.acquire(timeout=self._timeout):
            raise DatabaseBusy("another writer held the database past the busy timeout")
        try:
            if self._path is not None:
                self._lock_files(self._path, deadline)
        except BaseException:
            if self._files is not None:  # whatever failed, the lock is not left held
                with suppress(OSError):
                    fcntl.flock(self._files[0], fcntl.LOCK_UN)
            self._threads.release()
            raise

    def _lock_files(self, path: str, deadline: float) -> None:
        if self._files is None:
            self._files = (_lock_file(path), _lock_file(f"{path}.turn"))
        lock, turn = self._files
        _flock_polled(turn, f"{path}.turn", deadline)
        try:
            _flock_polled(lock, path, deadline)
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._files is not None:
                fcntl.flock(self._files[0], fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _lock_file(path: str) -> BinaryIO:
    """Opened for reading, which is all flock needs: whoever created the file (the service's
    user, or an operator's CLI run as root), every user that can read it can lock it."""
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666), "rb")


def _flock_polled(file: BinaryIO, path: str, deadline: float) -> None:
    pause = _FIRST_POLL_SECONDS
    while True:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise DatabaseBusy(f"another process held {path} past the busy timeout") from None
            time.sleep(pause)
            pause = min(2 * pause, _LONGEST_POLL_SECONDS)


def sqlite_file(url: str) -> str | None:
    """The database file a SQLite URL names, or None for an in-memory or URI database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def in_chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices of at most `size` items: bounds the parameters of one IN (...) query."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _install_sqlite_discipline(
    engine: Engine, busy_timeout_ms: int, synchronous: str, *, own_checkpoints: bool
) -> None:
    if synchronous not in ("FULL", "NORMAL"):
        raise ValueError(f"sqlite synchronous must be FULL or NORMAL, not {synchronous!r}")
    # With FULL, kabuguard syncs and checkpoints the log itself, off the writer's path.
    own_log = own_checkpoints and synchronous == "FULL"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # 64 MiB of page cache per connection (default 2 MiB): the event, decision and audit
        # B-trees take inserts all over, and with a small cache every commit grows slower as
        # the database grows (measured: 1,788 -> 1,108 decisions/s over 45k events).
        cursor.execute("PRAGMA cache_size=-65536")
        # NORMAL in WAL mode never corrupts the database but may lose the last commits on a
        # power cut; with FULL (the default) `Database.sync()` fsyncs the log before anyone is
        # told a transaction committed, so the pragma stays NORMAL in both cases.
        cursor.execute("PRAGMA synchronous=NORMAL")
        if own_log:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute(f"PRAGMA journal_size_limit={CHECKPOINT_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

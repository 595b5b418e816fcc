"""Two transactions at once, in a set order: the second started while the first holds a lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from kabuguard.db import Database


class Alongside:
    """`work` in a write transaction of its own on a thread, started while the caller's
    transaction is open and left waiting on it; `outcome()` is its result or error."""

    def __init__(self, database: Database, work: Callable[[Session], object]) -> None:
        self._outcomes: list[object] = []

        def run() -> None:
            try:
                with database.write() as session:
                    done = work(session)
            except Exception as error:  # at commit too
                self._outcomes.append(error)
            else:
                self._outcomes.append(done)

        self._thread = threading.Thread(target=run)
        self._thread.start()
        until_waiting_for_a_lock(database, self._thread)

    def outcome(self) -> object:
        self._thread.join(timeout=30)
        [outcome] = self._outcomes
        return outcome


def until_waiting_for_a_lock(database: Database, thread: threading.Thread) -> None:
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
    raise AssertionError("the transaction alongside never waited for this one")

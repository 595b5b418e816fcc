"""One table from exceptions to answers: storage outages are 503 with Retry-After, defects 500."""

from __future__ import annotations

import orjson
from sqlalchemy.exc import OperationalError

from kabuguard.db import DatabaseBusy
from kabuguard.decisions.interfaces import AnsweredByWriter, StorageFailed
from kabuguard.errors import error_body, error_reply
from kabuguard.wal import LogNotDurable


def test_every_503_carries_retry_after_whoever_answered_it() -> None:
    from_writer = AnsweredByWriter(503, error_body("storage_unavailable", "retry"))
    for error in (StorageFailed(), DatabaseBusy("busy"), LogNotDurable("fsync"), from_writer):
        reply = error_reply(error)
        assert reply is not None
        assert (reply.status, reply.headers.get("retry-after")) == (503, "1")
        assert orjson.loads(reply.body)["error"]["code"] == "storage_unavailable"


def test_a_database_error_that_is_a_defect_is_left_to_the_500_handler() -> None:
    class NoSuchTable(Exception):
        sqlite_errorcode = 1  # SQLITE_ERROR: a bad statement, not an outage

    assert error_reply(OperationalError("SELECT", {}, NoSuchTable())) is None
    answered = error_reply(AnsweredByWriter(409, error_body("idempotency_conflict", "x")))
    assert answered is not None
    assert "retry-after" not in answered.headers

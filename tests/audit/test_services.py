"""The audit chain in the database (SQLite and PostgreSQL): append, verify, and raw tampering."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, text

from kabuguard.audit.chain import GENESIS_HASH, AuditKind, Break, canonical_text, entry_hash
from kabuguard.audit.models import AuditEntry, AuditHead
from kabuguard.audit.services import append, last_entry_of_kind, verify_chain
from kabuguard.db import Database, UTCDateTime

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def _append(database: Database, count: int, *, start: int = 0) -> list[str]:
    hashes: list[str] = []
    with database.write() as session:
        for n in range(start, start + count):
            hashes.append(
                append(
                    session,
                    kind=AuditKind.DECISION_RECORDED,
                    actor="apikey:broker-a",
                    subject=f"evt-{n}",
                    payload={"event_id": f"evt-{n}", "outcome": "allow", "n": n},
                    at=T0 + timedelta(seconds=n, microseconds=123),
                )
            )
    return hashes


def _first_break(database: Database) -> Break:
    with database.read() as session:
        report = verify_chain(session)
    assert not report.intact
    assert report.first_break is not None
    return report.first_break


def _tamper(database: Database, sql: str, **params: Any) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(sql), params)


def _row(database: Database, seq: int) -> dict[str, Any]:
    with database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT payload, prev_hash, hash FROM audit_log WHERE seq = :seq"), {"seq": seq}
        ).one()
    return dict(row._mapping)


@pytest.fixture
def five(database: Database) -> list[str]:
    """Five appended entries, verified intact."""
    hashes = _append(database, 5)
    with database.read() as session:
        report = verify_chain(session)
    assert report.intact
    assert report.entries == 5
    assert report.last_hash == hashes[-1]
    return hashes


def test_empty_chain_is_intact(database: Database) -> None:
    with database.read() as session:
        report = verify_chain(session)
    assert report.intact
    assert report.entries == 0
    assert report.last_hash == GENESIS_HASH


def test_append_links_entries_and_moves_the_head(database: Database, five: list[str]) -> None:
    with database.read() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        head = session.execute(select(AuditHead.seq, AuditHead.hash)).one()
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert [row.hash for row in rows] == five
    assert [row.prev_hash for row in rows] == [GENESIS_HASH, *five[:-1]]
    assert (head.seq, head.hash) == (5, five[-1])
    assert rows[0].payload == canonical_text({"event_id": "evt-0", "outcome": "allow", "n": 0})
    assert rows[0].recorded_at == T0 + timedelta(microseconds=123)


def test_appends_across_transactions_continue_the_chain(
    database: Database, five: list[str]
) -> None:
    more = _append(database, 3, start=5)
    with database.read() as session:
        report = verify_chain(session, batch=2)
    assert report.intact
    assert report.entries == 8
    assert report.last_hash == more[-1]


def _append_then_fail(database: Database) -> None:
    with database.write() as session:
        append(
            session,
            kind=AuditKind.POLICY_ACTIVATED,
            actor="test",
            subject="policy",
            payload={"version": "x"},
            at=T0,
        )
        raise RuntimeError("abort")


def test_rolled_back_append_leaves_no_trace(database: Database, five: list[str]) -> None:
    with pytest.raises(RuntimeError, match="abort"):
        _append_then_fail(database)
    with database.read() as session:
        report = verify_chain(session)
        assert last_entry_of_kind(session, AuditKind.POLICY_ACTIVATED) is None
    assert report.intact
    assert report.entries == 5


def test_last_entry_of_kind(database: Database, five: list[str]) -> None:
    with database.write() as session:
        for version in ("v1", "v2"):
            append(
                session,
                kind=AuditKind.POLICY_ACTIVATED,
                actor="test",
                subject="policy",
                payload={"version": version},
                at=T0,
            )
    with database.read() as session:
        assert last_entry_of_kind(session, AuditKind.POLICY_ACTIVATED) == '{"version":"v2"}'
        assert last_entry_of_kind(session, AuditKind.APIKEY_REVOKED) is None


def test_update_of_a_payload_is_detected(database: Database, five: list[str]) -> None:
    _tamper(database, """UPDATE audit_log SET payload = '{"outcome":"deny"}' WHERE seq = 3""")
    found = _first_break(database)
    assert found.seq == 3
    assert "modified" in found.problem


def test_delete_in_the_middle_is_detected(database: Database, five: list[str]) -> None:
    _tamper(database, "DELETE FROM audit_log WHERE seq = 2")
    found = _first_break(database)
    assert found.seq == 3
    assert "expected entry 2" in found.problem


def _forge_entry_6(database: Database, prev_hash: str) -> None:
    at = T0 + timedelta(minutes=10)
    fields: dict[str, Any] = {
        "seq": 6,
        "recorded_at": at,
        "kind": AuditKind.DECISION_RECORDED.value,
        "actor": "apikey:broker-a",
        "subject": "evt-forged",
        "payload": canonical_text({"event_id": "evt-forged", "outcome": "allow"}),
        "prev_hash": prev_hash,
    }
    statement = text(
        "INSERT INTO audit_log (seq, recorded_at, kind, actor, subject, payload, prev_hash, hash) "
        "VALUES (:seq, :recorded_at, :kind, :actor, :subject, :payload, :prev_hash, :hash)"
    ).bindparams(bindparam("recorded_at", type_=UTCDateTime()))
    with database.engine.begin() as connection:
        connection.execute(statement, fields | {"hash": entry_hash(**fields)})


def test_forged_entry_with_a_bad_link_is_detected(database: Database, five: list[str]) -> None:
    _forge_entry_6(database, prev_hash="f" * 64)
    found = _first_break(database)
    assert found.seq == 6
    assert "previous-hash" in found.problem


def test_well_formed_forged_entry_beyond_the_head_is_detected(
    database: Database, five: list[str]
) -> None:
    _forge_entry_6(database, prev_hash=five[-1])
    with database.read() as session:
        report = verify_chain(session)
    assert not report.intact
    assert report.first_break is not None
    assert "head records entry 5" in report.first_break.problem


def test_well_formed_forged_entry_beyond_the_head_is_named(
    database: Database, five: list[str]
) -> None:
    _forge_entry_6(database, prev_hash=five[-1])
    assert _first_break(database).seq == 6


def test_swapped_payloads_and_hashes_are_detected(database: Database, five: list[str]) -> None:
    two, three = _row(database, 2), _row(database, 3)
    swap = "UPDATE audit_log SET payload = :payload, prev_hash = :prev_hash, hash = :hash "
    _tamper(database, swap + "WHERE seq = 2", **three)
    _tamper(database, swap + "WHERE seq = 3", **two)
    found = _first_break(database)
    assert found.seq == 2


def test_swapped_payloads_alone_are_detected(database: Database, five: list[str]) -> None:
    two, three = _row(database, 2), _row(database, 3)
    swap = "UPDATE audit_log SET payload = :payload WHERE seq = :seq"
    _tamper(database, swap, payload=three["payload"], seq=2)
    _tamper(database, swap, payload=two["payload"], seq=3)
    found = _first_break(database)
    assert found.seq == 2
    assert "modified" in found.problem


def test_delete_of_the_last_entry_is_detected(database: Database, five: list[str]) -> None:
    _tamper(database, "DELETE FROM audit_log WHERE seq = 5")
    with database.read() as session:
        report = verify_chain(session)
    assert report.first_break is not None
    assert report.first_break.seq == 5
    assert "head records entry 5" in report.first_break.problem
    assert report.entries == 4


def test_delete_of_the_tail_together_with_the_head_is_not_detectable(
    database: Database, five: list[str]
) -> None:
    """Documents the limit: whoever also rewrites the head cuts the tail unseen (anchor it)."""
    _tamper(database, "DELETE FROM audit_log WHERE seq = 5")
    _tamper(database, "UPDATE audit_head SET seq = 4, hash = :hash", hash=five[3])
    with database.read() as session:
        report = verify_chain(session)
    assert report.intact
    assert report.entries == 4


def test_concurrent_appends_leave_one_intact_chain(database: Database) -> None:
    threads, per_thread = 20, 10
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(per_thread):
                with database.write() as session:
                    append(
                        session,
                        kind=AuditKind.DECISION_RECORDED,
                        actor=f"worker-{index}",
                        subject=f"evt-{index}-{n}",
                        payload={"worker": index, "n": n},
                        at=T0 + timedelta(seconds=n),
                    )
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in pool)
    assert errors == []

    with database.read() as session:
        report = verify_chain(session)
        seqs = session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq)).scalars().all()
        subjects = set(session.execute(select(AuditEntry.subject)).scalars())
        head = session.execute(select(AuditHead.seq)).scalar_one()
    assert report.intact
    assert report.entries == threads * per_thread
    assert list(seqs) == list(range(1, threads * per_thread + 1))
    assert head == threads * per_thread
    assert subjects == {f"evt-{i}-{n}" for i in range(threads) for n in range(per_thread)}


def test_append_with_a_non_utc_time_verifies(database: Database) -> None:
    jst = timezone(timedelta(hours=9))
    with database.write() as session:
        append(
            session,
            kind=AuditKind.POLICY_ACTIVATED,
            actor="test",
            subject="policy",
            payload={"version": "v1"},
            at=T0.astimezone(jst),
        )
    with database.read() as session:
        assert verify_chain(session).intact


def test_verify_reads_one_snapshot_while_groups_commit(database: Database, five: list[str]) -> None:
    """A group committed between reading the head and reading the entries is not tampering."""
    appended: list[str] = []

    def append_meanwhile(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "FROM audit_log" in statement and not appended:
            appended.extend(_append(database, 1, start=5))  # another connection commits

    with database.read(snapshot=True) as session:
        event.listen(database.engine, "before_cursor_execute", append_meanwhile)
        try:
            report = verify_chain(session)
        finally:
            event.remove(database.engine, "before_cursor_execute", append_meanwhile)
    assert appended, "the interleaved append did not run"
    assert report.intact, report.first_break
    assert report.entries == 5
    with database.read() as session:
        assert verify_chain(session).entries == 6

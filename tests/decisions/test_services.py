"""Group commit in the decision service: one transaction per batch, one result per item."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from kabuguard import migrations, observability
from kabuguard.audit.services import verify_chain
from kabuguard.db import Database
from kabuguard.decisions import records, services
from kabuguard.decisions.interfaces import (
    DecisionFailed,
    EventFromFuture,
    IdempotencyConflict,
    StorageFailed,
)
from kabuguard.decisions.models import DecisionRow
from kabuguard.decisions.services import DecisionService, Policies, Submitted
from kabuguard.risk.decisions import Decision
from kabuguard.risk.engine import decide as real_decide
from kabuguard.risk.events import EVENT_ADAPTER, Event
from kabuguard.risk.policy import Policy
from tests import factories as f
from tests.conftest import FrozenClock


@pytest.fixture
def service(database: Database) -> DecisionService:
    clock = FrozenClock(f.BASE_TIME + timedelta(days=30))
    return DecisionService(
        database, Policies(Policy.default()), clock=clock, max_future_skew=timedelta(minutes=5)
    )


@pytest.fixture
def poisoned(database: Database) -> Iterator[str]:
    """A real storage failure: the database refuses to store one particular event id."""
    poison = "poison-1"
    with database.engine.begin() as connection:
        if database.is_sqlite:
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON events "
                f"WHEN NEW.event_id = '{poison}' BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.event_id = '{poison}' THEN RAISE EXCEPTION 'poisoned'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_poison BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
            )
    yield poison
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "DROP TRIGGER refuse_poison" + ("" if database.is_sqlite else " ON events")
        )
        if not database.is_sqlite:
            connection.exec_driver_sql("DROP FUNCTION refuse_poison()")


def test_a_batch_decides_in_order_with_one_result_each(service: DecisionService) -> None:
    lock, login, again = f.lock("c-1", minutes=0), f.login("c-1", minutes=1), f.login("c-2")
    items = [f.typed(e) for e in (lock, login, again, again, again | {"ip": "192.0.2.1"})]
    items.append(f.typed(f.login(occurred_at=(f.BASE_TIME + timedelta(days=31)).isoformat())))
    results = service.decide_many([(event, "test") for event in items])
    assert isinstance(results[0], Submitted)
    assert isinstance(results[1], Submitted)
    assert results[1].decision["outcome"] == "deny"  # the lock earlier in the batch applies
    assert isinstance(results[2], Submitted)
    assert not results[2].replayed
    assert isinstance(results[3], Submitted)
    assert results[3].replayed
    assert results[3].decision == results[2].decision
    assert isinstance(results[4], IdempotencyConflict)
    assert isinstance(results[5], EventFromFuture)
    replay = service.decide_many([(items[1], "test")])[0]
    assert isinstance(replay, Submitted)
    assert replay.replayed
    assert replay.decision == results[1].decision


def test_money_is_compared_by_value_and_stored_in_its_shortest_form(
    service: DecisionService, database: Database
) -> None:
    order = f.order("c-1", limit_price="2500.0") | {"event_id": "o-money"}
    first, same, other = (
        service.decide_many([(f.typed(order | change), "t")])[0]
        for change in ({}, {"limit_price": "2.5E+3"}, {"limit_price": "2500.01"})
    )
    assert isinstance(first, Submitted)
    assert isinstance(same, Submitted)
    assert same.replayed
    assert isinstance(other, IdempotencyConflict)
    with database.read() as session:
        payload = session.execute(text("SELECT payload FROM events")).scalar_one()
    assert '"limit_price":"2500"' in payload


def test_an_event_stored_with_money_as_sent_is_still_compared_by_value(
    service: DecisionService, database: Database
) -> None:
    """Before 2026-12-07 an event was stored, and digested, with money as sent (`2500.0`)."""
    event = f.order("c-1", limit_price="2500") | {"event_id": "o-old"}
    assert isinstance(service.decide_many([(f.typed(event), "t")])[0], Submitted)
    as_sent = event | {"limit_price": "2500.0"}
    old_digest = records.event_digest(
        EVENT_ADAPTER.dump_python(f.typed(as_sent), mode="json", exclude_none=True)
    )
    with database.write() as session:
        payload = session.execute(text("SELECT payload FROM events")).scalar_one()
        session.execute(
            text("UPDATE events SET digest = :d, payload = :p"),
            {"d": old_digest, "p": payload.replace('"2500"', '"2500.0"')},
        )
    for retry in (as_sent, event, event | {"limit_price": "2.5E+3"}):
        result = service.decide_many([(f.typed(retry), "t")])[0]
        assert isinstance(result, Submitted)
        assert result.replayed
    changed = f.typed(event | {"limit_price": "2600"})
    assert isinstance(service.decide_many([(changed, "t")])[0], IdempotencyConflict)


def test_a_storage_failure_costs_only_its_own_item(
    service: DecisionService, database: Database, poisoned: str
) -> None:
    good = [f.typed(f.login(f"c-{n}", minutes=n)) for n in range(3)]
    bad = f.typed(f.login("c-9", event_id=poisoned))
    results = service.decide_many([(good[0], "t"), (bad, "t"), (good[1], "t"), (good[2], "t")])
    assert [type(r) for r in results] == [Submitted, StorageFailed, Submitted, Submitted]
    assert "retry with the same event_id" in str(results[1])
    with database.read() as session:
        stored = session.execute(select(func.count()).select_from(DecisionRow)).scalar_one()
        report = verify_chain(session)
        assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == 3
    assert stored == 3
    assert report.intact
    assert report.entries == 3


def test_a_defect_one_event_sets_off_costs_only_that_event(
    service: DecisionService,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fault injection: the engine raises on one event, as a defect in a rule would."""

    def decide_with_a_defect(event: Event, *args: Any, **kwargs: Any) -> Decision:
        if event.event_id == "defect-1":
            raise ZeroDivisionError("a rule divided by zero")
        return real_decide(event, *args, **kwargs)

    monkeypatch.setattr(services, "decide", decide_with_a_defect)
    good = [f.typed(f.login(f"c-{n}", minutes=n)) for n in range(2)]
    bad = f.typed(f.login("c-9", event_id="defect-1"))
    results = service.decide_many([(good[0], "t"), (bad, "t"), (good[1], "t")])
    assert [type(r) for r in results] == [Submitted, DecisionFailed, Submitted]
    assert "'defect-1'" in str(results[1])
    assert "nothing was stored" in str(results[1])
    assert any("deciding defect-1 failed" in r.getMessage() and r.exc_info for r in caplog.records)
    with database.read() as session:
        assert session.execute(text("SELECT count(*) FROM events")).scalar_one() == 2
        assert verify_chain(session).intact
    monkeypatch.setattr(services, "decide", real_decide)  # the defect fixed, the event resent
    [again] = service.decide_many([(bad, "t")])
    assert isinstance(again, Submitted)
    assert not again.replayed


def test_a_busy_database_is_a_storage_failure_not_a_crash(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    migrations.upgrade(url)
    database = Database(url, busy_timeout_ms=50)
    busy = DecisionService(
        database,
        Policies(Policy.default()),
        clock=FrozenClock(f.BASE_TIME + timedelta(days=30)),
        max_future_skew=timedelta(minutes=5),
    )
    with (tmp_path / "busy.db.writelock").open("a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        [outcome] = busy.decide_many([(f.typed(f.login()), "t")])
    database.dispose()
    assert isinstance(outcome, StorageFailed)


def _allowed() -> float:
    value = observability.REGISTRY.get_sample_value(
        "kabuguard_decisions_total", {"outcome": "allow"}
    )
    return value or 0.0


def test_new_decisions_are_counted_once_and_not_in_the_writer_process(
    service: DecisionService, database: Database
) -> None:
    before = _allowed()
    event = f.typed(f.login("c-1"))
    service.decide_many([(event, "t")])
    service.decide_many([(event, "t")])  # a replay: not counted again
    assert _allowed() == before + 1
    writer_process = DecisionService(
        database,
        Policies(Policy.default()),
        clock=FrozenClock(f.BASE_TIME + timedelta(days=30)),
        max_future_skew=timedelta(minutes=5),
        counts=False,  # its server counts the answers
    )
    [decided] = writer_process.decide_many([(f.typed(f.login("c-2", minutes=1)), "t")])
    assert isinstance(decided, Submitted)
    assert decided.decision["outcome"] == "allow"
    assert _allowed() == before + 1

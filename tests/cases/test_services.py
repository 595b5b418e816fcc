"""Holds are released by timer or staff (audited, once), restrictions set and lifted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kabuguard.audit.models import AuditEntry
from kabuguard.cases.interfaces import HoldAlreadyDecided
from kabuguard.cases.services import CaseService
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService, Policies
from kabuguard.risk.policy import Policy
from kabuguard.state.cases import HoldStatus
from kabuguard.state.interfaces import NotListed
from tests import factories
from tests.concurrency import Alongside, until_waiting_for_a_lock

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _decide(database: Database, *documents: dict[str, object]) -> list[dict[str, Any]]:
    service = DecisionService(database, Policies(Policy.default()), clock=lambda: NOW,
                              max_future_skew=timedelta(days=365))  # fmt: skip
    results = service.decide_many([(factories.typed(d), "test") for d in documents])
    return [r.decision for r in results]  # type: ignore[union-attr]


def test_a_held_withdrawal_waits_for_staff_and_is_released_once(database: Database) -> None:
    change, withdrawal = _decide(
        database,
        factories.payout_change(),
        factories.withdrawal(minutes=30, destination_id="dst-2", event_id="wd-held"),
    )
    assert (change["outcome"], withdrawal["outcome"]) == ("challenge", "hold")
    with database.write() as session:
        cases = CaseService(session, actor="staff:kato", at=NOW)
        (hold,) = cases.holds()
        assert (hold.event_id, hold.action, hold.status) == ("wd-held", "withdrawal", "pending")
        assert hold.release_at is not None  # only the cooling-off holds it: a timer
        released = cases.release("wd-held", "customer called from the registered number")
        assert (released.status, released.decided_by) == ("released", "staff:kato")
        with pytest.raises(HoldAlreadyDecided):
            cases.reject("wd-held", "too late")
        kinds = session.execute(select(AuditEntry.kind)).scalars().all()
        assert "case:hold:released" in kinds


def test_the_timer_releases_a_cooling_off_hold(database: Database) -> None:
    _decide(database, factories.payout_change(),
            factories.withdrawal(minutes=30, destination_id="dst-2", event_id="wd-2"))  # fmt: skip
    with database.write() as session:
        later = CaseService(session, actor="staff", at=NOW + timedelta(days=4))
        assert later.holds() == []
        (done,) = later.holds(status=HoldStatus.RELEASED)
        assert done.decided_by == "timer"


def test_two_listings_that_find_the_same_hold_due_release_it_once(database: Database) -> None:
    _decide(database, factories.payout_change(),
            factories.withdrawal(minutes=30, destination_id="dst-2", event_id="wd-3"))  # fmt: skip
    later = NOW + timedelta(days=4)
    outcomes: list[int | Exception] = []

    def list_alongside() -> None:
        try:
            with database.write() as session:
                outcomes.append(CaseService(session, actor="staff", at=later).expire())
        except Exception as error:
            outcomes.append(error)

    with database.write() as session:
        assert CaseService(session, actor="staff", at=later).expire() == 1
        alongside = threading.Thread(target=list_alongside)
        alongside.start()
        until_waiting_for_a_lock(database, alongside)  # it found the hold still pending
    alongside.join(timeout=30)
    assert outcomes == [0]  # was HoldAlreadyDecided on PostgreSQL: GET /v1/holds answered 409
    with database.read() as session:
        released = session.execute(
            select(func.count()).where(
                AuditEntry.kind == "case:hold:released", AuditEntry.subject == "wd-3"
            )
        ).scalar()
    assert released == 1


def test_unknown_holds_and_restrictions_are_not_listed(database: Database) -> None:
    with database.write() as session:
        cases = CaseService(session, actor="staff", at=NOW)
        with pytest.raises(NotListed):
            cases.release("nothing", "x")
        with pytest.raises(NotListed):
            cases.unrestrict("c-1", "NASDAQ")


def test_product_restrictions_are_set_enforced_and_lifted(database: Database) -> None:
    with database.write() as session:
        CaseService(session, actor="staff", at=NOW).restrict("c-1", "NASDAQ", "customer asked")
    (decision,) = _decide(database, factories.order(symbol="AAPL", market="NASDAQ", currency="USD"))
    codes = [r["code"] for r in decision["reasons"]]
    assert "order:product:restricted" in codes
    with database.write() as session:
        cases = CaseService(session, actor="staff", at=NOW)
        assert [r.market for r in cases.restrictions("c-1")] == ["NASDAQ"]
        cases.unrestrict("c-1", "NASDAQ")
        assert cases.restrictions("c-1") == []


def _audited(database: Database, kind: str) -> int:
    with database.read() as session:
        found = session.execute(select(func.count()).where(AuditEntry.kind == kind)).scalar()
    return int(found or 0)


def test_adding_a_restriction_again_changes_only_its_reason(database: Database) -> None:
    with database.write() as session:
        cases = CaseService(session, actor="staff", at=NOW)
        first, created = cases.restrict("c-1", "NASDAQ", "customer asked")
        assert created
        assert cases.restrict("c-1", "NASDAQ", "customer asked") == (first, False)
    assert _audited(database, "customer:product:restricted") == 1  # the repeat changed nothing
    with database.write() as session:
        later = CaseService(session, actor="staff", at=NOW + timedelta(days=1))
        changed, created = later.restrict("c-1", "NASDAQ", "customer asked again, by phone")
        assert not created
        assert (changed.reason, changed.created_at) == ("customer asked again, by phone", NOW)
    assert _audited(database, "customer:product:restricted") == 2


def _staff_b(session: Session) -> CaseService:
    return CaseService(session, actor="staff:b", at=NOW)


def test_a_restriction_added_alongside_is_found_not_inserted_twice(database: Database) -> None:
    with database.write() as session:
        CaseService(session, actor="staff:a", at=NOW).restrict("c-1", "NASDAQ", "asked")
        alongside = Alongside(database, lambda s: _staff_b(s).restrict("c-1", "NASDAQ", "asked"))
    outcome = alongside.outcome()
    assert isinstance(outcome, tuple), outcome  # was an IntegrityError on PostgreSQL
    found, created = outcome
    assert (found.market, created) == ("NASDAQ", False)
    assert _audited(database, "customer:product:restricted") == 1


def test_a_restriction_lifted_alongside_is_lifted_and_audited_once(database: Database) -> None:
    with database.write() as session:
        CaseService(session, actor="staff", at=NOW).restrict("c-1", "NASDAQ", "asked")
    with database.write() as session:
        CaseService(session, actor="staff:a", at=NOW).unrestrict("c-1", "NASDAQ")
        alongside = Alongside(database, lambda s: _staff_b(s).unrestrict("c-1", "NASDAQ"))
    assert isinstance(alongside.outcome(), NotListed)  # was a second success on PostgreSQL
    assert _audited(database, "customer:product:unrestricted") == 1

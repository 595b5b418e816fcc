"""Staff work on cases, holds and product restrictions; every change is audited in the same
transaction. A hold whose timer has run out is released by the timer (`expire`), never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.cases.interfaces import HoldAlreadyDecided
from kabuguard.state.cases import HoldStatus
from kabuguard.state.guard_codec import dump_record, load_record
from kabuguard.state.guard_models import (
    CaseAccountRow,
    CaseRow,
    GuardCustomerRow,
    HoldRow,
    ProductRestrictionRow,
)
from kabuguard.state.interfaces import NotListed

TIMER = "timer"


@dataclass(frozen=True, slots=True)
class CaseView:
    case_id: str
    market: str
    symbol: str
    opened_at: datetime
    event_id: str
    halt: str
    status: str
    accounts: tuple[tuple[str, str], ...]  # (customer, buyer or pivot)


@dataclass(frozen=True, slots=True)
class HoldView:
    event_id: str
    customer_id: str
    action: str
    subject: str | None
    reasons: tuple[str, ...]
    held_at: datetime
    release_at: datetime | None
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None


@dataclass(frozen=True, slots=True)
class ProductRestriction:
    customer_id: str
    market: str
    reason: str
    created_at: datetime


class CaseService:
    def __init__(self, session: Session, *, actor: str, at: datetime) -> None:
        self._session = session
        self._actor = actor
        self._at = at

    # Cases

    def cases(self, *, limit: int = 100) -> list[CaseView]:
        rows = self._session.execute(
            select(CaseRow).order_by(CaseRow.opened_at.desc()).limit(limit)
        ).scalars()
        return [self._view(row) for row in rows]

    def case(self, case_id: str) -> CaseView:
        row = self._session.get(CaseRow, case_id)
        if row is None:
            raise NotListed("case", case_id)
        return self._view(row)

    def _view(self, row: CaseRow) -> CaseView:
        accounts = self._session.execute(
            select(CaseAccountRow.customer_id, CaseAccountRow.role)
            .where(CaseAccountRow.case_id == row.case_id)
            .order_by(CaseAccountRow.role, CaseAccountRow.customer_id)
        ).all()
        return CaseView(
            row.case_id, row.market, row.symbol, row.opened_at, row.event_id, row.halt,
            row.status, tuple((a.customer_id, a.role) for a in accounts),
        )  # fmt: skip

    # Holds

    def holds(
        self, *, status: HoldStatus | None = HoldStatus.PENDING, customer: str | None = None
    ) -> list[HoldView]:
        self.expire()
        query = select(HoldRow).order_by(HoldRow.held_at, HoldRow.event_id).limit(1000)
        if status is not None:
            query = query.where(HoldRow.status == status.value)
        if customer is not None:
            query = query.where(HoldRow.customer_id == customer)
        return [_hold(row) for row in self._session.execute(query).scalars()]

    def expire(self) -> int:
        """Release every pending hold whose timer has run out (a cooling-off that ended)."""
        if not self._due():
            return 0  # the usual case: a listing need not queue for the writers' lock
        # Chosen again under the lock `_decide` takes: on PostgreSQL a listing alongside may
        # have released them meanwhile, and deciding one twice raised HoldAlreadyDecided (409).
        audit.lock_head(self._session)
        ids = self._due()
        for event_id in ids:
            self._decide(event_id, HoldStatus.RELEASED, "the cooling-off ended", actor=TIMER)
        return len(ids)

    def _due(self) -> list[str]:
        due = select(HoldRow.event_id).where(
            HoldRow.status == HoldStatus.PENDING.value, HoldRow.release_at <= self._at
        )
        return list(self._session.execute(due).scalars())

    def release(self, event_id: str, note: str) -> HoldView:
        return self._decide(event_id, HoldStatus.RELEASED, note, actor=self._actor)

    def reject(self, event_id: str, note: str) -> HoldView:
        return self._decide(event_id, HoldStatus.REJECTED, note, actor=self._actor)

    def _decide(self, event_id: str, status: HoldStatus, note: str, *, actor: str) -> HoldView:
        # The audit head lock serialises staff and timer decisions (and decision batches that
        # write guard records): two of them must not both find the hold pending.
        audit.lock_head(self._session)
        row = self._session.get(HoldRow, event_id, populate_existing=True)
        if row is None:
            raise NotListed("hold", event_id)
        if row.status != HoldStatus.PENDING.value:
            raise HoldAlreadyDecided(event_id, row.status)
        self._session.execute(
            update(HoldRow)
            .where(HoldRow.event_id == event_id)
            .values(status=status.value, decided_by=actor, decided_at=self._at, note=note)
        )
        if status is HoldStatus.RELEASED and row.action == "payout_change" and row.subject:
            self._accept_destination(row.customer_id, row.subject)
        kind = AuditKind.CASE_HOLD_RELEASED if status is HoldStatus.RELEASED else (
            AuditKind.CASE_HOLD_REJECTED
        )  # fmt: skip
        self._audit(kind, event_id, {"customer_id": row.customer_id, "action": row.action,
                                     "note": note}, actor=actor)  # fmt: skip
        self._session.expire(row)
        return _hold(row)

    def _accept_destination(self, customer: str, destination: str) -> None:
        """A released payout change makes its destination usable (staff checked it)."""
        row = self._session.get(GuardCustomerRow, customer)
        if row is None:
            return
        record = load_record(row.detail)
        record.money.release(destination)
        row.detail = dump_record(record)

    # Product restrictions (TRADE-2)

    def restrict(self, customer: str, market: str, reason: str) -> tuple[ProductRestriction, bool]:
        """Set the restriction or replace its reason; return it and whether it is new. Asking
        again with the same reason changes nothing, and writes no audit entry."""
        # Under the audit head lock, as `_decide`: two requests at once must not both find the
        # restriction missing (the second insert failed: 500 on PostgreSQL).
        audit.lock_head(self._session)
        row = self._session.get(ProductRestrictionRow, (customer, market), populate_existing=True)
        created = row is None
        if row is None:
            row = ProductRestrictionRow(
                customer_id=customer, market=market, reason=reason, created_at=self._at
            )
            self._session.add(row)
        elif row.reason == reason:
            return _restriction(row), False
        else:
            row.reason = reason  # in force since it was first set: created_at stays
        self._session.flush()
        self._audit(AuditKind.CUSTOMER_PRODUCT_RESTRICTED, customer,
                    {"market": market, "reason": reason})  # fmt: skip
        return _restriction(row), created

    def unrestrict(self, customer: str, market: str) -> ProductRestriction:
        """Lift the restriction. One already lifted, by a request alongside too, is
        `NotListed`: only the request that lifted it writes an audit entry."""
        audit.lock_head(self._session)
        row = self._session.get(ProductRestrictionRow, (customer, market), populate_existing=True)
        if row is None:
            raise NotListed("product restriction", f"{customer}:{market}")
        found = _restriction(row)
        self._session.delete(row)
        self._session.flush()
        self._audit(AuditKind.CUSTOMER_PRODUCT_UNRESTRICTED, customer, {"market": market})
        return found

    def restrictions(self, customer: str) -> list[ProductRestriction]:
        rows = self._session.execute(
            select(ProductRestrictionRow)
            .where(ProductRestrictionRow.customer_id == customer)
            .order_by(ProductRestrictionRow.market)
        ).scalars()
        return [_restriction(row) for row in rows]

    def _audit(
        self, kind: AuditKind, subject: str, payload: dict[str, Any], *, actor: str | None = None
    ) -> None:
        audit.append(
            self._session, kind=kind, actor=actor or self._actor, subject=subject,
            payload=payload, at=self._at,
        )  # fmt: skip


def _restriction(row: ProductRestrictionRow) -> ProductRestriction:
    return ProductRestriction(row.customer_id, row.market, row.reason, row.created_at)


def _hold(row: HoldRow) -> HoldView:
    return HoldView(
        row.event_id, row.customer_id, row.action, row.subject,
        tuple(orjson.loads(row.reasons)), row.held_at, row.release_at, row.status,
        row.decided_by, row.decided_at, row.note,
    )  # fmt: skip

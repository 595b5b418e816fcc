"""Request and response bodies of the case, hold and product-restriction endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from kabuguard.cases.services import CaseView, HoldView, ProductRestriction
from kabuguard.parsing import RequestBody
from kabuguard.risk.events import Market

Note = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CaseAccountOut(BaseModel):
    customer_id: str
    role: str  # buyer or pivot


class CaseOut(BaseModel):
    case_id: str
    market: str
    symbol: str
    opened_at: datetime
    event_id: str
    halt: str
    status: str
    accounts: list[CaseAccountOut]

    @classmethod
    def of(cls, case: CaseView) -> CaseOut:
        accounts = [CaseAccountOut(customer_id=c, role=r) for c, r in case.accounts]
        return cls(
            case_id=case.case_id, market=case.market, symbol=case.symbol,
            opened_at=case.opened_at, event_id=case.event_id, halt=case.halt,
            status=case.status, accounts=accounts,
        )  # fmt: skip


class HoldOut(BaseModel):
    event_id: str
    customer_id: str
    action: str
    subject: str | None
    reasons: list[str]
    held_at: datetime
    release_at: datetime | None
    status: str
    decided_by: str | None
    decided_at: datetime | None
    note: str | None

    @classmethod
    def of(cls, hold: HoldView) -> HoldOut:
        return cls(
            event_id=hold.event_id, customer_id=hold.customer_id, action=hold.action,
            subject=hold.subject, reasons=list(hold.reasons), held_at=hold.held_at,
            release_at=hold.release_at, status=hold.status, decided_by=hold.decided_by,
            decided_at=hold.decided_at, note=hold.note,
        )  # fmt: skip


class HoldDecisionIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    note: Note


class RestrictionIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    market: Market
    reason: Note


class RestrictionOut(BaseModel):
    customer_id: str
    market: str
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, found: ProductRestriction) -> RestrictionOut:
        return cls(
            customer_id=found.customer_id, market=found.market, reason=found.reason,
            created_at=found.created_at,
        )  # fmt: skip

"""Case, hold and product-restriction endpoints (the staff console arrives later).

Reading cases and holds needs `cases:read`; deciding a hold and setting or lifting a product
restriction need `cases:write`. Neither is a default scope: an integration key must not see
other customers' holds, nor release a held withdrawal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from kabuguard.apikeys.dependencies import authorize
from kabuguard.apikeys.interfaces import Scope
from kabuguard.cases.schemas import (
    CaseOut,
    HoldDecisionIn,
    HoldOut,
    RestrictionIn,
    RestrictionOut,
)
from kabuguard.cases.services import CaseService
from kabuguard.db import Database
from kabuguard.decisions.schemas import ErrorOut
from kabuguard.parsing import WITHOUT_NUL
from kabuguard.risk.events import Identifier, Market
from kabuguard.state.cases import HoldStatus

router = APIRouter(prefix="/v1", tags=["cases"])
_ERRORS: dict[int | str, dict[str, object]] = {
    s: {"model": ErrorOut} for s in (401, 403, 404, 409, 422)
}
_ALREADY_RESTRICTED: dict[int | str, dict[str, object]] = {
    200: {"model": RestrictionOut, "description": "Already restricted: the reason given stands."}
}
T = TypeVar("T")


async def _run(
    request: Request, scope: Scope, work: Callable[[CaseService], T], *, write: bool = True
) -> T:
    key = await authorize(request, scope)
    database: Database = request.app.state.database
    now: datetime = request.app.state.clock()

    def run() -> T:
        with database.write() if write else database.read() as session:
            return work(CaseService(session, actor=f"apikey:{key.name}", at=now))

    return await run_in_threadpool(run)


@router.get("/cases", response_model=list[CaseOut], responses=_ERRORS)
async def list_cases(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[CaseOut]:
    found = await _run(request, Scope.CASES_READ, lambda s: s.cases(limit=limit), write=False)
    return [CaseOut.of(case) for case in found]


@router.get("/cases/{case_id}", response_model=CaseOut, responses=_ERRORS)
async def get_case(
    request: Request, case_id: Annotated[str, Path(max_length=100, pattern=WITHOUT_NUL)]
) -> CaseOut:
    found = await _run(request, Scope.CASES_READ, lambda s: s.case(case_id), write=False)
    return CaseOut.of(found)


@router.get("/holds", response_model=list[HoldOut], responses=_ERRORS)
async def list_holds(
    request: Request,
    status: HoldStatus | None = HoldStatus.PENDING,
    customer_id: Identifier | None = None,
) -> list[HoldOut]:
    # A write: listing first releases holds whose timer ran out (audited), so none is stale.
    found = await _run(
        request, Scope.CASES_READ, lambda s: s.holds(status=status, customer=customer_id)
    )
    return [HoldOut.of(hold) for hold in found]


@router.post("/holds/{event_id}/release", response_model=HoldOut, responses=_ERRORS)
async def release_hold(
    request: Request, event_id: Annotated[Identifier, Path()], body: HoldDecisionIn
) -> HoldOut:
    found = await _run(request, Scope.CASES_WRITE, lambda s: s.release(event_id, body.note))
    return HoldOut.of(found)


@router.post("/holds/{event_id}/reject", response_model=HoldOut, responses=_ERRORS)
async def reject_hold(
    request: Request, event_id: Annotated[Identifier, Path()], body: HoldDecisionIn
) -> HoldOut:
    found = await _run(request, Scope.CASES_WRITE, lambda s: s.reject(event_id, body.note))
    return HoldOut.of(found)


@router.get(
    "/customers/{customer_id}/product-restrictions",
    response_model=list[RestrictionOut],
    responses=_ERRORS,
)
async def list_restrictions(
    request: Request, customer_id: Annotated[Identifier, Path()]
) -> list[RestrictionOut]:
    found = await _run(
        request, Scope.CUSTOMERS_READ, lambda s: s.restrictions(customer_id), write=False
    )
    return [RestrictionOut.of(r) for r in found]


@router.post(
    "/customers/{customer_id}/product-restrictions",
    response_model=RestrictionOut,
    status_code=201,
    responses=_ERRORS | _ALREADY_RESTRICTED,
)
async def add_restriction(
    request: Request,
    response: Response,
    customer_id: Annotated[Identifier, Path()],
    body: RestrictionIn,
) -> RestrictionOut:
    found, created = await _run(
        request, Scope.CASES_WRITE, lambda s: s.restrict(customer_id, body.market, body.reason)
    )
    if not created:
        response.status_code = 200
    return RestrictionOut.of(found)


@router.delete(
    "/customers/{customer_id}/product-restrictions/{market}",
    response_model=RestrictionOut,
    responses=_ERRORS,
)
async def lift_restriction(
    request: Request,
    customer_id: Annotated[Identifier, Path()],
    market: Annotated[Market, Path()],
) -> RestrictionOut:
    found = await _run(request, Scope.CASES_WRITE, lambda s: s.unrestrict(customer_id, market))
    return RestrictionOut.of(found)

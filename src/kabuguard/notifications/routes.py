"""Notification endpoints: a customer's inbox, contacts and preferences."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from kabuguard.apikeys.dependencies import authorize
from kabuguard.apikeys.interfaces import Scope
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.schemas import ErrorOut
from kabuguard.notifications.crypto import FieldCipher
from kabuguard.notifications.customers import CustomerSettings
from kabuguard.notifications.schemas import (
    ContactsIn,
    ContactsOut,
    InboxMessageOut,
    InboxOut,
    PreferencesIn,
    PreferencesOut,
)

router = APIRouter(prefix="/v1/customers/{customer_id}", tags=["notifications"])
_ERRORS: dict[int | str, dict[str, object]] = {s: {"model": ErrorOut} for s in (401, 403, 422)}
CustomerId = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@\-]*$")]
MAX_ID = 2**63 - 1  # ids are BIGINT: a larger cursor is a 422, not a driver overflow (500)
T = TypeVar("T")


async def _with_settings(
    request: Request, actor: str, work: Callable[[CustomerSettings], T], *, write: bool
) -> T:
    database: Database = request.app.state.database
    settings: Settings = request.app.state.settings
    cipher: FieldCipher = request.app.state.cipher
    now = request.app.state.clock()

    def run() -> T:
        with database.write() if write else database.read() as session:
            service = CustomerSettings(
                session, cipher, actor=actor, at=now, defaults=settings.notify_optional_defaults
            )
            return work(service)

    return await run_in_threadpool(run)


@router.get("/inbox", response_model=InboxOut, responses=_ERRORS)
async def inbox(
    request: Request,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> InboxOut:
    key = await authorize(request, Scope.DECISIONS_READ)
    rows = await _with_settings(
        request,
        f"apikey:{key.name}",
        lambda s: s.inbox(customer_id, limit=limit, before=before),
        write=False,
    )
    next_before = rows[-1].id if len(rows) == limit else None
    return InboxOut(items=[InboxMessageOut.of(row) for row in rows], next_before=next_before)


@router.get("/contacts", response_model=ContactsOut, responses=_ERRORS)
async def get_contacts(request: Request, customer_id: CustomerId) -> ContactsOut:
    key = await authorize(request, Scope.CUSTOMERS_READ)
    view = await _with_settings(
        request, f"apikey:{key.name}", lambda s: s.contacts(customer_id), write=False
    )
    return ContactsOut.of(view)


@router.put("/contacts", response_model=ContactsOut, responses=_ERRORS)
async def put_contacts(request: Request, customer_id: CustomerId, body: ContactsIn) -> ContactsOut:
    key = await authorize(request, Scope.EVENTS_WRITE)
    view = await _with_settings(
        request,
        f"apikey:{key.name}",
        lambda s: s.set_contacts(
            customer_id, email=body.email, phone=body.phone, locale=body.locale
        ),
        write=True,
    )
    return ContactsOut.of(view)


@router.get("/preferences", response_model=PreferencesOut, responses=_ERRORS)
async def get_preferences(request: Request, customer_id: CustomerId) -> PreferencesOut:
    key = await authorize(request, Scope.CUSTOMERS_READ)
    view = await _with_settings(
        request, f"apikey:{key.name}", lambda s: s.preferences(customer_id), write=False
    )
    return PreferencesOut.of(view)


@router.put("/preferences", response_model=PreferencesOut, responses=_ERRORS)
async def put_preferences(
    request: Request, customer_id: CustomerId, body: PreferencesIn
) -> PreferencesOut:
    key = await authorize(request, Scope.EVENTS_WRITE)
    view = await _with_settings(
        request,
        f"apikey:{key.name}",
        lambda s: s.set_preferences(customer_id, enabled=body.enabled, disabled=body.disabled),
        write=True,
    )
    return PreferencesOut.of(view)

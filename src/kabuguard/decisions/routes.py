"""Decision API: submit events, read decisions and a customer's timeline."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from kabuguard.apikeys.dependencies import authorize
from kabuguard.apikeys.interfaces import Scope
from kabuguard.config import Settings
from kabuguard.decisions.fastpath import EventIntake
from kabuguard.decisions.schemas import BatchOut, DecisionOut, ErrorOut, TimelineOut
from kabuguard.decisions.services import DecisionService, ItemError
from kabuguard.http import CLIENT_CLOSED, Disconnected, read_body, request_chunks
from kabuguard.parsing import ApiError, load_json, parse_events
from kabuguard.risk.events import EVENT_ADAPTER, Event, Identifier

router = APIRouter(prefix="/v1", tags=["decisions"])

_EVENT_SCHEMA_REF = {"$ref": "#/components/schemas/Event"}


def _error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut} for status in statuses}


_ERRORS = _error_responses(400, 401, 403, 409, 413, 415, 422)


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def _service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.decisions
    return service


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post(
    "/events",
    summary="Submit one event and receive the decision",
    response_model=DecisionOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _EVENT_SCHEMA_REF}},
        }
    },
)
async def submit_event(request: Request) -> Response:
    intake: EventIntake = request.app.state.intake
    try:
        reply = await intake.accept(request.headers, request_chunks(request))
    except Disconnected:
        return Response(status_code=CLIENT_CLOSED)  # nobody is left to answer
    return Response(reply.body, reply.status, reply.headers)


@router.post(
    "/events/batch",
    summary="Submit up to 10,000 events; each gets its own result",
    response_model=BatchOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "properties": {"events": {"type": "array", "items": _EVENT_SCHEMA_REF}},
                    }
                }
            },
        }
    },
)
async def submit_batch(request: Request) -> Response:
    key = await authorize(request, Scope.EVENTS_WRITE)
    settings = _settings(request)
    try:
        body = await read_body(request, settings.max_batch_bytes)
    except Disconnected:
        return Response(status_code=CLIENT_CLOSED)  # nobody is left; a partial batch is none
    document = load_json(body)
    raw_items = document.get("events") if isinstance(document, dict) else None
    if not isinstance(raw_items, list):
        raise ApiError(422, "invalid_batch", "the body must be an object with an `events` array")
    if len(raw_items) > settings.max_batch_events:
        raise ApiError(
            413, "batch_too_large", f"a batch holds at most {settings.max_batch_events} events"
        )
    parsed = parse_events(raw_items, body)
    items = [_item(raw, one) for raw, one in zip(raw_items, parsed, strict=True)]
    results = await run_in_threadpool(
        _service(request).submit_batch,
        items,
        f"apikey:{key.name}",
        commit_every=settings.batch_commit_every,
    )
    rejected = sum(1 for result in results if result["status"] >= 400)
    return _json({"results": results, "accepted": len(results) - rejected, "rejected": rejected})


def _item(raw: Any, parsed: Event | ApiError) -> Event | ItemError:
    if not isinstance(parsed, ApiError):
        return parsed
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    named = event_id if isinstance(event_id, str) else None
    return ItemError(parsed.status, parsed.code, parsed.message, parsed.fields, named)


@router.get(
    "/decisions/{event_id}",
    summary="The decision stored for an event",
    response_model=DecisionOut,
    responses=_error_responses(401, 403, 404, 422),
)
async def get_decision(
    request: Request,
    event_id: Annotated[Identifier, Path()],
) -> Response:
    await authorize(request, Scope.DECISIONS_READ)
    return _json(await run_in_threadpool(_service(request).get, event_id))


@router.get(
    "/customers/{customer_id}/timeline",
    summary="A customer's events and decisions, newest first",
    response_model=TimelineOut,
    responses=_error_responses(400, 401, 403, 422),
)
async def timeline(
    request: Request,
    customer_id: Annotated[Identifier, Path()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    await authorize(request, Scope.CUSTOMERS_READ)
    page = await run_in_threadpool(
        _service(request).timeline, customer_id, limit=limit, cursor=cursor
    )
    return _json({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/schema/events", summary="JSON Schema of the canonical events", tags=["schema"])
async def event_schema() -> Response:
    return _json(EVENT_SCHEMA)


EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "kabuguard event",
    **EVENT_ADAPTER.json_schema(),
}

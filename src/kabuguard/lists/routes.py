"""List endpoints: symbol buy-halts and blocked networks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from ipaddress import ip_network
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from kabuguard.apikeys.dependencies import authorize
from kabuguard.apikeys.interfaces import Scope
from kabuguard.db import Database
from kabuguard.decisions.schemas import ErrorOut
from kabuguard.lists.schemas import BlockIn, BlockOut, HaltIn, HaltOut, parse_network
from kabuguard.lists.services import ListService
from kabuguard.parsing import ApiError
from kabuguard.risk.events import Market, Symbol
from kabuguard.risk.signals import BlockedNetwork, SymbolHalt

router = APIRouter(prefix="/v1/lists", tags=["lists"])
_ERRORS: dict[int | str, dict[str, object]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}
T = TypeVar("T")


async def _in_transaction(
    request: Request, actor: str, work: Callable[[ListService], T], *, write: bool = True
) -> T:
    """Run `work` in one transaction: a write for changes, a read (no writer lock) for lists."""
    database: Database = request.app.state.database
    now: datetime = request.app.state.clock()

    def run() -> T:
        with database.write() if write else database.read() as session:
            return work(ListService(session, actor=actor, at=now))

    return await run_in_threadpool(run)


@router.get("/halted-symbols", response_model=list[HaltOut], responses=_ERRORS)
async def list_halts(request: Request) -> list[HaltOut]:
    key = await authorize(request, Scope.LISTS_READ)
    halts = await _in_transaction(
        request, f"apikey:{key.name}", lambda lists: lists.halts(), write=False
    )
    return [HaltOut.of(h) for h in halts]


@router.post("/halted-symbols", response_model=HaltOut, status_code=201, responses=_ERRORS)
async def add_halt(request: Request, body: HaltIn) -> HaltOut:
    key = await authorize(request, Scope.LISTS_WRITE)
    halt = SymbolHalt(body.symbol, body.market, body.reason, body.until)
    await _in_transaction(request, f"apikey:{key.name}", lambda lists: lists.halt(halt))
    return HaltOut.of(halt)


@router.delete("/halted-symbols/{market}/{symbol}", response_model=HaltOut, responses=_ERRORS)
async def lift_halt(
    request: Request,
    market: Annotated[Market, Path()],
    symbol: Annotated[Symbol, Path()],
) -> HaltOut:
    key = await authorize(request, Scope.LISTS_WRITE)
    lifted = await _in_transaction(
        request, f"apikey:{key.name}", lambda lists: lists.lift(symbol, market)
    )
    return HaltOut.of(lifted)


@router.get("/blocked-networks", response_model=list[BlockOut], responses=_ERRORS)
async def list_blocks(request: Request) -> list[BlockOut]:
    key = await authorize(request, Scope.LISTS_READ)
    blocked = await _in_transaction(
        request, f"apikey:{key.name}", lambda lists: lists.blocked(), write=False
    )
    return [BlockOut.of(b) for b in blocked]


@router.post("/blocked-networks", response_model=BlockOut, status_code=201, responses=_ERRORS)
async def add_block(request: Request, body: BlockIn) -> BlockOut:
    key = await authorize(request, Scope.LISTS_WRITE)
    blocked = BlockedNetwork(ip_network(body.network), body.reason, body.until)
    await _in_transaction(request, f"apikey:{key.name}", lambda lists: lists.block(blocked))
    return BlockOut.of(blocked)


@router.delete("/blocked-networks/{address}/{prefix}", response_model=BlockOut, responses=_ERRORS)
async def remove_block(
    request: Request, address: Annotated[str, Path(max_length=45)], prefix: int
) -> BlockOut:
    key = await authorize(request, Scope.LISTS_WRITE)
    try:
        network = parse_network(f"{address}/{prefix}", strict=True)
    except ValueError as error:
        raise ApiError(422, "invalid_network", str(error)) from None
    removed = await _in_transaction(
        request, f"apikey:{key.name}", lambda lists: lists.unblock(network)
    )
    return BlockOut.of(removed)

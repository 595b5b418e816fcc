"""`kabuguard cases`, `kabuguard holds`, `kabuguard restrictions` (wired by `register`)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Protocol, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from kabuguard.cases.services import CaseService, HoldView
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.parsing import ApiError
from kabuguard.state.cases import HoldStatus
from kabuguard.state.interfaces import StateError

# Output carries staff-written reasons and callers' ids: never read as markup or emoji codes
# (a reason holding "[/x]" made `restrictions list` fail with a MarkupError).
out = Console(emoji=False, highlight=False, markup=False)
err = Console(stderr=True, emoji=False, highlight=False, markup=False)
T = TypeVar("T")
Clock = Callable[[], datetime]


def register(app: typer.Typer, clock: Clock = lambda: datetime.now(UTC)) -> None:
    cases = typer.Typer(no_args_is_help=True, help="Coordination cases (pumped symbols).")
    holds = typer.Typer(no_args_is_help=True, help="Held orders, withdrawals and changes.")
    products = typer.Typer(no_args_is_help=True, help="Customer-requested product limits.")
    app.add_typer(cases, name="cases")
    app.add_typer(holds, name="holds")
    app.add_typer(products, name="restrictions")
    run = _runner(clock)
    _case_commands(cases, run)
    _hold_commands(holds, run)
    _product_commands(products, run)


class HoldFilter(StrEnum):
    """`holds list --status`: a hold status, or every hold. As a choice, a value not listed is
    refused by name with the allowed ones (it was a ValueError traceback)."""

    PENDING = HoldStatus.PENDING.value
    RELEASED = HoldStatus.RELEASED.value
    REJECTED = HoldStatus.REJECTED.value
    ALL = "all"


class Runner(Protocol):
    def __call__(self, work: Callable[[CaseService], T], *, write: bool) -> T: ...


def _runner(clock: Clock) -> Runner:
    def run(work: Callable[[CaseService], T], *, write: bool) -> T:
        database = Database.from_settings(Settings())
        try:
            with database.write() if write else database.read() as session:
                return work(CaseService(session, actor=f"cli:{getpass.getuser()}", at=clock()))
        except (StateError, ApiError) as error:
            err.print(f"error: {getattr(error, 'message', error)}")
            raise typer.Exit(1) from None
        finally:
            database.dispose()

    return run


def _case_commands(cases: typer.Typer, run: Runner) -> None:
    @cases.command("list")
    def cases_list(limit: int = 50) -> None:
        """The latest cases, newest first."""
        table = Table("case", "symbol", "opened", "halt", "buyers", "pivot")
        for case in run(lambda s: s.cases(limit=limit), write=False):
            roles = [role for _, role in case.accounts]
            table.add_row(case.case_id, f"{case.market}:{case.symbol}",
                          case.opened_at.isoformat(), case.halt,
                          str(roles.count("buyer")), str(roles.count("pivot")))  # fmt: skip
        out.print(table)

    @cases.command("show")
    def cases_show(case_id: str) -> None:
        """Every account a case links, with its role."""
        case = run(lambda s: s.case(case_id), write=False)
        out.print(f"{case.case_id}  {case.market}:{case.symbol}  halt {case.halt}")
        for customer, role in case.accounts:
            out.print(f"  {role:6} {customer}")


def _hold_commands(holds: typer.Typer, run: Runner) -> None:
    @holds.command("list")
    def holds_list(
        status: Annotated[HoldFilter, typer.Option(help="Holds in this status.")] = (
            HoldFilter.PENDING
        ),
        customer: str | None = None,
    ) -> None:
        """Holds (timers that ran out are released first)."""
        wanted = None if status is HoldFilter.ALL else HoldStatus(status.value)
        _print_holds(run(lambda s: s.holds(status=wanted, customer=customer), write=True))

    @holds.command("release")
    def holds_release(event_id: str, note: Annotated[str, typer.Option()]) -> None:
        """Let a held action go ahead (audited)."""
        hold = run(lambda s: s.release(event_id, note), write=True)
        out.print(f"hold on {hold.event_id} released")

    @holds.command("reject")
    def holds_reject(event_id: str, note: Annotated[str, typer.Option()]) -> None:
        """Refuse a held action for good (audited)."""
        hold = run(lambda s: s.reject(event_id, note), write=True)
        out.print(f"hold on {hold.event_id} rejected")

    @holds.command("expire")
    def holds_expire() -> None:
        """Release every hold whose timer ran out (run from cron, or let `list` do it)."""
        count = run(lambda s: s.expire(), write=True)
        out.print(f"{count} hold(s) released by their timer")


def _product_commands(products: typer.Typer, run: Runner) -> None:
    @products.command("add")
    def restrictions_add(
        customer: str,
        market: Annotated[str, typer.Option()],
        reason: Annotated[str, typer.Option()],
    ) -> None:
        """At the customer's request: no trading on MARKET (e.g. no foreign stocks)."""
        _, created = run(lambda s: s.restrict(customer, market.upper(), reason), write=True)
        already = "" if created else " (it was already; the reason is the one given)"
        out.print(f"{customer}: trading on {market.upper()} is restricted{already}")

    @products.command("remove")
    def restrictions_remove(customer: str, market: Annotated[str, typer.Option()]) -> None:
        run(lambda s: s.unrestrict(customer, market.upper()), write=True)
        out.print(f"{customer}: restriction on {market.upper()} lifted")

    @products.command("list")
    def restrictions_list(customer: str) -> None:
        table = Table("market", "reason", "since")
        for found in run(lambda s: s.restrictions(customer), write=False):
            table.add_row(found.market, found.reason, found.created_at.isoformat())
        out.print(table)


def _print_holds(holds: list[HoldView]) -> None:
    table = Table("event", "customer", "action", "status", "held", "timer", "reasons")
    for hold in holds:
        timer = hold.release_at.isoformat() if hold.release_at else "staff"
        table.add_row(hold.event_id, hold.customer_id, hold.action, hold.status,
                      hold.held_at.isoformat(), timer, ", ".join(hold.reasons))  # fmt: skip
    out.print(table)

"""`kabuguard customer …`: create customers and unlock them with two operators (four eyes).

`customer unlock ID --operator A` asks for the unlock; the same command by a different
operator B approves it, which lifts the customer's self-service lock and any engine lock
through a customer_unlock event (decided, audited and notified like every event).
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kabuguard.app import load_policies
from kabuguard.auth.accounts import Accounts, NewAccount
from kabuguard.auth.interfaces import AuthError
from kabuguard.auth.locks import engine_lock, staff_unlock_event, staff_unlock_step
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.decisions.services import DecisionService, Submitted
from kabuguard.notifications.kinds import Locale
from kabuguard.notifications.wiring import build_planner, cipher_from
from kabuguard.risk.events import CustomerUnlock

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `customer` group."""
    group = typer.Typer(no_args_is_help=True, help="Customer accounts: create, unlock.")
    group.command("create")(create_command)
    group.command("unlock")(unlock_command)
    app.add_typer(group, name="customer")


def _now() -> datetime:
    return datetime.now(UTC)


def _fail(error: AuthError) -> typer.Exit:
    err.print(f"error: {escape(error.message)}")
    return typer.Exit(1)


def create_command(  # noqa: PLR0917 (typer takes options as parameters)
    username: str,
    email: Annotated[str | None, typer.Option(help="Where e-mail codes and notices go.")] = None,
    display_name: Annotated[str, typer.Option(help="The name shown on the pages.")] = "",
    customer_id: Annotated[str | None, typer.Option(help="The broker's id (default: new).")] = None,
    locale: Annotated[Locale, typer.Option(help="The customer's language.")] = Locale.JA,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a customer account (onboarding, demos)."""
    settings = Settings()
    database = Database.from_settings(settings)
    try:
        account = Accounts(database, cipher_from(settings)).create(
            NewAccount(username, password, display_name, locale, customer_id, email),
            actor=f"cli:{getpass.getuser()}",
            now=_now(),
        )
    except AuthError as error:
        raise _fail(error) from None
    finally:
        database.dispose()
    out.print(f"created {escape(account.customer_id)} ({escape(account.username)})")


def unlock_command(
    customer_id: str,
    operator: Annotated[str, typer.Option(help="The staff member acting (recorded).")],
) -> None:
    """Ask for an unlock, or approve another operator's request: two different operators."""
    settings = Settings()
    database = Database.from_settings(settings)
    now = _now()
    try:
        step = staff_unlock_step(database, customer_id, operator, now)
        if not step.done:
            out.print(
                f"unlock of {escape(customer_id)} requested by {escape(operator)}; "
                "a second, different operator must run this command to approve it"
            )
            return
        actor = f"staff:{operator}"
        Accounts(database, cipher_from(settings)).set_self_lock(
            customer_id, None, actor=actor, now=now
        )
        if engine_lock(database, customer_id) is not None:
            _decide(settings, database, staff_unlock_event(step, operator, now), actor)
    except AuthError as error:
        raise _fail(error) from None
    finally:
        database.dispose()
    out.print(
        f"{escape(customer_id)} unlocked by {escape(step.first_operator)} and {escape(operator)}"
    )


def _decide(settings: Settings, database: Database, event: CustomerUnlock, actor: str) -> None:
    service = DecisionService(
        database,
        load_policies(settings),
        clock=_now,
        max_future_skew=timedelta(seconds=settings.max_future_skew_seconds),
        notices=build_planner(settings, on_enqueued=lambda: None),
    )
    (outcome,) = service.decide_many([(event, actor)])
    if not isinstance(outcome, Submitted):
        raise AuthError(f"the unlock event could not be recorded: {outcome}")

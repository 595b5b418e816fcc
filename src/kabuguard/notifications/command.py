"""`kabuguard dispatch`, `outbox`, `contacts` and `preferences`: register(app) adds them."""

from __future__ import annotations

import getpass
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.notifications.customers import ContactsView, CustomerSettings, PreferencesView
from kabuguard.notifications.interfaces import NotificationError
from kabuguard.notifications.kinds import Locale, NoticeKind, Status
from kabuguard.notifications.outbox import Outbox
from kabuguard.notifications.wiring import build_dispatcher, cipher_from
from kabuguard.observability import configure_logging

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)
T = TypeVar("T")


def register(app: typer.Typer) -> None:
    """Add `dispatch` and the `outbox`, `contacts` and `preferences` groups."""
    app.command("dispatch")(dispatch_command)
    groups = {
        "outbox": ("Notifications waiting, delivered or dead-lettered.", _outbox_commands),
        "contacts": ("Where a customer's notices go (stored encrypted).", _contact_commands),
        "preferences": ("Optional notices a customer receives.", _preference_commands),
    }
    for name, (help_text, add) in groups.items():
        group = typer.Typer(no_args_is_help=True, help=help_text)
        add(group)
        app.add_typer(group, name=name)


def dispatch_command(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
) -> None:
    """Deliver notifications from the outbox until stopped (SIGTERM or Ctrl+C)."""
    settings = Settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    with _database(settings) as database:
        dispatcher = build_dispatcher(settings, database, _now)
        if once:
            report = dispatcher.drain()
            dispatcher.close()
            out.print(
                f"{report.delivered} delivered, {report.retried} to retry, {report.dead} dead"
            )
            return
        stop, wake = threading.Event(), threading.Event()

        def finish(_signal: int, _frame: object) -> None:  # the message in flight completes
            stop.set()
            wake.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        err.print("dispatching notifications; stop with Ctrl+C or SIGTERM")
        dispatcher.run(stop, wake, settings.dispatch_poll_seconds, settings.dispatch_gather_seconds)


def _outbox_commands(group: typer.Typer) -> None:
    @group.command("list")
    def outbox_list(
        status: Annotated[Status | None, typer.Option(help="Only this status.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="Newest first, at most this many.")] = 50,
    ) -> None:
        """List outbox messages with their attempts and last error (no addresses)."""
        settings = Settings()
        with _database(settings) as database:
            rows = Outbox(database, _now).rows(status, limit)
        table = Table(
            "id", "status", "channel", "kind", "customer", "attempts", "next attempt", "last error"
        )
        for row in rows:
            table.add_row(
                str(row.id),
                row.status,
                row.channel,
                row.kind,
                escape(row.customer_id),
                str(row.attempts),
                row.next_attempt_at.isoformat(timespec="seconds"),
                escape(row.last_error or ""),
            )
        out.print(table)

    @group.command("retry")
    def outbox_retry(row_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
        """Queue a dead-lettered message again (audited)."""
        settings = Settings()
        with _database(settings) as database, _failing_cleanly():
            Outbox(database, _now).retry(row_id, _actor())
        out.print(f"outbox message {row_id} queued again")


def _contact_commands(group: typer.Typer) -> None:
    @group.command("set")
    def contacts_set(
        customer_id: str,
        email: Annotated[str | None, typer.Option(help="Left out: removed.")] = None,
        phone: Annotated[str | None, typer.Option(help="E.164; left out: removed.")] = None,
        locale: Annotated[Locale, typer.Option(help="Language of the notices.")] = Locale.JA,
    ) -> None:
        """Replace a customer's contacts (audited; values are stored encrypted)."""
        view = _customers(
            lambda s: s.set_contacts(customer_id, email=email, phone=phone, locale=locale),
            write=True,
        )
        _print_contacts(view)

    @group.command("show")
    def contacts_show(customer_id: str) -> None:
        """Show a customer's contacts, masked."""
        _print_contacts(_customers(lambda s: s.contacts(customer_id), write=False))


def _preference_commands(group: typer.Typer) -> None:
    @group.command("set")
    def preferences_set(
        customer_id: str,
        enable: Annotated[list[NoticeKind] | None, typer.Option(help="Repeat per kind.")] = None,
        disable: Annotated[
            list[NoticeKind] | None, typer.Option(help="Optional kinds only; repeat per kind.")
        ] = None,
    ) -> None:
        """Replace which optional notices a customer adds or turns off."""
        view = _customers(
            lambda s: s.set_preferences(customer_id, enabled=enable or (), disabled=disable or ()),
            write=True,
        )
        _print_preferences(view)

    @group.command("show")
    def preferences_show(customer_id: str) -> None:
        """Show the notices a customer receives."""
        _print_preferences(_customers(lambda s: s.preferences(customer_id), write=False))


def _customers(work: Callable[[CustomerSettings], T], *, write: bool) -> T:
    settings = Settings()
    with (
        _database(settings) as database,
        _failing_cleanly(),
        database.write() if write else database.read() as session,
    ):
        service = CustomerSettings(
            session,
            cipher_from(settings),
            actor=_actor(),
            at=_now(),
            defaults=settings.notify_optional_defaults,
        )
        return work(service)


def _print_contacts(view: ContactsView) -> None:
    out.print(f"customer {escape(view.customer_id)} ({view.locale.value})")
    out.print(f"  email  {view.email or '-'}")
    out.print(f"  phone  {view.phone or '-'}")


def _print_preferences(view: PreferencesView) -> None:
    out.print(f"customer {escape(view.customer_id)}")
    out.print(f"  added      {', '.join(view.enabled) or '-'}")
    out.print(f"  turned off {', '.join(view.disabled) or '-'}")
    out.print(f"  receives   {', '.join(view.receives)}")


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def _failing_cleanly() -> Iterator[None]:
    try:
        yield
    except NotificationError as error:
        err.print(f"[red]error:[/red] {escape(str(error))}")
        raise typer.Exit(1) from None


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    return datetime.now(UTC)

"""`kabuguard reference instruments|prices|names FILE.csv` (wired by `register`)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.reference.importer import (
    ImportReport,
    import_names,
    import_reference,
    read_reference,
)
from kabuguard.risk.policy import Policy

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)
Clock = Callable[[], datetime]
CsvFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)]


def register(app: typer.Typer, clock: Clock = lambda: datetime.now(UTC)) -> None:
    reference = typer.Typer(no_args_is_help=True, help="Reference data from CSV.")
    app.add_typer(reference, name="reference")

    def load(path: Path, kind: str) -> None:
        settings = Settings()
        policy = (
            Policy.from_file(settings.policy_file) if settings.policy_file else Policy.default()
        )
        report, now = ImportReport(), clock()
        database = Database.from_settings(settings)
        try:
            with path.open(encoding="utf-8", newline="") as source, database.write() as session:
                events = read_reference(source, kind, now, report)
                import_reference(session, events, policy, actor=_actor(), at=now, report=report)
        except ValueError as error:
            err.print(f"error: {path}: {error}")
            raise typer.Exit(1) from None
        finally:
            database.dispose()
        _finish(report)

    @reference.command("instruments")
    def instruments(path: CsvFile) -> None:
        """symbol,market,name,currency,lot_size,listed_shares,average_daily_volume,limit_up,limit_down"""
        load(path, "instrument")

    @reference.command("prices")
    def prices(path: CsvFile) -> None:
        """symbol,market,last,previous_close,limit_up,limit_down,at (ISO time with zone)"""
        load(path, "price")

    @reference.command("names")
    def names(path: CsvFile) -> None:
        """customer_id,name_kana: registered names for the payout holder-name check."""
        database = Database.from_settings(Settings())
        try:
            with path.open(encoding="utf-8", newline="") as source, database.write() as session:
                report = import_names(session, source, actor=_actor(), at=clock())
        finally:
            database.dispose()
        _finish(report)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _finish(report: ImportReport) -> None:
    for line, message in report.bad:
        err.print(f"line {line}: {message}")
    out.print(f"{report.imported} rows imported, {len(report.bad)} bad rows")
    if report.bad:
        raise typer.Exit(1)

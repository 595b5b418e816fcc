"""`kabuguard reference instruments|prices|names FILE.csv` (wired by `register`)."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

# Output carries file names and cells as written: never read as markup or emoji codes.
out = Console(emoji=False, highlight=False, markup=False)
err = Console(stderr=True, emoji=False, highlight=False, markup=False)
# Excel's "CSV UTF-8" starts the file with a byte order mark: without this it became part of
# the first column's name, and every row was refused for lacking it.
ENCODING = "utf-8-sig"
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
        with (
            _importing(path, settings) as database,
            database.write() as session,
            path.open(encoding=ENCODING, newline="") as source,
        ):
            events = read_reference(source, kind, now, report)
            import_reference(session, events, policy, actor=_actor(), at=now, report=report)
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
        with (
            _importing(path, Settings()) as database,
            database.write() as session,
            path.open(encoding=ENCODING, newline="") as source,
        ):
            report = import_names(session, source, actor=_actor(), at=clock())
        _finish(report)


@contextmanager
def _importing(path: Path, settings: Settings) -> Iterator[Database]:
    """The configured database for one import of `path`; a file that cannot be read as CSV
    ends the command with the reason (exit 1), and nothing of it is stored."""
    database = Database.from_settings(settings)
    try:
        yield database
    except UnicodeDecodeError as error:
        err.print(f"error: {path}: not UTF-8 text ({error.reason}): save it as UTF-8")
        raise typer.Exit(1) from None
    except ValueError as error:
        err.print(f"error: {path}: {error}")
        raise typer.Exit(1) from None
    finally:
        database.dispose()


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _finish(report: ImportReport) -> None:
    for line, message in report.bad:
        err.print(f"line {line}: {message}")
    out.print(f"{report.imported} rows imported, {len(report.bad)} bad rows")
    if report.bad:
        raise typer.Exit(1)

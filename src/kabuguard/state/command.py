"""`kabuguard credentials import`: the exposed-credentials list, from a CSV of customer ids.

Customers on the list sign in with a passkey only (`login:credentials:exposed`) until they
reset their password; the decision service clears the entry when it sees the reset. The CSV
needs a `customer_id` column (other columns are ignored, so a leak analyst's sheet can be
imported as it is); a row whose id is not a valid identifier is reported and skipped.
"""

from __future__ import annotations

import csv
import getpass
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kabuguard.audit import services as audit
from kabuguard.audit.chain import AuditKind
from kabuguard.config import Settings
from kabuguard.db import Database
from kabuguard.state.login_sql import SqlLoginStore

COLUMN = "customer_id"
# The event schema's identifier (risk/events.py): what a customer_id in an event can be.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@\-]{0,127}$")

_out = Console(emoji=False, highlight=False)
_err = Console(stderr=True, emoji=False, highlight=False)
credentials_app = typer.Typer(help="Customers whose credentials are known to have leaked.")


@dataclass
class ExposedList:
    customers: list[str] = field(default_factory=list)
    bad_rows: list[tuple[int, str]] = field(default_factory=list)


def register(app: typer.Typer) -> None:
    app.add_typer(credentials_app, name="credentials")


def read_exposed(rows: Iterable[tuple[int, dict[str, str | None]]]) -> ExposedList:
    """Valid customer ids from numbered CSV rows (the file's line numbers)."""
    found = ExposedList()
    for line, row in rows:
        value = (row.get(COLUMN) or "").strip()
        if _IDENTIFIER.match(value):
            found.customers.append(value)
        else:
            found.bad_rows.append((line, f"{value!r} is not a customer id"))
    return found


@credentials_app.command("import")
def import_exposed(
    csv_file: Annotated[Path, typer.Argument(help="CSV with a customer_id column.")],
    source: Annotated[str, typer.Option(help="Where the list came from, kept with each entry.")],
    since: Annotated[
        datetime | None, typer.Option(help="Listed since (ISO time with zone; default: now).")
    ] = None,
) -> None:
    """Make the listed customers passkey-only until they reset their password; exits 1 if any
    row was bad."""
    if since is not None and since.tzinfo is None:
        raise _fail("--since needs a time zone, e.g. 2026-12-01T15:00:00+09:00")
    listed = _read(csv_file)
    database = Database.from_settings(Settings())
    try:
        with database.write() as session:
            now = datetime.now(UTC)
            count = SqlLoginStore(session).expose(listed.customers, since or now, source[:200])
            # Who listed how many, from where: the customers themselves are in login_profiles.
            audit.append(session, kind=AuditKind.CUSTOMER_CREDENTIALS_EXPOSED,
                         actor=f"cli:{getpass.getuser()}", subject="credentials",
                         payload={"listed": count, "bad_rows": len(listed.bad_rows),
                                  "source": source[:200]}, at=now)  # fmt: skip
    finally:
        database.dispose()
    for line, message in listed.bad_rows[:20]:
        _err.print(f"line {line}: {message}")
    _out.print(f"{count:,} customers listed as exposed, {len(listed.bad_rows)} bad rows")
    if listed.bad_rows:
        raise typer.Exit(1)


def _read(path: Path) -> ExposedList:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if COLUMN not in (reader.fieldnames or []):
                raise _fail(f"{path}: no {COLUMN} column in the header")
            return read_exposed((reader.line_num, row) for row in reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise _fail(f"{path}: cannot read: {error}") from None


def _fail(message: str) -> typer.Exit:
    _err.print(f"error: {message}")
    return typer.Exit(1)

"""`kabuguard simulate`: write a labelled brokerage simulation (docs/simulation.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from kabuguard.simulate.population import MAX_CUSTOMERS
from kabuguard.simulate.presets import PRESETS
from kabuguard.simulate.run import EVENTS_FILE, LABELS_FILE, MANIFEST_FILE, RunOptions, simulate

MAX_DAYS = 366
_out = Console(emoji=False, highlight=False)
_err = Console(stderr=True, emoji=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)


def simulate_command(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for events.jsonl, labels.jsonl, manifest.json.")
    ],
    customers: Annotated[
        int, typer.Option(help=f"Population size, 1 to {MAX_CUSTOMERS:,}.")
    ] = 20_000,
    days: Annotated[int, typer.Option(help=f"Simulated days, 1 to {MAX_DAYS}.")] = 30,
    seed: Annotated[int, typer.Option(help="0 or more; same seed, same bytes.")] = 1,
    preset: Annotated[
        str, typer.Option(help=f"Campaign intensities: {', '.join(PRESETS)}.")
    ] = "2025-04",
) -> None:
    """Simulate customers, markets and attack campaigns as labelled canonical events."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise _fail(f"--customers must be between 1 and {MAX_CUSTOMERS:,} (got {customers})")
    if not 1 <= days <= MAX_DAYS:
        raise _fail(f"--days must be between 1 and {MAX_DAYS} (got {days})")
    if preset not in PRESETS:
        raise _fail(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if seed < 0:
        raise _fail(f"--seed must be 0 or more (got {seed})")
    options = RunOptions(customers, days, seed, PRESETS[preset], out)
    began = time.perf_counter()
    try:
        with Progress(*Progress.get_default_columns(), console=_err, transient=True) as bar:
            task = bar.add_task("simulating days", total=days)
            result = simulate(options, on_day=lambda _day: bar.advance(task))
    except OSError as error:
        raise _fail(f"cannot write to {out}: {error.strerror or error}") from None
    seconds = time.perf_counter() - began
    _summary(result.manifest, result.events, seconds, out)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


def _summary(manifest: dict[str, object], events: int, seconds: float, out: Path) -> None:
    table = Table("campaign", "hijacks", "expected", "attacker events", "loss (yen)")
    campaigns = manifest["campaigns"]
    assert isinstance(campaigns, dict)
    for name, figures in campaigns.items():
        table.add_row(
            name,
            str(figures["hijacks"]),
            f"{figures['expected_hijacks']:.1f}",
            f"{figures['attacker_events']:,}",
            f"{figures['loss_yen']:,}",
        )
    _out.print(table)
    _out.print(
        f"{events:,} events in {seconds:.1f} s ({events / max(seconds, 1e-9):,.0f} events/s): "
        f"{escape(str(out / EVENTS_FILE))}, {LABELS_FILE}, {MANIFEST_FILE}",
        soft_wrap=True,
    )

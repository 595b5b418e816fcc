"""`kabuguard score` and `kabuguard rba import|score`: register(app) adds them to the CLI."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table as RichTable

from kabuguard.replay import replay
from kabuguard.risk.policy import Policy
from kabuguard.scoreboard.baselines import DEFAULT_FREEMAN_THRESHOLD
from kabuguard.scoreboard.inputs import InputError, InputPaths, check_files
from kabuguard.scoreboard.rba import BadRow, ImportSummary, RbaError, import_csv
from kabuguard.scoreboard.report import build_report
from kabuguard.scoreboard.scoring import Scoreboard, ScoreOptions, score
from kabuguard.scoreboard.tables import summary_tables

# Output carries data (campaign names, file paths): never read it as emoji codes or markup.
out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

_THRESHOLD_HELP = "Freeman baseline: ask for a code above this risk (docs/scoreboard.md)."
FreemanThreshold = Annotated[float, typer.Option(min=0.0, help=_THRESHOLD_HELP)]


def register(app: typer.Typer) -> None:
    """Add `score` and the `rba` group to the kabuguard command."""
    app.command("score")(score_command)
    rba_app = typer.Typer(no_args_is_help=True, help="The public RBA login dataset (CSV).")
    rba_app.command("import")(rba_import_command)
    rba_app.command("score")(rba_score_command)
    app.add_typer(rba_app, name="rba")


def score_command(
    events: Annotated[Path, typer.Option(help="events.jsonl (canonical events).")],
    labels: Annotated[Path, typer.Option(help="labels.jsonl (ground truth, one per event).")],
    decisions: Annotated[Path, typer.Option(help="decisions.jsonl from kabuguard replay.")],
    output: Annotated[Path, typer.Option("--out", help="Directory for report.json/md/html.")],
    freeman_threshold: FreemanThreshold = DEFAULT_FREEMAN_THRESHOLD,
) -> None:
    """Score kabuguard's decisions and the baselines against the ground truth, in yen."""
    paths = InputPaths(events, labels, decisions)
    sources = {"events": str(events), "labels": str(labels), "decisions": str(decisions)}
    with _failing_cleanly():
        board = _score_with_progress(paths, ScoreOptions(freeman_threshold))
        _publish(board, sources, output)


def rba_import_command(
    csv_file: Annotated[Path, typer.Argument(metavar="CSV", help="The RBA dataset CSV.")],
    output: Annotated[Path, typer.Option("--out", help="Directory for events/labels.jsonl.")],
) -> None:
    """Convert the RBA dataset into events.jsonl and labels.jsonl; exits 1 if a row was bad."""
    with _failing_cleanly():
        output.mkdir(parents=True, exist_ok=True)
        summary = _import(csv_file, output)
    out.print(
        f"{summary.rows:,} logins written to {output} ({summary.takeovers:,} takeovers, "
        f"{summary.stuffing_successes:,} successful stuffing logins), {summary.bad_rows} bad rows"
    )
    if summary.bad_rows:
        raise typer.Exit(1)


def rba_score_command(
    csv_file: Annotated[Path, typer.Argument(metavar="CSV", help="The RBA dataset CSV.")],
    output: Annotated[Path, typer.Option("--out", help="Directory for report.json/md/html.")],
    freeman_threshold: FreemanThreshold = DEFAULT_FREEMAN_THRESHOLD,
) -> None:
    """Import, replay through the default policy and score the RBA dataset in one go."""
    with _failing_cleanly(), tempfile.TemporaryDirectory(prefix="kabuguard-rba-") as work:
        directory = Path(work)
        summary = _import(csv_file, directory)
        paths = InputPaths(
            directory / "events.jsonl", directory / "labels.jsonl", directory / "decisions.jsonl"
        )
        with paths.events.open("rb") as source, paths.decisions.open("wb") as sink:
            replay(source, sink, Policy.default())
        board = _score_with_progress(paths, ScoreOptions(freeman_threshold))
        _publish(board, {"rba_csv": str(csv_file)}, output)
    if summary.bad_rows:
        err.print(f"[yellow]{summary.bad_rows} bad rows were skipped[/yellow]")
        raise typer.Exit(1)


@contextmanager
def _failing_cleanly() -> Iterator[None]:
    """Bad input ends the command with a message and exit status 1, never a traceback."""
    try:
        yield
    except (InputError, RbaError) as error:
        err.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        message = escape(where + (error.strerror or str(error)))
        err.print(f"[red]error:[/red] {message}", soft_wrap=True)
        raise typer.Exit(1) from None


def _import(csv_file: Path, directory: Path) -> ImportSummary:
    def report(bad: BadRow) -> None:
        where = f"{escape(str(csv_file))} line {bad.line}:"
        err.print(f"[yellow]{where}[/yellow] {escape(bad.message)}", soft_wrap=True)

    if not csv_file.is_file():
        raise InputError(f"RBA dataset file not found: {csv_file}")
    with (
        csv_file.open(encoding="utf-8", newline="") as source,
        (directory / "events.jsonl").open("wb") as events,
        (directory / "labels.jsonl").open("wb") as labels,
    ):
        return import_csv(source, events, labels, on_bad_row=report)


def _score_with_progress(paths: InputPaths, options: ScoreOptions) -> Scoreboard:
    check_files(paths)  # before the progress bar, so an error is the only thing printed
    size = paths.events.stat().st_size
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("scoring", total=size)
        board = score(paths, options, on_progress=_batched(lambda n: bar.advance(task, n)))
    for skipped in board.stats.skipped_examples:
        where = f"{escape(str(paths.events))} line {skipped.number} skipped:"
        err.print(f"[yellow]{where}[/yellow] {escape(skipped.message)}", soft_wrap=True)
    if board.stats.skipped_events:
        err.print(f"[yellow]{board.stats.skipped_events} invalid event lines skipped[/yellow]")
    return board


def _batched(advance: Callable[[int], None]) -> Callable[[int], None]:
    """Move the progress bar once per MiB, not once per line."""
    pending = 0

    def add(size: int) -> None:
        nonlocal pending
        pending += size
        if pending >= 1 << 20:
            advance(pending)
            pending = 0

    return add


def _publish(board: Scoreboard, sources: dict[str, str], directory: Path) -> None:
    # matplotlib takes most of a second to import: only `score` itself pays for it.
    from kabuguard.scoreboard.publish import write_reports  # noqa: PLC0415

    report = build_report(board, sources, datetime.now(UTC))
    written = write_reports(report, directory)
    for table in summary_tables(report):
        shown = RichTable(*table.headers, title=table.title, title_justify="left")
        for row in table.rows:
            shown.add_row(*(escape(cell) for cell in row))
        out.print(shown)
    out.print("written: " + ", ".join(str(path) for path in written), soft_wrap=True)

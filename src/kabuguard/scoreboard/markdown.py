"""report.md: the same tables as the HTML page, readable in a terminal or a pull request."""

from __future__ import annotations

from kabuguard.scoreboard.baselines import BASELINES
from kabuguard.scoreboard.report import Figures
from kabuguard.scoreboard.tables import Table, tables

OPEN_LOOP_NOTE = (
    "The simulation is open-loop: attackers do not react to being stopped, and events of a "
    "hijack after its stop are ignored rather than replaced by what the attacker would have "
    "tried next. The engine still saw them when it decided later events."
)


def render_markdown(report: Figures) -> str:
    parts = ["# kabuguard detection scoreboard", "", *_header(report), ""]
    for table in tables(report):
        parts += [f"## {table.title}", "", *_table(table), ""]
        if table.note:
            parts += [table.note, ""]
    parts += ["## Baselines", ""]
    parts += [f"- **{b}**: {report['baselines'][b]['assumptions']}" for b in BASELINES]
    parts += ["", OPEN_LOOP_NOTE, ""]
    return "\n".join(parts)


def header_lines(report: Figures) -> list[str]:
    """Facts about the run, shared with the HTML page."""
    meta = report["metadata"]
    counts = meta["counts"]
    versions = ", ".join(meta["policy_versions"]) or "none"
    lines = [
        f"Generated {meta['generated_at']} from {_sources(meta['inputs'])}.",
        f"Policy version(s) seen in the decisions: {versions}.",
        f"{counts['events']:,} events from {meta['first_event_at']} to {meta['last_event_at']}; "
        f"{counts['hijacks']:,} hijacks; {counts['customers_logging_in']:,} customers logging in.",
    ]
    if counts["events_skipped_invalid"]:
        lines.append(
            f"{counts['events_skipped_invalid']:,} event lines were not valid events and were "
            "skipped, as `kabuguard replay` skips them."
        )
    if counts["events_out_of_order"]:
        lines.append(
            f"{counts['events_out_of_order']:,} events came earlier than the one before them: "
            "the Freeman baseline assumes time order."
        )
    return lines


def _header(report: Figures) -> list[str]:
    return [f"- {line}" for line in header_lines(report)]


def _sources(inputs: dict[str, str]) -> str:
    return ", ".join(f"{role} `{path}`" for role, path in inputs.items())


def _table(table: Table) -> list[str]:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [line(table.headers), line(tuple("---" for _ in table.headers))] + [
        line(row) for row in table.rows
    ]

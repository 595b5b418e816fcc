"""Writing the report directory: report.json, report.md and report.html."""

from __future__ import annotations

from pathlib import Path

import orjson

from kabuguard.scoreboard.markdown import render_markdown
from kabuguard.scoreboard.page import render_html
from kabuguard.scoreboard.report import Figures


def write_reports(report: Figures, directory: Path) -> tuple[Path, Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = (directory / "report.json", directory / "report.md", directory / "report.html")
    written[0].write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    written[1].write_text(render_markdown(report), encoding="utf-8")
    written[2].write_text(render_html(report), encoding="utf-8")
    return written

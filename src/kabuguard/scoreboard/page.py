"""report.html: one self-contained page (charts embedded as base64 PNG, no external files)."""

from __future__ import annotations

import base64
from html import escape

from kabuguard.scoreboard.baselines import BASELINES
from kabuguard.scoreboard.charts import cumulative_loss, stopped_rates
from kabuguard.scoreboard.markdown import OPEN_LOOP_NOTE, header_lines
from kabuguard.scoreboard.report import Figures
from kabuguard.scoreboard.tables import Table, tables

_STYLE = """
body { font-family: system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif; margin: 2rem auto;
       max-width: 72rem; padding: 0 1rem; color: #1d1d1f; }
table { border-collapse: collapse; margin: 0.5rem 0 0.25rem; font-size: 0.9rem; }
th, td { border: 1px solid #d0d0d7; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f4f8; }
.note { color: #5a5a66; font-size: 0.85rem; }
img { max-width: 100%; }
"""


def render_html(report: Figures) -> str:
    body = [
        "<h1>kabuguard detection scoreboard</h1>",
        "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in header_lines(report)) + "</ul>",
        _chart(cumulative_loss(report), "Cumulative yen lost over time under each defence"),
        _chart(stopped_rates(report), "Share of hijacks stopped per campaign, 95 % CI"),
        *(_table(table) for table in tables(report)),
        "<h2>Baselines</h2><ul>",
        *(
            f"<li><b>{escape(b)}</b>: {escape(report['baselines'][b]['assumptions'])}</li>"
            for b in BASELINES
        ),
        f"</ul><p class='note'>{escape(OPEN_LOOP_NOTE)}</p>",
    ]
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>kabuguard scoreboard</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _chart(png: bytes, description: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<figure><img alt='{escape(description)}' src='data:image/png;base64,{data}'></figure>"


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table.headers)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    note = f"<p class='note'>{escape(table.note)}</p>" if table.note else ""
    return f"<h2>{escape(table.title)}</h2><table><tr>{head}</tr>{rows}</table>{note}"

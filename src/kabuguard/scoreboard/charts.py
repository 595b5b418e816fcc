"""The report's charts, drawn with matplotlib off-screen and returned as PNG bytes.

Figures are built with the object API rather than pyplot: no global figure registry, no
display backend to choose, nothing left open between reports.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from kabuguard.labels import Campaign
from kabuguard.scoreboard.baselines import Defence
from kabuguard.scoreboard.report import Figures
from kabuguard.scoreboard.tables import COMPARED, figures_of

JST = timezone(timedelta(hours=9), "JST")
# Drawn bottom to top: equal lines overlap, so the reference is wide and kabuguard is on top.
_LINES: dict[Defence, dict[str, Any]] = {
    Defence.NO_DEFENCE: {"linewidth": 4.0, "alpha": 0.5},
    Defence.SMS_OTP_ONLY: {"linewidth": 1.8, "linestyle": "--"},
    Defence.FREEMAN: {"linewidth": 1.8, "linestyle": ":"},
    Defence.KABUGUARD: {"linewidth": 2.0},
}
_COLOURS = {
    Defence.KABUGUARD: "#1b6ac9",
    Defence.SMS_OTP_ONLY: "#e08a1e",
    Defence.FREEMAN: "#3c9a5f",
    Defence.NO_DEFENCE: "#b3261e",
}


def cumulative_loss(report: Figures) -> bytes:
    """Yen lost over time, cumulated, under each defence (times in JST).

    Each line starts at zero at the first event and runs flat to the last, so a loss that all
    falls within one hour still shows as a step.
    """
    timeline, meta = report["loss_timeline"], report["metadata"]
    figure = Figure(figsize=(9, 4.2), layout="constrained")
    axes = figure.subplots()
    if not timeline["hours"]:
        axes.text(0.5, 0.5, "No yen lost in these events", ha="center", va="center")
        axes.set_axis_off()
        return _png(figure)
    bins = [datetime.fromisoformat(hour) for hour in timeline["hours"]]
    start = min(datetime.fromisoformat(meta["first_event_at"]), bins[0])
    end = max(datetime.fromisoformat(meta["last_event_at"]), bins[-1])
    times = _jst([start, *bins, end])
    for defence, style in _LINES.items():
        totals = [0, *accumulate(timeline["yen_lost"][defence])]
        line = [*totals, totals[-1]]
        axes.step(times, line, where="post", label=defence, color=_COLOURS[defence], **style)
    axes.set_title("Cumulative yen lost")
    axes.set_ylabel("yen")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(lambda value, _position: f"¥{value:,.0f}")
    axes.set_xlabel("time (JST)")
    axes.grid(alpha=0.3)
    axes.legend()
    return _png(figure)


def _jst(times: list[datetime]) -> np.ndarray:
    """Wall-clock JST as naive datetime64: the axis then reads as Japan time, no tz juggling."""
    return np.array(
        [time.astimezone(JST).replace(tzinfo=None) for time in times], dtype="datetime64[s]"
    )


def stopped_rates(report: Figures) -> bytes:
    """Share of hijacks stopped per campaign, with 95 % Wilson intervals as whiskers."""
    shown = COMPARED[:-1]  # no_defence stops nothing
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    axes = figure.subplots()
    width = 0.8 / len(shown)
    for offset, defence in enumerate(shown):
        campaigns = figures_of(report, defence)["campaigns"]
        for position, campaign in enumerate(Campaign):
            figures = campaigns[campaign]
            if figures["stopped_rate"] is None:
                continue
            value = figures["stopped_rate"] * 100
            low, high = (bound * 100 for bound in figures["stopped_rate_ci95"])
            axes.bar(
                position + (offset - (len(shown) - 1) / 2) * width,
                value,
                width,
                yerr=[[value - low], [high - value]],
                capsize=3,
                color=_COLOURS[defence],
                label=defence.value if position == _first_with_hijacks(campaigns) else None,
            )
    counts = report["campaigns"]
    axes.set_xticks(
        range(len(Campaign)), [f"{c}\nn={counts[c]['hijacks']}" for c in Campaign], fontsize=8
    )
    axes.set_ylim(0, 105)
    axes.set_ylabel("hijacks stopped (%)")
    axes.set_title("Hijacks stopped before the harm, by campaign (95 % CI)")
    axes.grid(axis="y", alpha=0.3)
    if any(counts[c]["hijacks"] for c in Campaign):
        axes.legend()
    return _png(figure)


def _first_with_hijacks(campaigns: Figures) -> int:
    return next(i for i, c in enumerate(Campaign) if campaigns[c]["stopped_rate"] is not None)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()

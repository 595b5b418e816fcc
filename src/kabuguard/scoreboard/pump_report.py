"""The `pump_guard` figures of report.json (docs/scoreboard.md lists the keys)."""

from __future__ import annotations

from typing import Any

from kabuguard.scoreboard.metrics import percentile, rate, wilson
from kabuguard.scoreboard.pumps import ALERT_WITHIN_MINUTES, PumpTracker

_DIGITS = 6


def pump_figures(tracker: PumpTracker, defence: str) -> dict[str, Any]:
    buys, stopped = tracker.buys[defence], tracker.stopped[defence]
    minutes = tracker.alert_minutes() if defence == "kabuguard" else []
    waves = len(tracker.alert_minutes())
    on_time = sum(1 for m in minutes if m is not None and m <= ALERT_WITHIN_MINUTES)
    alerted = [max(m, 0.0) for m in minutes if m is not None]
    return {
        "fraudulent_buys": buys,
        "fraudulent_buys_stopped": stopped,
        "fraudulent_buys_stopped_rate": _round(rate(stopped, buys)),
        "fraudulent_buys_stopped_rate_ci95": _interval(wilson(stopped, buys)),
        "pumped_symbols": waves,
        "alert_within_minutes": ALERT_WITHIN_MINUTES,
        "alerted": len(alerted),
        "alerted_in_time": on_time,
        "alerted_in_time_rate": _round(rate(on_time, waves)),
        "alerted_in_time_rate_ci95": _interval(wilson(on_time, waves)),
        "alert_minutes_after_third_buy_p50": _round(percentile(alerted, 50)),
        "alert_minutes_after_third_buy_max": _round(max(alerted, default=None)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)


def _interval(found: tuple[float, float] | None) -> list[float] | None:
    return None if found is None else [round(found[0], _DIGITS), round(found[1], _DIGITS)]

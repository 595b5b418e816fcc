"""The report as JSON values: kabuguard's figures at the top, each baseline's under `baselines`.

The layout is documented key by key in docs/scoreboard.md; rates carry `_ci95` intervals, yen
are integers, and every campaign is present even with no hijacks so a reader always sees n.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from kabuguard.labels import Actor, Campaign, LegitTag
from kabuguard.scoreboard.baselines import BASELINES, Defence
from kabuguard.scoreboard.bursts import RECOGNISED_WITHIN, BurstTracker
from kabuguard.scoreboard.freeman import SIX_MONTHS
from kabuguard.scoreboard.hijacks import Hijack, Stop
from kabuguard.scoreboard.metrics import (
    BOOTSTRAP_REPLICATES,
    BOOTSTRAP_SEED,
    bootstrap_prevented_ratio,
    percentile,
    prevented_ratio,
    rate,
    wilson,
)
from kabuguard.scoreboard.pump_report import pump_figures
from kabuguard.scoreboard.scoring import Scoreboard
from kabuguard.scoreboard.tally import Friction, Tally

SCHEMA_VERSION = 1
UNTAGGED = "untagged"
_DIGITS = 6

Figures = dict[str, Any]
_Pairs = list[tuple[Hijack, Stop]]


def build_report(board: Scoreboard, sources: dict[str, str], generated_at: datetime) -> Figures:
    groups: defaultdict[Campaign, list[str]] = defaultdict(list)
    for key, hijack in board.truth.hijacks.items():
        groups[hijack.campaign].append(key)
    results = {defence: _defence(board, defence, groups) for defence in Defence}
    own = results[Defence.KABUGUARD]
    return {
        "schema_version": SCHEMA_VERSION,
        "metadata": _metadata(board, sources, generated_at),
        **own,
        "baselines": {
            b.value: results[b] | {"assumptions": _assumptions(b, board)} for b in BASELINES
        },
        "versus": {b.value: _versus(own, results[b]) for b in BASELINES},
        "loss_timeline": _timeline(board),
    }


def _assumptions(baseline: Defence, board: Scoreboard) -> str:
    match baseline:
        case Defence.NO_DEFENCE:
            return "Nothing is ever stopped: every hijack runs to its end."
        case Defence.SMS_OTP_ONLY:
            return (
                "Every password or passkey login asks for an SMS code (any_mfa): a relay passes "
                "it on, any other attacker is stopped at the hijack's first login. 100 % of "
                "legitimate logins are challenged by construction; orders and withdrawals are "
                "never held."
            )
        case _:
            return (
                "Freeman et al. (NDSS 2016) login model (domain.md 4.1) at each password or "
                f"passkey step; an SMS code (any_mfa) when risk > {board.options.freeman_threshold}"
                f"; history from successful logins only, forgotten after {SIX_MONTHS.days} days; "
                "a customer's first remembered login is not scored. Orders and withdrawals are "
                "never held."
            )


def _defence(board: Scoreboard, defence: Defence, groups: dict[Campaign, list[str]]) -> Figures:
    tally = board.tallies[defence]
    truth = board.truth

    def pairs(keys: list[str]) -> _Pairs:
        return [(truth.hijacks[key], tally.stops.get(key, Stop())) for key in keys]

    campaigns = {
        c.value: _campaign(pairs(groups.get(c, [])), truth.campaign_events[c], truth.loose_yen[c])
        for c in Campaign
    }
    everything = pairs(list(truth.hijacks))
    totals = _campaign(everything, sum(truth.campaign_events.values()), truth.loose_yen.total())
    return {
        "campaigns": campaigns,
        "totals": totals,
        "legitimate": _legitimate(tally, board.customers),
        "stuffing_bursts": _bursts(board.bursts, defence),
        "pump_guard": pump_figures(board.pumps, defence.value),
    }


def _bursts(tracker: BurstTracker, defence: Defence) -> Figures:
    found = tracker.attempts_to_recognise(defence.value)
    in_time = sum(1 for n in found if n is not None and n <= RECOGNISED_WITHIN)
    recognised = [float(n) for n in found if n is not None]
    return {
        "bursts": len(found),
        "attempts": sum(burst.attempts for burst in tracker.bursts),
        "recognised": len(recognised),
        "recognised_within": RECOGNISED_WITHIN,
        "recognised_in_time": in_time,
        "recognised_in_time_rate": _round(rate(in_time, len(found))),
        "recognised_in_time_rate_ci95": _interval(wilson(in_time, len(found))),
        "attempts_to_recognise_p50": _round(percentile(recognised, 50)),
        "attempts_to_recognise_max": max(recognised, default=None),
    }


def _campaign(pairs: _Pairs, events: int, loose_yen: int) -> Figures:
    stopped = sum(stop.stopped(hijack) for hijack, stop in pairs)
    detected = [(hijack, stop) for hijack, stop in pairs if stop.event is not None]
    minutes = [
        (stop.at - hijack.first_at).total_seconds() / 60
        for hijack, stop in detected
        if stop.at is not None
    ]
    to_detect = [float(stop.event) for _, stop in detected if stop.event is not None]
    harm = [hijack.yen for hijack, _ in pairs]
    lost = [stop.yen_lost for _, stop in pairs]
    no_defence, kept = sum(harm) + loose_yen, sum(lost) + loose_yen
    return {
        "hijacks": len(pairs),
        "events": events,
        "stopped": stopped,
        "stopped_rate": _round(rate(stopped, len(pairs))),
        "stopped_rate_ci95": _interval(wilson(stopped, len(pairs))),
        "detected": len(detected),
        "events_to_detect_p50": _round(percentile(to_detect, 50)),
        "minutes_to_detect_p50": _round(percentile(minutes, 50)),
        "minutes_to_detect_p90": _round(percentile(minutes, 90)),
        "yen_lost": kept,
        "yen_lost_no_defence": no_defence,
        "yen_prevented": no_defence - kept,
        "yen_loss_prevented_rate": _round(prevented_ratio(harm, lost, loose_yen)),
        "yen_loss_prevented_rate_ci95": _interval(bootstrap_prevented_ratio(harm, lost, loose_yen)),
    }


def _legitimate(tally: Tally, customers: set[str]) -> Figures:
    challenged = len(tally.customers_challenged)
    by_tag = {
        (tag.value if tag else UNTAGGED): _friction(tally.friction.get(tag, Friction()))
        for tag in (None, *LegitTag)
    }
    return {
        **_friction(tally.total_friction()),
        "customers": len(customers),
        "customers_challenged": challenged,
        "customers_challenged_rate": _round(rate(challenged, len(customers))),
        "customers_challenged_rate_ci95": _interval(wilson(challenged, len(customers))),
        "by_tag": by_tag,
    }


def _friction(friction: Friction) -> Figures:
    figures: Figures = {}
    for noun, total, name, met in (
        ("logins", friction.logins, "logins_challenged", friction.logins_challenged),
        ("orders", friction.orders, "orders_held", friction.orders_held),
        ("withdrawals", friction.withdrawals, "withdrawals_held", friction.withdrawals_held),
    ):
        figures[noun] = total
        figures[name] = met
        figures[f"{name}_rate"] = _round(rate(met, total))
        figures[f"{name}_rate_ci95"] = _interval(wilson(met, total))
    return figures


def _versus(own: Figures, baseline: Figures) -> Figures:
    """kabuguard's figures as ratios and differences against one baseline's."""
    return {
        **_compare(own["totals"], baseline["totals"]),
        "logins_challenged_rate_kabuguard": own["legitimate"]["logins_challenged_rate"],
        "logins_challenged_rate_baseline": baseline["legitimate"]["logins_challenged_rate"],
        "campaigns": {
            name: _compare(own["campaigns"][name], baseline["campaigns"][name])
            for name in own["campaigns"]
        },
    }


def _compare(own: Figures, baseline: Figures) -> Figures:
    kept, theirs = own["yen_lost"], baseline["yen_lost"]
    ours_rate, their_rate = own["stopped_rate"], baseline["stopped_rate"]
    return {
        "yen_lost_kabuguard": kept,
        "yen_lost_baseline": theirs,
        # Share of the baseline's loss kabuguard avoids; negative when kabuguard loses more.
        "yen_loss_prevented_vs_baseline": _round((theirs - kept) / theirs if theirs else None),
        "stopped_kabuguard": own["stopped"],
        "stopped_baseline": baseline["stopped"],
        "stopped_rate_difference": (None if ours_rate is None else _round(ours_rate - their_rate)),
    }


def _timeline(board: Scoreboard) -> Figures:
    """Yen lost per UTC hour under each defence, for the hours in which anything was lost."""
    hours = sorted(board.tallies[Defence.NO_DEFENCE].lost_by_hour)
    return {
        "bin": "hour",
        "hours": [hour.isoformat() for hour in hours],
        "yen_lost": {
            defence.value: [tally.lost_by_hour.get(hour, 0) for hour in hours]
            for defence, tally in board.tallies.items()
        },
    }


def _metadata(board: Scoreboard, sources: dict[str, str], generated_at: datetime) -> Figures:
    stats = board.stats
    return {
        "generated_at": generated_at.isoformat(),
        "inputs": sources,
        "policy_versions": sorted(stats.policy_versions),
        "counts": {
            "events": stats.events,
            "events_skipped_invalid": stats.skipped_events,
            "events_out_of_order": stats.out_of_order,
            **{f"{actor.value}_events": board.actors[actor] for actor in Actor},
            "hijacks": len(board.truth.hijacks),
            "customers_logging_in": len(board.customers),
        },
        "skipped_events": [
            {"line": line.number, "message": line.message} for line in stats.skipped_examples
        ],
        "first_event_at": stats.first_at.isoformat() if stats.first_at else None,
        "last_event_at": stats.last_at.isoformat() if stats.last_at else None,
        "freeman": {
            "threshold": board.options.freeman_threshold,
            "memory_days": SIX_MONTHS.days,
        },
        "statistics": {
            "rates_ci95": "Wilson score interval",
            "yen_loss_prevented_rate_ci95": (
                f"percentile bootstrap over hijacks, {BOOTSTRAP_REPLICATES} replicates, "
                f"seed {BOOTSTRAP_SEED}"
            ),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)


def _interval(bounds: tuple[float, float] | None) -> list[float] | None:
    return None if bounds is None else [round(bounds[0], _DIGITS), round(bounds[1], _DIGITS)]

"""The report's tables, built from the JSON report so Markdown and HTML say the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kabuguard.labels import Campaign, LegitTag
from kabuguard.scoreboard.baselines import BASELINES, Defence
from kabuguard.scoreboard.report import UNTAGGED, Figures

COMPARED = (Defence.KABUGUARD, Defence.SMS_OTP_ONLY, Defence.FREEMAN, Defence.NO_DEFENCE)
_NONE = "–"
_TOTALS = "totals"
_ROWS = (*(campaign.value for campaign in Campaign), _TOTALS)


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


def figures_of(report: Figures, defence: Defence) -> Figures:
    found: Figures = report if defence is Defence.KABUGUARD else report["baselines"][defence]
    return found


def tables(report: Figures) -> tuple[Table, ...]:
    return (
        _stopped(report),
        _losses(report),
        _detection(report),
        _legitimate(report),
        _by_tag(report),
        _bursts(report),
        pump_table(report),
        _versus(report),
    )


def summary_tables(report: Figures) -> tuple[Table, ...]:
    """The few tables the terminal shows; the files hold them all."""
    return (
        _stopped(report),
        _losses(report),
        _legitimate(report),
        _bursts(report),
        pump_table(report),
        _versus(report),
    )


def percent(value: float | None, ci: list[float] | None = None) -> str:
    if value is None:
        return _NONE
    shown = f"{value * 100:.1f} %"
    return f"{shown} [{ci[0] * 100:.1f}–{ci[1] * 100:.1f}]" if ci else shown


def yen(value: int) -> str:
    return f"¥{value:,}"


def _number(value: Any, unit: str = "") -> str:
    return _NONE if value is None else f"{value:,.1f}{unit}"


def _stopped(report: Figures) -> Table:
    rows = []
    for campaign in _ROWS:
        cells = [
            _row_name(campaign),
            str(_campaign(report, Defence.KABUGUARD, campaign)["hijacks"]),
        ]
        for defence in COMPARED[:-1]:
            figures = _campaign(report, defence, campaign)
            cells.append(percent(figures["stopped_rate"], figures["stopped_rate_ci95"]))
        rows.append(tuple(cells))
    return Table(
        "Hijacks stopped before the harm, by campaign [95 % CI]",
        ("campaign", "hijacks", *COMPARED[:-1]),
        tuple(rows),
        "no_defence stops no hijack by definition. A hijack is stopped when a deny, a hold or a "
        "challenge the attacker cannot pass comes at or before its goal event.",
    )


def _losses(report: Figures) -> Table:
    rows = []
    for campaign in _ROWS:
        own = _campaign(report, Defence.KABUGUARD, campaign)
        cells = [_row_name(campaign), yen(own["yen_lost_no_defence"])]
        cells += [yen(_campaign(report, d, campaign)["yen_lost"]) for d in COMPARED[:-1]]
        cells.append(percent(own["yen_loss_prevented_rate"], own["yen_loss_prevented_rate_ci95"]))
        rows.append(tuple(cells))
    return Table(
        "Yen lost or moved out, by campaign",
        ("campaign", "no defence", *COMPARED[:-1], "kabuguard prevented [95 % CI]"),
        tuple(rows),
        "Intervals on yen are a percentile bootstrap over hijacks.",
    )


def _detection(report: Figures) -> Table:
    rows = []
    for campaign in _ROWS:
        figures = _campaign(report, Defence.KABUGUARD, campaign)
        rows.append(
            (
                _row_name(campaign),
                f"{figures['detected']} of {figures['hijacks']}",
                _number(figures["events_to_detect_p50"]),
                _number(figures["minutes_to_detect_p50"], " min"),
                _number(figures["minutes_to_detect_p90"], " min"),
            )
        )
    return Table(
        "Time to detection (kabuguard)",
        ("campaign", "detected", "events p50", "minutes p50", "minutes p90"),
        tuple(rows),
        "From the hijack's first event to the first stopping decision, before or after the goal.",
    )


def _legitimate(report: Figures) -> Table:
    measures = (
        ("logins challenged", "logins_challenged"),
        ("orders held or denied", "orders_held"),
        ("withdrawals held or denied", "withdrawals_held"),
        ("customers challenged at least once", "customers_challenged"),
    )
    rows = []
    for title, key in measures:
        cells = [title]
        for defence in COMPARED:
            legit = figures_of(report, defence)["legitimate"]
            cells.append(percent(legit[f"{key}_rate"], legit[f"{key}_rate_ci95"]))
        rows.append(tuple(cells))
    legit = report["legitimate"]
    return Table(
        "Friction for legitimate customers",
        ("measure", *COMPARED),
        tuple(rows),
        f"{legit['logins']:,} logins, {legit['orders']:,} orders and {legit['withdrawals']:,} "
        f"withdrawals by {legit['customers']:,} customers. sms_otp_only challenges every login "
        "by construction.",
    )


def _bursts(report: Figures) -> Table:
    rows = []
    for defence in COMPARED:
        found = figures_of(report, defence)["stuffing_bursts"]
        rows.append(
            (
                defence.value,
                f"{found['recognised']} of {found['bursts']}",
                percent(found["recognised_in_time_rate"], found["recognised_in_time_rate_ci95"]),
                _number(found["attempts_to_recognise_p50"]),
                _number(found["attempts_to_recognise_max"]),
            )
        )
    within = report["stuffing_bursts"]["recognised_within"]
    return Table(
        "Credential-stuffing bursts recognised",
        ("defence", "recognised", f"within {within} attempts", "attempts p50", "attempts max"),
        tuple(rows),
        "A burst: stuffing password steps less than 30 minutes apart. Recognised at its first "
        "attempt answered with a challenge or worse.",
    )


def _by_tag(report: Figures) -> Table:
    rows = []
    for tag in (UNTAGGED, *LegitTag):
        own = report["legitimate"]["by_tag"][tag]
        freeman = report["baselines"][Defence.FREEMAN]["legitimate"]["by_tag"][tag]
        rows.append(
            (
                tag,
                f"{own['logins']:,}",
                percent(own["logins_challenged_rate"], own["logins_challenged_rate_ci95"]),
                percent(freeman["logins_challenged_rate"], freeman["logins_challenged_rate_ci95"]),
                percent(own["orders_held_rate"], own["orders_held_rate_ci95"]),
                percent(own["withdrawals_held_rate"], own["withdrawals_held_rate_ci95"]),
            )
        )
    return Table(
        "False alarms by legitimate behaviour",
        (
            "behaviour",
            "logins",
            "kabuguard challenged",
            "freeman challenged",
            "kabuguard orders held",
            "kabuguard withdrawals held",
        ),
        tuple(rows),
    )


def _versus(report: Figures) -> Table:
    rows = []
    for baseline in BASELINES:
        versus = report["versus"][baseline]
        rows.append(
            (
                baseline,
                yen(versus["yen_lost_baseline"]),
                yen(versus["yen_lost_kabuguard"]),
                percent(versus["yen_loss_prevented_vs_baseline"]),
                f"{versus['stopped_baseline']} → {versus['stopped_kabuguard']}",
                f"{percent(versus['logins_challenged_rate_baseline'])} → "
                f"{percent(versus['logins_challenged_rate_kabuguard'])}",
            )
        )
    return Table(
        "kabuguard against each baseline",
        (
            "baseline",
            "baseline lost",
            "kabuguard lost",
            "loss prevented vs baseline",
            "hijacks stopped",
            "logins challenged",
        ),
        tuple(rows),
        "A negative share means kabuguard lets more through than the baseline.",
    )


def _campaign(report: Figures, defence: Defence, campaign: str) -> Figures:
    figures = figures_of(report, defence)
    found: Figures = figures["totals"] if campaign == _TOTALS else figures["campaigns"][campaign]
    return found


def _row_name(campaign: str) -> str:
    return "all campaigns" if campaign == _TOTALS else campaign


def pump_table(report: Figures) -> Table:
    """Pump buys stopped or held, and the symbol alert's delay (scoreboard/pumps.py)."""
    rows = []
    for defence in COMPARED:
        found = figures_of(report, defence)["pump_guard"]
        rows.append(
            (
                defence.value,
                f"{found['fraudulent_buys_stopped']} of {found['fraudulent_buys']}",
                percent(
                    found["fraudulent_buys_stopped_rate"],
                    found["fraudulent_buys_stopped_rate_ci95"],
                ),
                f"{found['alerted_in_time']} of {found['pumped_symbols']}",
                _number(found["alert_minutes_after_third_buy_p50"], " min"),
            )
        )
    within = report["pump_guard"]["alert_within_minutes"]
    return Table(
        "Pump campaigns: fraudulent buys and symbol alerts",
        ("defence", "buys stopped", "rate", f"alert ≤ {within:.0f} min", "alert p50"),
        tuple(rows),
        "A fraudulent buy is stopped when the hijack was held, denied or challenged out at or "
        "before it. The alert is measured from the third hijacked buy of the pumped symbol.",
    )

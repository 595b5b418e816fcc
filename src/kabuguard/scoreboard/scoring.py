"""One streaming pass: kabuguard's decisions and every baseline scored on the same events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kabuguard.labels import Actor
from kabuguard.scoreboard.baselines import (
    DEFAULT_FREEMAN_THRESHOLD,
    Baseline,
    Defence,
    FreemanBaseline,
    NoDefence,
    SmsOtpOnly,
)
from kabuguard.scoreboard.bursts import BurstTracker
from kabuguard.scoreboard.hijacks import GroundTruth, HijackError
from kabuguard.scoreboard.inputs import InputError, InputPaths, InputStats, read_rows
from kabuguard.scoreboard.outcomes import is_login
from kabuguard.scoreboard.pumps import PumpTracker
from kabuguard.scoreboard.tally import Tally


@dataclass(frozen=True, slots=True)
class ScoreOptions:
    freeman_threshold: float = DEFAULT_FREEMAN_THRESHOLD


@dataclass
class Scoreboard:
    """Everything the report is built from."""

    options: ScoreOptions
    stats: InputStats = field(default_factory=InputStats)
    truth: GroundTruth = field(default_factory=GroundTruth)
    tallies: dict[Defence, Tally] = field(default_factory=lambda: {d: Tally() for d in Defence})
    customers: set[str] = field(default_factory=set)  # customers with at least one login
    actors: dict[Actor, int] = field(default_factory=lambda: dict.fromkeys(Actor, 0))
    bursts: BurstTracker = field(default_factory=BurstTracker)
    pumps: PumpTracker = field(default_factory=PumpTracker)


def score(
    paths: InputPaths,
    options: ScoreOptions | None = None,
    *,
    on_progress: Callable[[int], None] = lambda _bytes: None,
) -> Scoreboard:
    """Score the files; raises InputError when they cannot be scored together."""
    board = Scoreboard(options or ScoreOptions())
    baselines: dict[Defence, Baseline] = {
        Defence.NO_DEFENCE: NoDefence(),
        Defence.SMS_OTP_ONLY: SmsOtpOnly(),
        Defence.FREEMAN: FreemanBaseline(board.options.freeman_threshold),
    }
    kabuguard = board.tallies[Defence.KABUGUARD]
    for row in read_rows(paths, board.stats, on_progress=on_progress):
        event, label = row.event, row.label
        try:
            hijack = board.truth.observe(event, label)
        except HijackError as error:
            raise InputError(f"{paths.labels} line {row.label_line}: {error}") from None
        board.actors[label.actor] += 1
        if label.actor is Actor.CUSTOMER and event.customer_id and is_login(event):
            board.customers.add(event.customer_id)
        happened = {Defence.KABUGUARD.value: kabuguard.observe(event, label, row.ruling, hijack)}
        rulings = {Defence.KABUGUARD.value: row.ruling}
        for defence, baseline in baselines.items():
            ruling = rulings[defence.value] = baseline.rule(event)
            went_ahead = board.tallies[defence].observe(event, label, ruling, hijack)
            happened[defence.value] = went_ahead
            if went_ahead:
                baseline.happened(event)
        board.bursts.observe(event, label, rulings)
        board.pumps.observe(event, label, rulings, happened)
    try:
        board.truth.check_complete()
    except HijackError as error:
        raise InputError(f"{paths.labels}: {error}") from None
    return board

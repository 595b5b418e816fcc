"""One simulation run: build the world, walk the days in five-minute windows, write the files.

Order inside a day: prices for the whole day (into the buckets), the customers' plan, then per
window the customers' items and the attacks that start in it, then the window is written.
Everything random is derived from the seed, so the same arguments give byte-identical files.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from kabuguard.simulate.accounts import open_accounts
from kabuguard.simulate.behaviour import Customers
from kabuguard.simulate.campaigns.scene import Attack, Ledger, Scene
from kabuguard.simulate.campaigns.schedule import Schedule, plan_attacks
from kabuguard.simulate.clock import DAY, Calendar, Timestamps
from kabuguard.simulate.instruments import universe
from kabuguard.simulate.manifest import build_manifest
from kabuguard.simulate.market import PriceBook
from kabuguard.simulate.plan import DayPlanner
from kabuguard.simulate.population import build_population
from kabuguard.simulate.presets import Preset
from kabuguard.simulate.stream import WINDOW, EventStream
from kabuguard.simulate.trading import OrderPlanner

EVENTS_FILE, LABELS_FILE, MANIFEST_FILE = "events.jsonl", "labels.jsonl", "manifest.json"
_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class RunOptions:
    customers: int
    days: int
    seed: int
    preset: Preset
    out: Path


@dataclass(frozen=True, slots=True)
class RunResult:
    events: int
    manifest: dict[str, object]


def simulate(options: RunOptions, on_day: Callable[[int], None] = lambda _day: None) -> RunResult:
    """Write events.jsonl, labels.jsonl and manifest.json into `options.out`.

    `on_day` is called after each simulated day (for a progress bar).
    """
    preset, seed = options.preset, options.seed
    calendar = Calendar(preset.start, options.days)
    stamp = Timestamps(calendar)
    instruments = universe()
    population = build_population(options.customers, preset.factor_mix, seed)
    accounts = open_accounts(population, instruments, seed)
    book = PriceBook(calendar, instruments, seed)
    schedule = plan_attacks(preset, population, accounts, book, calendar=calendar, seed=seed)
    options.out.mkdir(parents=True, exist_ok=True)
    with (
        (options.out / EVENTS_FILE).open("wb", buffering=_BUFFER) as events,
        (options.out / LABELS_FILE).open("wb", buffering=_BUFFER) as labels,
    ):
        stream = EventStream(events, labels)
        customers = Customers(population, accounts, book.quotes, stamp, stream)
        scene = Scene(stream, stamp, population, accounts, book, book.quotes, customers, Ledger())
        orders = OrderPlanner(population, accounts, book)
        _walk(DayPlanner(calendar, population, accounts, orders, seed), scene, schedule, on_day)
        stream.close()
    manifest = build_manifest(options, calendar, schedule, scene.ledger, stream)
    document = orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
    (options.out / MANIFEST_FILE).write_bytes(document)
    return RunResult(stream.count, manifest)


def _walk(
    planner: DayPlanner, scene: Scene, schedule: Schedule, on_day: Callable[[int], None]
) -> None:
    book, stream = scene.book, scene.stream
    yen = np.array([instrument.yen for instrument in book.instruments])
    pending: deque[Attack] = deque(schedule.attacks)
    book.emit_reference(stream, scene.stamp)
    for day in range(planner.calendar.days):
        prices = book.simulate_day(day, stream, scene.stamp)
        holdings = scene.accounts.holdings_yen(prices.grid[:, 0] * yen)
        scene.customers.start_day(planner.plan(day, prices, holdings))
        for end in range(day * DAY + WINDOW, (day + 1) * DAY + 1, WINDOW):
            scene.customers.render_until(end)
            while pending and pending[0].start < end:
                pending.popleft().run(scene, prices)
            stream.flush_before(end)
        scene.customers.render_until()  # sessions still open at midnight
        on_day(day)

"""A symbol's buyer window: what it keeps, for how long, and how small it stays when stored."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import orjson
import pytest

from kabuguard.risk.policy import Policy
from kabuguard.state.coordination import (
    BUYER_CAP,
    DAY_SECONDS,
    DAYS,
    HASHED_DAYS,
    WINDOW_SECONDS,
    Buyer,
    SymbolWindow,
)
from kabuguard.state.guard_codec import dump_window, load_window

KNOBS = Policy.default().guard.coordination
NOON = 20_000 * DAY_SECONDS + 3 * 3600  # a day's 12:00 JST, in epoch seconds
RISKY_KEYS = ("dev:d-1", "ip:203.0.113.5")


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_only_a_risky_buyers_ips_and_devices_are_kept() -> None:
    window = SymbolWindow()
    window.add("calm", NOON, KNOBS.calm_weight, ("dev:d-2", "ip:203.0.113.9"))
    window.add("risky", NOON, 1.0, RISKY_KEYS)
    assert window.buyers["calm"][2] == ()
    assert window.risky_keys(NOON, KNOBS.window_minutes) == set(RISKY_KEYS)


def test_a_risky_buyer_keeps_the_keys_of_every_buy_after_it_turned_risky() -> None:
    """Risky, then calm: both buys' keys (the buyer is risky). Calm, then risky: the calm
    buy's were not kept, and only the risky session's are pivoted on."""
    window = SymbolWindow()
    window.add("c-1", NOON, 1.0, RISKY_KEYS)
    window.add("c-1", NOON - 60, KNOBS.calm_weight, ("ip:198.51.100.7",))  # arrives late
    assert window.buyers["c-1"] == (NOON, 1.0, ("dev:d-1", "ip:198.51.100.7", "ip:203.0.113.5"))
    window.add("c-2", NOON, KNOBS.calm_weight, ("dev:d-3",))
    window.add("c-2", NOON + 60, 1.0, ("ip:203.0.113.6",))
    merged: Buyer = (NOON + 60, 1.0, ("ip:203.0.113.6",))
    assert window.buyers["c-2"] == merged


def test_the_window_keeps_the_newest_buyers_up_to_its_cap() -> None:
    window = SymbolWindow()
    for number in range(BUYER_CAP + 10):
        window.add(f"c-{number}", NOON + number, KNOBS.calm_weight, ())
    assert len(window.buyers) == BUYER_CAP
    assert min(at for at, _, _ in window.buyers.values()) == NOON + 10
    window.prune(NOON + WINDOW_SECONDS + 99)  # c-0 to c-99 are now older than the longest window
    assert set(window.buyers) == {f"c-{n}" for n in range(100, BUYER_CAP + 10)}


def test_over_the_cap_the_first_of_the_oldest_buyers_goes() -> None:
    """Buyers of the same second are common (20 events a second): the one dropped is the
    first of them in the window's order, so replay and the server drop the same buyer."""
    window = SymbolWindow()
    window.add("late", NOON + 5, KNOBS.calm_weight, ())
    for number in range(BUYER_CAP):
        window.add(f"c-{number}", NOON, KNOBS.calm_weight, ())
    assert len(window.buyers) == BUYER_CAP
    assert "c-0" not in window.buyers
    assert list(window.buyers)[:2] == ["late", "c-1"]


def test_settled_days_are_counted_and_the_normal_is_their_mean() -> None:
    window = SymbolWindow()
    for day, buyers in enumerate((4, 8, 6)):
        for number in range(buyers):
            window.add(f"c-{number}", NOON + day * DAY_SECONDS, KNOBS.calm_weight, ())
    today = NOON + 3 * DAY_SECONDS
    window.add("c-0", today, KNOBS.calm_weight, ())
    assert sorted(window.days) == [20_002, 20_003][-HASHED_DAYS:]
    assert window.counts == {20_000: 4, 20_001: 8}
    facts = window.facts("c-0", _at(today), KNOBS)
    assert facts.normal_buyers == 6.0 * KNOBS.window_minutes / 300  # (4 + 8 + 6) / 3 per window
    assert facts.buyer_already_counted


def test_a_late_buy_on_a_settled_day_changes_nothing_and_old_days_are_forgotten() -> None:
    window = SymbolWindow()
    window.add("c-1", NOON, KNOBS.calm_weight, ())
    window.add("c-1", NOON + 5 * DAY_SECONDS, KNOBS.calm_weight, ())
    window.add("c-2", NOON + 60, KNOBS.calm_weight, ())  # the first day, reported days late
    window.add("c-3", NOON + 2 * DAY_SECONDS, KNOBS.calm_weight, ())  # a day without buyers
    assert window.counts == {20_000: 1}
    # A late order's own day is settled: its count, not zero, is that day's buyers.
    assert (
        window.facts("c-2", _at(NOON + 60), KNOBS).normal_buyers == 1 * KNOBS.window_minutes / 300
    )
    window.add("c-1", NOON + (DAYS + 1) * DAY_SECONDS, KNOBS.calm_weight, ())
    assert 20_000 not in window.counts


def test_a_busy_symbols_stored_window_stays_small_and_round_trips() -> None:
    window = SymbolWindow()
    for day in range(DAYS):
        for number in range(300):
            at = NOON + day * DAY_SECONDS + number
            weight = 1.0 if number % 50 == 0 else KNOBS.calm_weight
            window.add(f"customer-{number:06d}", at, weight, (f"dev:d-{number}",))
    text = dump_window(window)
    # 300 buyers and 20 days of distinct buyers: 70 KB when every buyer's keys and every
    # day's hashes were stored, rewritten at each buy; 17 KB now.
    assert len(text) < 24_000
    loaded = load_window(text)
    assert loaded == window


def test_a_window_stored_by_the_release_before_loads() -> None:
    before = {
        "b": [["c-1", NOON, 1.0, list(RISKY_KEYS)], ["c-2", NOON, 0.05, ["dev:d-2"]]],
        "d": {str(20_000 + day): [1, 2, 3][: day + 1] for day in range(4)},
        "a": None,
        "c": None,
    }
    loaded = load_window(orjson.dumps(before).decode())
    assert loaded.buyers == {"c-1": (NOON, 1.0, RISKY_KEYS), "c-2": (NOON, 0.05, ())}
    assert loaded.days == {20_002: {1, 2, 3}, 20_003: {1, 2, 3}}
    assert loaded.counts == {20_000: 1, 20_001: 2}


def test_days_more_than_a_history_ago_make_no_normal() -> None:
    window = SymbolWindow()
    for number in range(50):
        window.add(f"c-{number}", NOON, KNOBS.calm_weight, ())
    window.add("c-1", NOON + DAY_SECONDS, KNOBS.calm_weight, ())
    window.add("c-2", NOON + 2 * DAY_SECONDS, KNOBS.calm_weight, ())  # day 20,000 is settled
    much_later = NOON + (DAYS + 5) * DAY_SECONDS  # no buy since: nothing pruned the old days
    assert window.facts("c-3", _at(much_later), KNOBS).normal_buyers == 0.0


@pytest.mark.parametrize(
    ("spacing", "late"),
    [(90, 0.2), (8, 0.5)],  # buyers spread over hours; a busy name past the cap, often late
)
def test_the_weighted_buyers_in_a_window_are_the_naive_sum(spacing: int, late: float) -> None:
    """Buys in and out of order, repeat buyers, the cap and stale buyers: the window's
    weighted buyers are the sum over exactly the buyers inside it."""
    rng = random.Random(spacing)
    window = SymbolWindow()
    clock = NOON
    for _ in range(3_000):
        clock += rng.randrange(0, spacing)
        at = clock - (rng.randrange(0, 600) if rng.random() < late else 0)
        weight = rng.choice((KNOBS.calm_weight, 1.0, rng.randrange(60) / 60))
        customer = f"c-{rng.randrange(700)}"
        asked = _at(at + rng.randrange(-120, 120))
        facts = window.facts(customer, asked, KNOBS)
        now, since = int(asked.timestamp()), int(asked.timestamp()) - KNOBS.window_minutes * 60
        inside = [(c, w) for c, (when, w, _) in window.buyers.items() if since < when <= now]
        assert facts.weighted_buyers == pytest.approx(math.fsum(w for _, w in inside), abs=1e-9)
        assert facts.buyer_already_counted == (customer in dict(inside))
        window.add(customer, at, weight, ())
        assert len(window.buyers) <= BUYER_CAP
    assert load_window(dump_window(window)).facts("c-1", _at(clock), KNOBS) == window.facts(
        "c-1", _at(clock), KNOBS
    )

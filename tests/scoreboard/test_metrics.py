"""Wilson intervals against published values; percentiles; the seeded bootstrap."""

from __future__ import annotations

import pytest

from kabuguard.scoreboard.metrics import (
    bootstrap_prevented_ratio,
    percentile,
    prevented_ratio,
    rate,
    wilson,
)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe, "Two-sided confidence intervals for the single proportion", Stat. Med.
        # 17:857-872 (1998), Table I, method 3 (score interval without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe(successes: int, trials: int, low: float, high: float) -> None:
    assert wilson(successes, trials) == pytest.approx((low, high), abs=5e-5)


def test_wilson_is_symmetric_and_stays_inside_zero_and_one() -> None:
    low, high = wilson(10, 10) or (0.0, 0.0)
    assert high == pytest.approx(1.0)
    assert low == pytest.approx(1 - (wilson(0, 10) or (0.0, 0.0))[1])
    assert wilson(0, 0) is None
    assert rate(0, 0) is None


def test_percentile_interpolates_and_is_none_for_nothing() -> None:
    assert percentile([5.0, 15.0], 50) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    assert percentile([], 50) is None


def test_prevented_ratio_counts_unpreventable_loss_in_the_base() -> None:
    assert prevented_ratio([100, 300], [0, 300]) == 0.25
    assert prevented_ratio([100], [0], unpreventable=100) == 0.5
    assert prevented_ratio([0], [0]) is None


def test_bootstrap_is_reproducible_and_brackets_the_estimate() -> None:
    harm = [100, 200, 300, 400, 500, 600, 700, 800]
    lost = [0, 200, 0, 400, 0, 600, 0, 0]
    interval = bootstrap_prevented_ratio(harm, lost)
    assert interval == bootstrap_prevented_ratio(harm, lost)
    assert interval is not None
    estimate = prevented_ratio(harm, lost) or 0.0
    assert 0.0 <= interval[0] < estimate < interval[1] <= 1.0


def test_bootstrap_of_all_or_nothing_is_degenerate() -> None:
    assert bootstrap_prevented_ratio([100, 200], [0, 0]) == (1.0, 1.0)
    assert bootstrap_prevented_ratio([100, 200], [100, 200]) == (0.0, 0.0)
    assert bootstrap_prevented_ratio([0, 0], [0, 0]) is None
    assert bootstrap_prevented_ratio([], []) is None

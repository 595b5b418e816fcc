"""Statistics for the report: Wilson intervals, percentiles, a seeded bootstrap for yen ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile
BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 20250401  # fixed so that the same inputs always give the same report
_BOOTSTRAP_CELLS = 2_000_000  # resampled hijacks held in memory at once


def rate(successes: int, trials: int) -> float | None:
    return successes / trials if trials else None


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; None when there were no trials.

    Unlike the normal approximation it stays inside [0, 1] and is not zero-width at 0 or n
    successes, which matters for the small counts of a rare campaign.
    """
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 to 100, linear interpolation); None for no values."""
    return float(np.percentile(values, q)) if values else None


def prevented_ratio(
    no_defence: Sequence[int], lost: Sequence[int], unpreventable: int = 0
) -> float | None:
    """Share of the no-defence loss that was prevented: 1 - lost / no_defence."""
    total = sum(no_defence) + unpreventable
    return (sum(no_defence) - sum(lost)) / total if total else None


def bootstrap_prevented_ratio(
    no_defence: Sequence[int],
    lost: Sequence[int],
    unpreventable: int = 0,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """95 % percentile-bootstrap interval of `prevented_ratio`, resampling hijacks.

    Hijacks are the independent unit (one hijack's losses are not independent of each other);
    loss outside any hijack is the same in every replicate. Replicates whose no-defence loss is
    zero have no ratio and are left out; None when no replicate has one.
    """
    count = len(no_defence)
    if count == 0:
        return None
    harm = np.asarray(no_defence, dtype=np.float64)
    saved = harm - np.asarray(lost, dtype=np.float64)
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CELLS // count)
    ratios: list[np.ndarray] = []
    for start in range(0, replicates, chunk):
        picks = rng.integers(0, count, size=(min(chunk, replicates - start), count))
        totals = harm[picks].sum(axis=1) + unpreventable
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(saved[picks].sum(axis=1) / totals)
    values = np.concatenate(ratios)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return (float(low), float(high))

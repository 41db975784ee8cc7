"""The statistics of a study's repeats: a mean with its 95% t-interval, and the paired difference
between two jobs (the same seeds in both) with its interval and a paired t-test.

Sparse and categorical cross-entropy with the same seed can train bitwise identically: every
paired difference is then exactly 0, their standard deviation 0, and the t statistic 0/0.
That case is `identical`, with a zero-width interval at 0 and p = 1, never nan. A constant
non-zero difference likewise gets a zero-width interval at it and p = 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95  # of every interval
_ROUNDING = 1e-12  # relative spread below which values count as constant


@dataclass(frozen=True)
class Estimate:
    """The mean of `n` values, their standard deviation (n - 1 in the denominator) and the
    95% t-interval of the mean; `sd`, `low` and `high` are None for a single value."""

    n: int
    mean: float
    sd: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def has_interval(self) -> bool:
        return self.low is not None

    def excludes(self, value: float) -> bool:
        """Whether the interval lies wholly on one side of `value` (False without one)."""
        return self.has_interval and not (self.low <= value <= self.high)


def describe(values: Sequence[float]) -> Estimate:
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values to describe")
    mean = float(x.mean())
    if x.size < 2:
        return Estimate(1, mean)
    if np.ptp(x) <= _ROUNDING * max(1.0, float(np.abs(x).max())):
        # Constant up to rounding (a ratio's logs differ in the last bits): sd 0, not noise
        # that would make a t statistic of rounding errors.
        center = float(x[0]) if np.ptp(x) == 0 else mean  # 0.1 three times is 0.1
        return Estimate(x.size, center, 0.0, center, center)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return Estimate(x.size, mean, sd, mean - half, mean + half)


@dataclass(frozen=True)
class Difference:
    """a - b, paired by seed: the differences' estimate and a paired t-test's p-value."""

    estimate: Estimate
    p: float | None  # None for a single pair
    identical: bool  # every pair exactly equal

    @property
    def significant(self) -> bool:
        """Whether the 95% interval of the difference excludes 0."""
        return self.estimate.excludes(0.0)


def paired(a: Sequence[float], b: Sequence[float]) -> Difference:
    """The difference a - b of values paired by seed (same order, same length)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same seeds: {x.size} vs {y.size}")
    estimate = describe(x - y)
    if estimate.n < 2:
        p = None
    elif estimate.sd == 0:  # no spread: the t statistic would be 0/0 or d/0
        p = 1.0 if estimate.mean == 0 else 0.0
    else:
        p = float(stats.ttest_rel(x, y).pvalue)
    return Difference(estimate, p, bool(np.all(x == y)))


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> Difference:
    """a / b paired by seed, on the log scale: `relative` turns its numbers into a / b - 1.
    For positive quantities such as seconds per epoch, where a ratio is what reads."""
    return paired(np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float)))


def relative(log_ratio: float) -> float:
    """A log ratio as a relative difference: 0.1 -> +10.5% (as a fraction, 0.105)."""
    return math.expm1(log_ratio)

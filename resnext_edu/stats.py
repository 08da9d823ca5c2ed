"""Welch's t-test of two groups of measurements (seeds of two models), from SciPy."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Welch:
    """Mean of ``a`` minus mean of ``b``, with the confidence interval of that difference from
    Welch's t-test."""

    mean_a: float
    mean_b: float
    diff: float  # mean_a - mean_b
    low: float  # the confidence interval of diff
    high: float
    df: float  # Welch-Satterthwaite degrees of freedom
    t: float  # diff over its standard error
    p: float  # two-sided p-value
    n_a: int
    n_b: int


def welch(a, b, confidence: float = 0.95) -> Welch:
    """Welch's t-test (unequal variances) of ``a`` against ``b``:
    ``scipy.stats.ttest_ind(equal_var=False)``.

    Each group needs at least two values (one value has no spread); otherwise a ValueError says
    so."""
    a, b = [float(x) for x in a], [float(x) for x in b]
    if min(len(a), len(b)) < 2:
        raise ValueError(
            f"Welch's test needs at least two values per group (got {len(a)} and {len(b)}): one "
            f"seed has no spread to compare a difference with. Train another seed."
        )
    result = stats.ttest_ind(a, b, equal_var=False)
    interval = result.confidence_interval(confidence)
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    return Welch(
        mean_a,
        mean_b,
        mean_a - mean_b,
        float(interval.low),
        float(interval.high),
        float(result.df),
        float(result.statistic),
        float(result.pvalue),
        len(a),
        len(b),
    )

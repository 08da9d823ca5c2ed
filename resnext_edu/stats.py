"""The statistics of a few seeds: is one model's mean really different from another's? (lesson 05)

With 2 or 3 seeds per model the spread over seeds is itself a rough estimate, so a difference is
judged with the t distribution, not with a fixed "two standard errors": Welch's t-test then has 1 to
4 degrees of freedom, and the 95% interval reaches 12.7 standard errors either side at 1 degree of
freedom, 2.8 at 4.

* :func:`welch`: the difference of two means with its confidence interval from the t distribution
  and Welch's degrees of freedom (``scipy.stats.ttest_ind(equal_var=False)``).
* :func:`pooled`: where the spread is alike across a ladder of models, one standard deviation from
  all of them (more degrees of freedom, narrower intervals), and differences judged with it.
* :func:`anova`: do several models' means differ at all? (one-way ANOVA, ``scipy.stats.f_oneway``)
* :func:`power_of_t_test` and :func:`seeds_needed`: how many seeds a difference of a given size
  needs to be found 80% of the time (the noncentral t distribution; about 16 sigma^2 / delta^2
  seeds per model, Lehr's rule of thumb).

Every function takes plain sequences of numbers (one per seed), in any unit; results are in it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats


@dataclass(frozen=True)
class Difference:
    """The mean of ``a`` minus the mean of ``b``, its confidence interval and two-sided t-test.

    ``low`` and ``high`` bound the ``confidence`` interval of ``diff``; ``df`` is the degrees of
    freedom of the t distribution used, ``t`` the statistic and ``p`` its two-sided p-value (the
    chance of a difference at least this large if the two true means were equal).
    """

    mean_a: float
    mean_b: float
    diff: float
    low: float
    high: float
    df: float
    t: float
    p: float
    n_a: int
    n_b: int
    confidence: float = 0.95

    @property
    def excludes_zero(self) -> bool:
        """True when the interval lies wholly on one side of zero."""
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """What the interval says, in words a lesson prints."""
        level = f"{1 - self.confidence:.0%}"
        if self.excludes_zero:
            return f"different at the {level} level"
        return f"not shown different at the {level} level (the interval holds 0)"

    def describe(self, unit: str = "points") -> str:
        """The difference in words, e.g. -0.93 points, 95% interval [-1.38, -0.48], Welch df 2.3,
        p = 0.011."""
        kind = "Welch" if isinstance(self, Welch) else "pooled"
        p = "p < 0.001" if self.p < 0.001 else f"p = {self.p:.3f}"
        return (
            f"{self.diff:+.2f} {unit}, {self.confidence:.0%} interval [{self.low:+.2f}, "
            f"{self.high:+.2f}], {kind} df {self.df:.1f}, {p}"
        )


@dataclass(frozen=True)
class Welch(Difference):
    """:class:`Difference` by Welch's t-test: each model's own spread, Welch-Satterthwaite df."""


@dataclass(frozen=True)
class PooledDifference(Difference):
    """:class:`Difference` judged with a standard deviation pooled over models (:class:`Pooled`)."""


def _values(x: Sequence[float], name: str) -> np.ndarray:
    values = np.atleast_1d(np.asarray(x, dtype=float))
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(
            f"{name} needs at least two values (one per seed), got {values.size}: one run has no "
            f"spread to compare a difference with. Train a second seed of that model."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds a value that is not a finite number: {values.tolist()}")
    return values


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(
            f"confidence must lie between 0 and 1 (0.95 for a 95% interval), got {confidence}"
        )


def welch(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Welch:
    """Mean of ``a`` minus mean of ``b`` by Welch's t-test (the two spreads may differ).

    Standard error se = sqrt(s_a^2/n_a + s_b^2/n_b); degrees of freedom by Welch-Satterthwaite,
    se^4 / ((s_a^2/n_a)^2/(n_a - 1) + (s_b^2/n_b)^2/(n_b - 1)); the interval is
    diff +- t_{df, (1 + confidence)/2} x se. Each sample needs two values at least, and one of the
    two some spread.
    """
    _check_confidence(confidence)
    a = _values(a, "The first sample")
    b = _values(b, "The second sample")
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        raise ValueError(
            "Every seed of both models gave the same value: there is no spread to judge by."
        )
    result = scipy_stats.ttest_ind(a, b, equal_var=False)
    interval = result.confidence_interval(confidence)
    return Welch(
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        diff=float(a.mean() - b.mean()),
        low=float(interval.low),
        high=float(interval.high),
        df=float(result.df),
        t=float(result.statistic),
        p=float(result.pvalue),
        n_a=len(a),
        n_b=len(b),
        confidence=confidence,
    )


@dataclass(frozen=True)
class Pooled:
    """One standard deviation over seeds, estimated from several models at once.

    ``sd`` = sqrt(sum_i (n_i - 1) s_i^2 / sum_i (n_i - 1)) with ``df`` = sum_i (n_i - 1): the
    within-model spread of a one-way ANOVA. It is the right estimate where every model's seeds
    scatter alike (same data, recipe and epochs, models of equal complexity), and it has many more
    degrees of freedom than any one pair of models.
    """

    sd: float
    df: int
    groups: Mapping[object, tuple[float, ...]]

    def compare(self, a, b, confidence: float = 0.95) -> PooledDifference:
        """Group ``a``'s mean minus group ``b``'s: se = sd sqrt(1/n_a + 1/n_b), t with ``df``."""
        _check_confidence(confidence)
        for key in (a, b):
            if key not in self.groups:
                names = ", ".join(map(repr, self.groups))
                raise KeyError(f"No group {key!r}; the groups are {names}")
        values_a = np.asarray(self.groups[a])
        values_b = np.asarray(self.groups[b])
        diff = float(values_a.mean() - values_b.mean())
        se = self.sd * math.sqrt(1 / len(values_a) + 1 / len(values_b))
        t = diff / se
        half = scipy_stats.t.ppf((1 + confidence) / 2, self.df) * se
        return PooledDifference(
            mean_a=float(values_a.mean()),
            mean_b=float(values_b.mean()),
            diff=diff,
            low=diff - half,
            high=diff + half,
            df=float(self.df),
            t=float(t),
            p=float(2 * scipy_stats.t.sf(abs(t), self.df)),
            n_a=len(values_a),
            n_b=len(values_b),
            confidence=confidence,
        )


def pooled(groups: Mapping[object, Sequence[float]]) -> Pooled:
    """The pooled standard deviation of several groups (a mapping: name -> one value per seed)."""
    checked = {key: tuple(_values(v, f"Group {key!r}").tolist()) for key, v in groups.items()}
    if not checked:
        raise ValueError("pooled() needs at least one group of values")
    df = sum(len(v) - 1 for v in checked.values())
    squares = sum(float(np.sum((np.asarray(v) - np.mean(v)) ** 2)) for v in checked.values())
    return Pooled(sd=math.sqrt(squares / df), df=df, groups=checked)


@dataclass(frozen=True)
class Anova:
    """One-way ANOVA: F = between-model / within-model variance, its df and p-value."""

    f: float
    p: float
    df_between: int
    df_within: int


def anova(groups: Mapping[object, Sequence[float]] | Sequence[Sequence[float]]) -> Anova:
    """Do several models' means differ at all, beyond the seeds' spread? (``f_oneway``)"""
    samples = list(groups.values()) if isinstance(groups, Mapping) else list(groups)
    samples = [_values(v, f"Group {i + 1}") for i, v in enumerate(samples)]
    if len(samples) < 2:
        raise ValueError(f"A one-way ANOVA compares two groups or more, got {len(samples)}")
    result = scipy_stats.f_oneway(*samples)
    n = sum(len(v) for v in samples)
    return Anova(
        f=float(result.statistic),
        p=float(result.pvalue),
        df_between=len(samples) - 1,
        df_within=n - len(samples),
    )


def power_of_t_test(sigma: float, delta: float, n: int, alpha: float = 0.05) -> float:
    """The chance that a two-sided two-sample t-test at level ``alpha``, ``n`` seeds per model,
    finds a true difference ``delta`` between models whose seeds scatter with SD ``sigma``.

    Under that difference the t statistic follows a noncentral t distribution with 2n - 2 degrees
    of freedom and noncentrality delta / (sigma sqrt(2/n)); the power is its probability beyond the
    critical values +-t_crit.
    """
    if sigma <= 0 or delta == 0:
        raise ValueError(
            f"sigma must be positive and delta non-zero, got sigma={sigma}, delta={delta}"
        )
    if n < 2:
        raise ValueError(f"n is the number of seeds per model, at least 2, got {n}")
    df = 2 * n - 2
    noncentrality = abs(delta) / (sigma * math.sqrt(2 / n))
    critical = scipy_stats.t.ppf(1 - alpha / 2, df)
    beyond_high = scipy_stats.nct.sf(critical, df, noncentrality)
    beyond_low = scipy_stats.nct.cdf(-critical, df, noncentrality)
    return float(beyond_high + beyond_low)


def seeds_needed(sigma: float, delta: float, power: float = 0.8, alpha: float = 0.05) -> int:
    """The fewest seeds per model for which a two-sided t-test at ``alpha`` finds a true
    difference ``delta`` with probability ``power`` (seed-to-seed standard deviation ``sigma``).

    About 16 sigma^2 / delta^2 at 80% power and alpha 0.05; a little more at small n, where the t
    distribution's tails are heavier.
    """
    if not 0 < power < 1:
        raise ValueError(f"power is a probability between 0 and 1 (0.8 for 80%), got {power}")
    n = 2
    while power_of_t_test(sigma, delta, n, alpha) < power:
        n += 1
    return n

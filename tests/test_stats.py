"""resnext_edu.stats against sources outside it: hand derivations, R's worked examples, textbook
rules."""

import math

import pytest
from scipy import stats as scipy_stats

from resnext_edu import stats

# R's ?t.test example, Student's (1908) sleep data: extra hours of sleep under two drugs. R prints
# for
# t.test(extra ~ group, data = sleep): t = -1.8608, df = 17.776, p-value = 0.07939, 95 percent
# confidence interval -3.3654832 0.2054832, means 0.75 and 2.33.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_reproduces_r_sleep_example():
    w = stats.welch(SLEEP_1, SLEEP_2)
    assert (w.mean_a, w.mean_b) == pytest.approx((0.75, 2.33))
    assert w.diff == pytest.approx(0.75 - 2.33)
    assert w.t == pytest.approx(-1.8608, abs=1e-4)
    assert w.df == pytest.approx(17.776, abs=1e-3)
    assert w.p == pytest.approx(0.07939, abs=1e-5)
    assert (w.low, w.high) == pytest.approx((-3.3654832, 0.2054832), abs=1e-7)
    assert not w.excludes_zero
    assert (w.n_a, w.n_b) == (10, 10)


def test_welch_by_hand_on_two_and_three_seeds():
    """a = (1, 3): mean 2, s^2 = 2; b = (4, 5, 9): mean 6, s^2 = 7. By hand: v_a = s^2/n = 1,
    v_b = 7/3; se^2 = 10/3; df = (10/3)^2 / (1^2/1 + (7/3)^2/2) = (100/9) / (1 + 49/18) = 200/67."""
    w = stats.welch([1, 3], [4, 5, 9])
    se = math.sqrt(10 / 3)
    df = 200 / 67
    assert w.diff == -4
    assert w.df == pytest.approx(df, rel=1e-12)
    assert w.t == pytest.approx(-4 / se, rel=1e-12)
    half = scipy_stats.t.ppf(0.975, df) * se
    assert (w.low, w.high) == pytest.approx((-4 - half, -4 + half), rel=1e-10)
    assert w.p == pytest.approx(2 * scipy_stats.t.cdf(-4 / se, df), rel=1e-10)
    # a 90% interval is narrower and uses the 95th percentile
    w90 = stats.welch([1, 3], [4, 5, 9], confidence=0.9)
    assert w90.high - w90.low == pytest.approx(2 * scipy_stats.t.ppf(0.95, df) * se, rel=1e-10)


@pytest.mark.filterwarnings("ignore:Precision loss")
def test_two_seeds_each_critical_t_is_twelve_point_seven():
    """Two seeds each with equal spread: Welch df = 2 (by the formula: (2v)^2 / (v^2 + v^2) = 2);
    where one model's seeds agree exactly, df = 1 and the 95% interval reaches 12.706 standard
    errors (the t table's value for one degree of freedom)."""
    w = stats.welch([0, 2], [5, 5])
    se = math.sqrt(2 / 2)
    assert w.df == pytest.approx(1.0)
    assert (w.high - w.low) / 2 == pytest.approx(12.7062 * se, rel=1e-4)
    assert stats.welch([0, 2], [5, 7]).df == pytest.approx(2.0)


def test_welch_refuses_one_seed_and_no_spread():
    with pytest.raises(ValueError, match="at least two values"):
        stats.welch([1.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="no spread"):
        stats.welch([1.0, 1.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="confidence"):
        stats.welch([1, 2], [3, 4], confidence=95)


def test_pooled_by_hand_and_two_groups_equal_student():
    """Pooled SD by hand: (1, 3) has SS 2, (4, 5, 9) SS 14, (0, 0, 3) SS 6: sd = sqrt(22 / 5), df 5.
    With two groups the pooled comparison is Student's t-test (equal variances)."""
    groups = {"a": [1, 3], "b": [4, 5, 9], "c": [0, 0, 3]}
    p = stats.pooled(groups)
    assert p.df == 5
    assert p.sd == pytest.approx(math.sqrt(22 / 5))
    d = p.compare("b", "a")
    se = math.sqrt(22 / 5) * math.sqrt(1 / 3 + 1 / 2)
    half = scipy_stats.t.ppf(0.975, 5) * se
    assert (d.diff, d.df) == (4.0, 5.0)
    assert (d.low, d.high) == pytest.approx((4 - half, 4 + half))
    two = stats.pooled({"a": SLEEP_1, "b": SLEEP_2}).compare("a", "b")
    # R: t.test(extra ~ group, data = sleep, var.equal = TRUE): t = -1.8608, df = 18, p = 0.07919
    assert two.t == pytest.approx(-1.8608, abs=1e-4)
    assert two.df == 18
    assert two.p == pytest.approx(0.07919, abs=1e-5)
    with pytest.raises(KeyError, match="the groups are"):
        p.compare("a", "z")


def test_anova_by_hand():
    """Groups (1, 3), (4, 5, 9), (0, 0, 3): grand mean 25/8; SS between = 2 (2 - 25/8)^2 + 3 (6 -
    25/8)^2 + 3 (1 - 25/8)^2; SS within = 22; F = (SSB / 2) / (22 / 5)."""
    grand = 25 / 8
    ssb = 2 * (2 - grand) ** 2 + 3 * (6 - grand) ** 2 + 3 * (1 - grand) ** 2
    f = (ssb / 2) / (22 / 5)
    a = stats.anova({"a": [1, 3], "b": [4, 5, 9], "c": [0, 0, 3]})
    assert (a.df_between, a.df_within) == (2, 5)
    assert a.f == pytest.approx(f)
    assert a.p == pytest.approx(scipy_stats.f.sf(f, 2, 5))
    with pytest.raises(ValueError, match="two groups or more"):
        stats.anova([[1, 2]])


def test_power_matches_r_power_t_test():
    """R: power.t.test(n = 20, delta = 1) gives power = 0.8689528; power.t.test(delta = 1, power =
    0.8) gives n = 16.71477 per group, so 17 whole seeds; with delta = 0.5, n = 63.76576, so 64."""
    assert stats.power_of_t_test(1.0, 1.0, 20) == pytest.approx(0.8689528, abs=1e-6)
    assert stats.seeds_needed(1.0, 1.0) == 17
    assert stats.seeds_needed(2.0, 1.0) == 64  # only sigma / delta matters
    assert stats.seeds_needed(1.0, -1.0) == 17  # and not the sign of delta


@pytest.mark.parametrize("ratio", [0.25, 0.4, 0.5, 1.0])
def test_seeds_needed_against_normal_approximation_and_rule_of_thumb(ratio):
    """Normal approximation:n = 2 (z_{1-alpha/2} + z_power)^2 (sigma/delta)^2, which is 15.70
    (sigma/delta)^2 at 80% power and alpha 0.05; Lehr's rule of thumb rounds it to 16
    (sigma/delta)^2. The exact t answer needs at most about two seeds more (heavier tails), never
    fewer than the normal one."""
    sigma, delta = 1.0, ratio
    normal = 2 * (scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)) ** 2 / ratio**2
    n = stats.seeds_needed(sigma, delta)
    assert normal <= n <= normal + 2
    assert n == pytest.approx(16 / ratio**2, rel=0.1, abs=1.5)
    # and the power at n seeds by the normal approximation is close to the exact one
    z = delta / (sigma * math.sqrt(2 / n)) - scipy_stats.norm.ppf(0.975)
    assert stats.power_of_t_test(sigma, delta, n) == pytest.approx(
        scipy_stats.norm.cdf(z), abs=0.03
    )
    assert (
        stats.power_of_t_test(sigma, delta, n) >= 0.8 > stats.power_of_t_test(sigma, delta, n - 1)
    )


def test_the_old_rule_had_half_the_power():
    """8 sigma^2 / delta^2 seeds (z = 2 for the difference, nothing allowed for power) find a true
    difference about half the time: with sigma = delta, n = 8."""
    assert stats.power_of_t_test(1.0, 1.0, 8) == pytest.approx(0.5, abs=0.05)


def test_describe_and_verdict_say_the_numbers():
    w = stats.welch(SLEEP_1, SLEEP_2)
    assert (
        w.describe("hours") == "-1.58 hours, 95% interval [-3.37, +0.21], Welch df 17.8, p = 0.079"
    )
    assert w.verdict == "not shown different at the 5% level (the interval holds 0)"
    shifted = stats.welch([x + 5 for x in SLEEP_1], SLEEP_2)
    assert shifted.excludes_zero and shifted.verdict == "different at the 5% level"
    pooled_text = stats.pooled({"a": SLEEP_1, "b": SLEEP_2}).compare("a", "b").describe("hours")
    assert pooled_text.startswith("-1.58 hours, 95% interval") and "pooled df 18.0" in pooled_text

"""The sweep's statistics: Welch's t-test (resnext_edu.stats) against a hand computation of the
Welch-Satterthwaite degrees of freedom, and the tables that print it, on made-up result files and on
the shipped ones."""

from __future__ import annotations

import json
import math
import re
import statistics

import pytest
from scipy import stats as scipy_stats

from resnext_edu import cli
from resnext_edu.stats import welch
from resnext_edu.sweep import (
    SHIPPED,
    cardinality_configs,
    compare_to_baseline,
    comparison_table,
    summarize,
    table4_configs,
    table4_table,
)
from resnext_edu.sweep.results import Result

CONFIGS = {c.cardinality: c for c in cardinality_configs("lesson", (1, 32))}
# test errors (%): C = 32: 10, 12, 14 (mean 12, s^2 = 4, n = 3); C = 1: 15, 16 (mean 15.5, s^2 =
# 0.5, n = 2)
ERRORS = {32: [10.0, 12.0, 14.0], 1: [15.0, 16.0]}


def hand_welch(a, b):
    """Welch by hand: SE^2 = s_a^2/n_a + s_b^2/n_b; df = SE^4 / ((s_a^2/n_a)^2/(n_a-1) +
    (s_b^2/n_b)^2/(n_b-1)); the interval from the t distribution's quantile (scipy.stats.t, not the
    t-test)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    diff = statistics.mean(a) - statistics.mean(b)
    q = scipy_stats.t.ppf(0.975, df)
    return (
        diff,
        diff - q * se,
        diff + q * se,
        df,
        diff / se,
        2 * scipy_stats.t.sf(abs(diff / se), df),
    )


def test_welch_against_a_hand_computation():
    w = welch(ERRORS[32], ERRORS[1])
    # by hand: SE^2 = 4/3 + 0.5/2 = 19/12; df = (19/12)^2 / ((4/3)^2/2 + (1/4)^2/1) = 2.635...
    assert w.df == pytest.approx((19 / 12) ** 2 / ((4 / 3) ** 2 / 2 + (1 / 4) ** 2), rel=1e-12)
    assert w.t == pytest.approx(-3.5 / math.sqrt(19 / 12), rel=1e-12)
    diff, low, high, df, t, p = hand_welch(ERRORS[32], ERRORS[1])
    assert (w.diff, w.low, w.high, w.df, w.t, w.p) == pytest.approx(
        (diff, low, high, df, t, p), rel=1e-9
    )
    assert (w.mean_a, w.mean_b, w.n_a, w.n_b) == (12.0, 15.5, 3, 2)
    assert w.low < w.diff < w.high
    with pytest.raises(ValueError, match="needs at least two values"):
        welch([1.0], [2.0, 3.0])


def result(
    config, seed: int, test_acc: float, train_acc: float = 0.5, seconds: float = 10.0
) -> Result:
    """A made-up result: two epochs, the last one's accuracies as given."""
    history = [
        {
            "epoch": 1,
            "train_acc": train_acc / 2,
            "test_acc": test_acc / 2,
            "train_seconds": 2 * seconds,
        },
        {"epoch": 2, "train_acc": train_acc, "test_acc": test_acc, "train_seconds": seconds},
    ]
    raw = {
        "run_id": f"{config.key}_seed{seed}",
        "seed": seed,
        "config": config.as_dict(),
        "settings": {"epochs": 2, "subset": None, "dataset": "cifar10"},
        "final": {
            "test_acc": test_acc,
            "train_acc": train_acc,
            "seconds_per_epoch": 2 * seconds,
            "min_seconds_per_epoch": seconds,
        },
        "history": history,
    }
    return Result(None, "made-up", raw)


def made_up() -> list[Result]:
    return [
        result(CONFIGS[c], seed, 1 - e / 100)
        for c, values in ERRORS.items()
        for seed, e in enumerate(values)
    ]


def test_each_cardinality_against_1x64d_in_the_table():
    rows = summarize(made_up(), "test_error")
    diff, low, high, df, t, p = hand_welch(ERRORS[32], ERRORS[1])
    (c,) = compare_to_baseline(rows)
    assert (c["setting"], c["baseline"], c["n"]) == ("32x4d", "1x64d", (3, 2))
    assert (c["difference"], c["low"], c["high"], c["df"], c["t"], c["p"]) == pytest.approx(
        (diff, low, high, df, t, p)
    )
    cells = [f"{diff:+.2f}", f"[{low:+.2f}, {high:+.2f}]", f"{df:.1f}", f"{p:.3f}", "3 vs 2"]
    assert re.search(
        r"32x4d\s+1x64d\s+" + r"\s+".join(map(re.escape, cells)), comparison_table(rows)
    )
    one = summarize([r for r in made_up() if r.seed == 0], "test_error")  # one seed each: no spread
    assert "one seed" in comparison_table(one) and math.isnan(compare_to_baseline(one)[0]["p"])


def test_sweep_report_on_the_shipped_sweep_recomputed_from_the_files(capsys):
    assert (
        cli.main(["sweep-report", str(SHIPPED / "lesson"), "--no-plots", "--metric", "test_error"])
        == 0
    )
    out = capsys.readouterr().out
    errors = {
        c: [
            100 * (1 - json.loads(p.read_text())["final"]["test_acc"])
            for p in sorted((SHIPPED / "lesson").glob(f"lesson-1x_{name}_seed*.json"))
        ]
        for c, name in ((1, "resnet29"), (32, "resnext29_32x4d"))
    }
    test = scipy_stats.ttest_ind(errors[32], errors[1], equal_var=False)
    ci = test.confidence_interval(0.95)
    diff = statistics.mean(errors[32]) - statistics.mean(errors[1])
    cells = [
        f"{diff:+.2f}",
        f"[{ci.low:+.2f}, {ci.high:+.2f}]",
        f"{test.df:.1f}",
        f"{test.pvalue:.3f}",
        "3 vs 3",
    ]
    assert re.search(r"32x4d\s+1x64d\s+" + r"\s+".join(map(re.escape, cells)), out), out
    assert "1x64d           23.9        22.0" in out  # the paper's Table 3 in error, beside error
    assert cli.main(["sweep-report", str(SHIPPED / "lesson"), "--no-plots"]) == 0
    assert f"1x64d           {100 - 23.9:.1f}        {100 - 22.0:.1f}" in capsys.readouterr().out


def _counted(config) -> tuple[int, float]:
    """Params by summing the built model's tensors, MACs by torch's own FLOP counter (FLOPs / 2) on
    one image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = config.create().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() / 2


def test_table4_table_by_hand_with_the_ratios_counted_by_torch():
    t4 = {c.axis: c for c in table4_configs("lesson", (64,))}
    base = [15.0, 16.0]
    twice = {"deeper": [14.0, 18.0], "cardinality": [12.0, 13.0], "wider": [14.0]}
    runs = [result(CONFIGS[1], s, 1 - e / 100) for s, e in enumerate(base)]
    runs += [
        result(t4[axis], s, 1 - e / 100)
        for axis, values in twice.items()
        for s, e in enumerate(values)
    ]
    text = table4_table(summarize(runs, "test_error"))
    base_params, base_macs = _counted(CONFIGS[1])
    for axis, name in (
        ("cardinality", "2x cardinality (64x5d)"),
        ("deeper", "2x deeper (resnet56)"),
        ("wider", "2x wider (resnext29_1x104d)"),
    ):
        params, macs = _counted(t4[axis])
        values = twice[axis]
        sd = f" +- {statistics.stdev(values):.2f}" if len(values) > 1 else ""
        if len(values) > 1:
            diff, low, high, _, _, p = hand_welch(values, base)
            tail = f"{diff:+.2f} [{low:+.2f}, {high:+.2f}] {p:.3f}"
        else:
            tail = f"{statistics.mean(values) - statistics.mean(base):+.2f} one seed"
        expected = (
            f"{name} {len(values)} {statistics.mean(values):.2f}{sd} {params / base_params:.2f}x "
            f"{macs / base_macs:.2f}x {tail}"
        )
        assert expected in " ".join(text.split()), (expected, text)
    diff, low, high, _, _, p = hand_welch(twice["cardinality"], twice["deeper"])
    assert (
        f"2x cardinality (64x5d) minus 2x deeper (resnet56): {diff:+.2f} "
        f"[{low:+.2f}, {high:+.2f}] {p:.3f}" in " ".join(text.split())
    )
    assert table4_table(summarize(runs[:2], "test_error")).startswith(
        "No 2x-complexity (Table 4) runs yet"
    )

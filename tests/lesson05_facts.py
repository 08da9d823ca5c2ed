"""Lesson 05's printed verdicts, recomputed here from the shipped result files with `json` and
`scipy.stats` directly (not the package's summaries or resnext_edu.stats), for
tests/test_notebooks.py: every Welch comparison the lesson prints (each C against 1x64d in the full
and the tiny sweep, the training error of Fig. 5, each Table 4 model against 1x64d and against each
other), the plateau sentence (one-way ANOVA), the pooled SD and its comparisons, the ranks of
the 2x-deeper model, the MACs of 16x8d and the paper's Table 7 comparison."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from scipy import stats as scipy_stats

SHIPPED = Path(__file__).resolve().parent.parent / "resnext_edu" / "results"
REFERENCE = SHIPPED.parent / "reference" / "paper.json"


def _runs(budget: str) -> dict[tuple, list[dict]]:
    """{(scale, axis, setting, model_name): [raw result, ...]} of a shipped sweep."""
    out: dict[tuple, list[dict]] = {}
    for path in sorted((SHIPPED / budget).glob("*.json")):
        raw = json.loads(path.read_text())
        c = raw["config"]
        out.setdefault((c["scale"], c["axis"], c["setting"], c["model_name"]), []).append(raw)
    return out


def _error(raw: dict) -> float:
    return 100 * (1 - raw["final"]["test_acc"])


def _welch_phrase(a: list[float], b: list[float]) -> str:
    """What the lesson prints for mean(a) - mean(b): its Welch interval, df, p and verdict."""
    result = scipy_stats.ttest_ind(a, b, equal_var=False)
    ci = result.confidence_interval(0.95)
    diff = statistics.mean(a) - statistics.mean(b)
    p = "p < 0.001" if result.pvalue < 0.001 else f"p = {result.pvalue:.3f}"
    verdict = (
        "different at the 5% level"
        if result.pvalue < 0.05
        else "not shown different at the 5% level (the interval holds 0)"
    )
    return (
        f"{diff:+.2f} points, 95% interval [{ci.low:+.2f}, {ci.high:+.2f}], Welch df "
        f"{result.df:.1f}, {p}: {verdict}"
    )


def _ladder(runs: dict) -> dict[int, tuple[str, list[float]]]:
    return {
        raws[0]["config"]["cardinality"]: (key[2], [_error(r) for r in raws])
        for key, raws in runs.items()
        if key[0] == 1 and key[1] == "cardinality"
    }


def _name(key: tuple) -> str:
    _scale, axis, setting, model_name = key
    return f"2x {axis} ({setting if axis == 'cardinality' else model_name})"


def ladder_phrases(budget: str, prefix: str = "") -> list[str]:
    ladder = _ladder(_runs(budget))
    base = ladder[1][1]
    return [
        f"{prefix}{setting:>6} minus 1x64d: {_welch_phrase(values, base)}"
        for c, (setting, values) in sorted(ladder.items())
        if c != 1
    ]


def plateau_phrase() -> str:
    ladder = _ladder(_runs("full"))
    cs = sorted(ladder)

    def p_from(c):
        return scipy_stats.f_oneway(*(ladder[k][1] for k in cs if k >= c))

    plateau = next((c for c in cs[:-1] if p_from(c).pvalue > 0.05), cs[-1])
    rest = p_from(plateau)
    return (
        f"the models from C = {plateau} to C = {cs[-1]} show no difference (one-way ANOVA: "
        f"F = {rest.statistic:.2f}, p = {rest.pvalue:.2f})"
    )


def pooled_phrase() -> str:
    ladder = _ladder(_runs("full"))
    squares = sum(sum((v - statistics.mean(vs)) ** 2 for v in vs) for _, vs in ladder.values())
    df = sum(len(vs) - 1 for _, vs in ladder.values())
    return (
        f"pooled SD over the {len(ladder)} models: {math.sqrt(squares / df):.2f} points, "
        f"{df} degrees of freedom"
    )


def pooled_comparison_phrases() -> list[str]:
    """Each C minus 1x64d judged with the SD pooled over the ladder: se = sd sqrt(1/n_a + 1/n_b),
    the t distribution with the pooled df (sum of n - 1)."""
    ladder = _ladder(_runs("full"))
    squares = sum(sum((v - statistics.mean(vs)) ** 2 for v in vs) for _, vs in ladder.values())
    df = sum(len(vs) - 1 for _, vs in ladder.values())
    sd = math.sqrt(squares / df)
    base = ladder[1][1]
    phrases = []
    for c, (setting, values) in sorted(ladder.items()):
        if c == 1:
            continue
        diff = statistics.mean(values) - statistics.mean(base)
        se = sd * math.sqrt(1 / len(values) + 1 / len(base))
        half = scipy_stats.t.ppf(0.975, df) * se
        p = 2 * scipy_stats.t.sf(abs(diff / se), df)
        p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
        phrases.append(
            f"{setting:>6} minus 1x64d, pooled: {diff:+.2f} points, 95% interval "
            f"[{diff - half:+.2f}, {diff + half:+.2f}], pooled df {df:.1f}, {p_text}"
        )
    return phrases


def fig5_phrases() -> list[str]:
    runs = _runs("full")

    def train_error(setting):
        key = next(k for k in runs if k[0] == 1 and k[2] == setting)
        return [100 * (1 - r["history"][-1]["train_acc"]) for r in runs[key]]

    return [
        "training error (last epoch), 32x4d minus 1x64d: "
        + _welch_phrase(train_error("32x4d"), train_error("1x64d"))
    ]


def table4_phrases() -> list[str]:
    runs = _runs("full")
    base = _ladder(runs)[1][1]
    twice = {k: [_error(r) for r in raws] for k, raws in runs.items() if k[0] == 2}
    phrases = [f"minus 1x64d: {_welch_phrase(values, base)}" for values in twice.values()]
    for high, high_values in twice.items():
        if high[1] != "cardinality":
            continue
        for low, low_values in twice.items():
            if low[1] != "cardinality":
                phrases.append(
                    f"{_name(high)} minus {_name(low)}: {_welch_phrase(high_values, low_values)}"
                )
    return phrases


def rank_phrases() -> list[str]:
    out = []
    for budget in ("lesson", "full"):
        twice = {
            k: statistics.mean(map(_error, raws)) for k, raws in _runs(budget).items() if k[0] == 2
        }
        order = sorted(twice, key=twice.get)
        rank = next(i for i, k in enumerate(order, 1) if k[1] == "deeper")
        out.append(f"2x deeper ranks {rank} of {len(order)}")
    return out


def cost_and_paper_phrases() -> list[str]:
    configs = {k[2]: raws[0]["config"] for k, raws in _runs("full").items() if k[0] == 1}
    macs = configs["16x8d"]["macs"] / configs["1x64d"]["macs"] - 1
    params = configs["16x8d"]["params"] / configs["1x64d"]["params"] - 1
    t7 = {row["name"]: row for row in json.loads(REFERENCE.read_text())["table7"]["rows"]}
    big, small = t7["resnext29_16x64d"], t7["resnext29_8x64d"]
    return [
        f"16x8d: {100 * params:+.1f}% params, {100 * macs:+.1f}% MACs against 1x64d",
        (
            f"16x64d minus 8x64d = {big['cifar10'] - small['cifar10']:+.2f} points of test error, "
            f"with {big['params_millions'] / small['params_millions']:.2f} times the parameters"
        ),
    ]


def check(printed: str) -> None:
    """Fails with the phrases the lesson should have printed and did not."""
    text = " ".join(printed.split())  # the sentences are wrapped to the output's width
    phrases = (
        ladder_phrases("full")
        + ladder_phrases("lesson", "tiny: ")
        + [plateau_phrase(), pooled_phrase()]
        + pooled_comparison_phrases()
        + fig5_phrases()
        + table4_phrases()
        + rank_phrases()
        + cost_and_paper_phrases()
    )
    missing = [p for p in phrases if " ".join(p.split()) not in text]
    assert not missing, f"05_cardinality_sweep did not print {missing}"

"""Lesson 05's printed numbers, recomputed here from the shipped result files with `json`,
`statistics` and `scipy.stats` (not the package's summaries), for tests/test_notebooks.py: C = 32
against C = 1 in test error and in the final epoch's training error, with Welch's 95% confidence
interval and p, or the words that replace them when a model has a single seed or the full sweep is
not shipped; the time ratio of the two; and each Table 4 model's row (2x complexity) against
1x64d."""

from __future__ import annotations

import json
import statistics

from scipy import stats

from resnext_edu.sweep import SHIPPED

PAIR = {"lesson": ("resnet29", "resnext29_32x4d"), "full": ("resnet20", "resnext20_32x4d")}


def _welch(a: list[float], b: list[float]) -> str:
    """mean(a) - mean(b), Welch's 95% interval and p, as the lesson prints them; "one seed" without
    spread."""
    diff = statistics.mean(a) - statistics.mean(b)
    if min(len(a), len(b)) < 2:
        return f"{diff:+.2f} one seed"
    test = stats.ttest_ind(a, b, equal_var=False)
    interval = test.confidence_interval(0.95)
    return f"{diff:+.2f} [{interval.low:+.2f}, {interval.high:+.2f}] {test.pvalue:.3f}"


def _files(budget: str, name: str) -> list[dict]:
    return [
        json.loads(p.read_text())
        for p in sorted((SHIPPED / budget).glob(f"{budget}-1x_{name}_seed*.json"))
    ]


def expected_phrases(budget: str, what: str) -> list[str]:
    """What the lesson must print about C = 32 minus C = 1 (``what``: test_error or train_error) in
    ``budget``."""
    low, high = (_files(budget, name) for name in PAIR[budget])
    if not low or not high:
        return []
    key = "test_acc" if what == "test_error" else "train_acc"
    # final test accuracy from "final"; the training accuracy of the last epoch from the history
    value = (
        (lambda raw: raw["final"][key])
        if what == "test_error"
        else (lambda raw: raw["history"][-1][key])
    )
    e_low, e_high = ([100 * (1 - value(raw)) for raw in files] for files in (low, high))
    return [f"32x4d minus 1x64d: {_welch(e_high, e_low)} ({len(e_high)} and {len(e_low)} seeds)"]


def time_phrase() -> str | None:
    low, high = (_files("full", name) for name in PAIR["full"])
    if not low or not high:
        return None
    secs = [
        statistics.mean(raw["final"]["min_seconds_per_epoch"] for raw in files)
        for files in (high, low)
    ]
    return f"{secs[0] / secs[1]:.2f} times as long"


def table4_phrases(budget: str) -> list[str]:
    """Each shipped 2x model's row of Table 4's table: seeds, mean +- SD of the test error, params
    and MACs over 1x64d's, and the difference from 1x64d with its ratio to the standard error (a
    dash with one seed)."""
    folder = SHIPPED / budget
    base = _files(budget, PAIR[budget][0])
    models: dict[str, list[dict]] = {}
    for path in sorted(folder.glob(f"{budget}-2x_*_seed*.json")):
        raw = json.loads(path.read_text())
        models.setdefault(raw["config"]["key"], []).append(raw)
    if not base or not models:
        return []
    e_base = [100 * (1 - raw["final"]["test_acc"]) for raw in base]
    phrases = []
    for files in models.values():
        c = files[0]["config"]
        errors = [100 * (1 - raw["final"]["test_acc"]) for raw in files]
        name = f"2x {c['axis']} ({c['setting'] if c['axis'] == 'cardinality' else c['model_name']})"
        sd = f" +- {statistics.stdev(errors):.2f}" if len(errors) > 1 else ""
        params = c["params"] / base[0]["config"]["params"]
        macs = c["macs"] / base[0]["config"]["macs"]
        phrases.append(
            f"{name} {len(errors)} {statistics.mean(errors):.2f}{sd} {params:.2f}x {macs:.2f}x "
            f"{_welch(errors, e_base)}"
        )
    return phrases


def paper_phrases() -> list[str]:
    """The paper's gains of Section 3, from the committed copy of its tables
    (resnext_edu/reference/paper.json)."""
    tables = json.loads((SHIPPED.parent / "reference" / "paper.json").read_text())
    t3 = {row["setting"]: row["error_50"] for row in tables["table3"]["rows"]}
    t7 = {row["name"]: row["cifar10"] for row in tables["table7"]["rows"]}
    return [
        f"32x4d minus 1x64d = {t3['32x4d'] - t3['1x64d']:+.1f} points of top-1 error",
        f"16x64d minus 8x64d = {t7['resnext29_16x64d'] - t7['resnext29_8x64d']:+.2f} points of test error",
    ]


def check(printed: str) -> None:
    """Fails with the phrase the lesson should have printed and did not."""
    text = " ".join(printed.split())  # the sentences are wrapped to the output's width
    assert "\n".join(expected_phrases("lesson", "test_error")), "the lesson sweep is shipped"
    missing = [
        p
        for p in paper_phrases()
        + expected_phrases("lesson", "test_error")
        + table4_phrases("lesson")
        if p not in text
    ]
    assert not missing, f"05_cardinality_sweep did not print {missing}"
    if not list((SHIPPED / "full").glob("*.json")):
        assert (
            "The full sweep is not shipped yet" in text
            and "python -m resnext_edu sweep --budget full" in text
        )
        return
    phrases = expected_phrases("full", "test_error")
    phrases += (
        expected_phrases("full", "train_error")
        + [p for p in [time_phrase()] if p]
        + table4_phrases("full")
    )
    missing = [p for p in phrases if p not in text]
    assert not missing, f"05_cardinality_sweep did not print {missing}"

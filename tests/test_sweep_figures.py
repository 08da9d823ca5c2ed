"""Lesson 05's figures encode each error as a bar's length or a point's height, so their value axes
must start at zero and show the values of the files (the measured panels) and of the paper's Tables 3
and 4 (their own panels), read here straight from the JSON files, not through the package's
summaries; the Welch intervals of the differences figure are SciPy's."""

from __future__ import annotations

import json
from collections import defaultdict

import matplotlib
import pytest
from scipy import stats as scipy_stats

from resnext_edu.sweep import SHIPPED, shipped, summarize
from resnext_edu.sweep.figures import beside_paper, differences_figure, sweeps_figure

matplotlib.use("Agg")

PAPER_JSON = SHIPPED.parent / "reference" / "paper.json"


def bars_of(ax) -> dict[str, tuple[float, float]]:
    """{tick label: (left edge, length)} of a horizontal bar chart."""
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return {label: (bar.get_x(), bar.get_width()) for label, bar in zip(labels, ax.patches)}


def test_table4_bars_start_at_zero_and_are_the_files_and_the_papers_values():
    lesson = shipped("lesson")
    twice = defaultdict(list)  # the 2x models' test error (%), per model, from the raw JSON files
    for path in sorted((SHIPPED / "lesson").glob("*.json")):
        raw = json.loads(path.read_text())
        if raw["config"]["scale"] == 2:
            twice[raw["config"]["model_name"]].append(100 * (1 - raw["final"]["test_acc"]))
    assert len(twice) == 4, sorted(twice)

    fig = beside_paper("table4", summarize(lesson.results, "test_error"), "test_error")
    measured, paper_ax = fig.axes[:2]
    for ax in (measured, paper_ax):
        assert ax.get_xlim()[0] == 0
        assert all(left == 0 for left, _ in bars_of(ax).values())

    lengths = {
        label.split("\n")[1]: length
        for label, (_, length) in bars_of(measured).items()
        if label.startswith("2x")
    }
    assert lengths.keys() == twice.keys()
    for name, errors in twice.items():
        assert lengths[name] == pytest.approx(sum(errors) / len(errors))
    written = [t.get_text() for t in measured.texts]
    for name, errors in twice.items():
        assert f"{sum(errors) / len(errors):.1f} (n={len(errors)})" in written

    top1 = [row["top1"] for row in json.loads(PAPER_JSON.read_text())["table4"]["rows"]]
    assert [length for _, length in bars_of(paper_ax).values()] == pytest.approx(top1)
    assert [t.get_text() for t in paper_ax.texts] == [f"{v:.1f}" for v in top1]


def ladder_errors(budget: str) -> dict[int, list[float]]:
    """{C: the 1x cardinality models' test errors (%)} of a shipped sweep, from the raw JSON files."""
    errors = defaultdict(list)
    for path in sorted((SHIPPED / budget).glob("*.json")):
        raw = json.loads(path.read_text())
        if raw["config"]["scale"] == 1 and raw["config"]["axis"] == "cardinality":
            errors[raw["config"]["cardinality"]].append(100 * (1 - raw["final"]["test_acc"]))
    return dict(errors)


def test_the_sweeps_figure_draws_the_files_means_from_zero_on_one_scale_beside_the_paper():
    tiny, full = (summarize(shipped(budget).results, "test_error") for budget in ("lesson", "full"))
    fig = sweeps_figure(tiny, full)
    *measured, paper_ax = fig.axes[:3]
    for ax, budget in zip(measured, ("lesson", "full")):
        errors = ladder_errors(budget)
        means = ax.lines[0]  # the first line: the means, joined
        assert list(means.get_xdata()) == sorted(errors)
        assert list(means.get_ydata()) == pytest.approx(
            [sum(errors[c]) / len(errors[c]) for c in sorted(errors)]
        )
        assert [t.get_text() for t in ax.texts] == [f"n={len(errors[c])}" for c in sorted(errors)]
        assert ax.get_ylim() == measured[0].get_ylim() and ax.get_ylim()[0] == 0
        largest = max(v for values in errors.values() for v in values)
        assert ax.get_ylim()[1] > largest
    table3 = json.loads(PAPER_JSON.read_text())["table3"]["rows"]
    assert [list(line.get_ydata()) for line in paper_ax.lines] == [
        [row["error_50"] for row in table3],
        [row["error_101"] for row in table3],
    ]
    assert paper_ax.get_ylim()[0] == 0
    assert all(line.get_label().startswith("paper") for line in paper_ax.lines)


def test_the_differences_figure_draws_scipys_welch_intervals_of_the_files():
    errors = ladder_errors("full")
    fig = differences_figure(summarize(shipped("full").results, "test_error"), "title")
    ax = fig.axes[0]
    others = [c for c in sorted(errors) if c != 1]
    tests = [scipy_stats.ttest_ind(errors[c], errors[1], equal_var=False) for c in others]
    points = ax.lines[0]
    assert list(points.get_xdata()) == others
    assert list(points.get_ydata()) == pytest.approx(
        [sum(errors[c]) / len(errors[c]) - sum(errors[1]) / len(errors[1]) for c in others]
    )
    bars = ax.collections[0].get_segments()  # one vertical segment per interval, low to high
    intervals = [t.confidence_interval(0.95) for t in tests]
    drawn = [end for segment in bars for end in (segment[0][1], segment[1][1])]
    assert drawn == pytest.approx([end for i in intervals for end in (i.low, i.high)])
    assert [t.get_text() for t in ax.texts] == [f"df {t.df:.1f}" for t in tests]

"""Lesson 05's bar charts of Table 4 encode each value as a bar's length, so they must start at zero and show the
values of the files (the measured panel) and of the paper's Table 4 (the other panel), read here straight from the
JSON files, not through the package's summaries."""

from __future__ import annotations

import json
from collections import defaultdict

import matplotlib
import pytest

from resnext_edu.sweep import SHIPPED, shipped, summarize
from resnext_edu.sweep.figures import table4_figure

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

    fig = table4_figure(summarize(lesson.results, "test_error"), "test_error")
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

"""Self-checks of lesson 05: the right answers (recomputed here from the shipped files with json and
scipy.stats, not resnext_edu.stats) pass, the usual slips get a specific hint, and nothing a learner
types makes a check raise."""

import json
import statistics
from pathlib import Path

import pytest
from scipy import stats as scipy_stats

from resnext_edu.exercises import lesson05

FULL = Path(__file__).resolve().parent.parent / "resnext_edu" / "results" / "full"


def errors(setting: str) -> list[float]:
    """The full sweep's test errors (%) of one complexity-matched model, one per seed."""
    out = []
    for path in sorted(FULL.glob("full-1x_*.json")):
        raw = json.loads(path.read_text())
        if raw["config"]["setting"] == setting:
            out.append(100 * (1 - raw["final"]["test_acc"]))
    return out


def test_exercise_1_right_answer_passes_and_slips_are_named():
    a, b = errors("16x8d"), errors("4x25d")
    welch = scipy_stats.ttest_ind(a, b, equal_var=False)
    diff = statistics.mean(a) - statistics.mean(b)
    right = lesson05.check_welch(diff, welch.df)
    assert right.passed and f"Welch df {welch.df:.1f}" in right.message, str(right)
    assert "wrong sign" in lesson05.check_welch(-diff, welch.df).message
    student = lesson05.check_welch(diff, len(a) + len(b) - 2)
    assert not student.passed and "Student" in student.hint, str(student)
    assert not lesson05.check_welch(diff + 0.5, welch.df).passed


@pytest.mark.parametrize(
    "answer", [(None, None), (None, 2.0), ("a lot", 2.0), (..., ...), ([1], 2)]
)
def test_exercise_1_odd_answers_do_not_raise(answer):
    assert not lesson05.check_welch(*answer).passed


def test_exercise_2_the_prediction_is_judged_by_the_interval():
    a, b = errors("32x4d"), errors("4x25d")
    ci = scipy_stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    holds_zero = ci.low <= 0 <= ci.high
    assert lesson05.check_plateau(holds_zero).passed
    assert not lesson05.check_plateau(not holds_zero).passed
    assert (
        not lesson05.check_plateau(None).passed
        and "Fill in" in lesson05.check_plateau(None).message
    )
    assert "True or False" in lesson05.check_plateau("yes").message

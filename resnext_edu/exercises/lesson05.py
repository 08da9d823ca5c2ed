"""Self-checks for lesson 05 (the cardinality sweep). Expected values come from the shipped result files and the
width solver, never from typed-in numbers."""

from __future__ import annotations

from ..sweep import cardinality_configs, shipped, summarize
from . import Feedback, check_number, empty


def _lesson_rows():
    found = shipped("lesson")
    rows = [r for r in summarize(found.results) if r.config.scale == 1 and r.config.axis == "cardinality"]
    return {r.config.cardinality: r for r in rows}


def check_difference(difference, standard_error, cardinality: int = 32) -> Feedback:
    """Exercise 1: the shipped sweep's mean test accuracy of ``cardinality`` minus that of C = 1 (percentage
    points), and the standard error of that difference, sqrt(s_C^2 / n_C + s_1^2 / n_1)."""
    rows = _lesson_rows()
    if 1 not in rows or cardinality not in rows:
        return Feedback(False, "The shipped lesson results are not installed, so there is nothing to check against.",
                        "Reinstall the package (pip install -e .) or check resnext_edu/results/lesson/.")
    a, b = rows[cardinality], rows[1]
    expected_diff = a.mean - b.mean
    expected_se = (a.std ** 2 / a.n + b.std ** 2 / b.n) ** 0.5
    if difference is None or standard_error is None:
        return empty("both numbers")
    try:
        diff, se = float(difference), float(standard_error)
    except (TypeError, ValueError):
        return Feedback(False, f"Both answers should be numbers, got {difference!r} and {standard_error!r}.")
    if abs(diff - expected_diff) > 0.01 + 0.01 * abs(expected_diff):
        hint = "Subtract in the order asked: C = {0} minus C = 1, in percentage points.".format(cardinality)
        if abs(diff + expected_diff) <= 0.01 + 0.01 * abs(expected_diff):
            return Feedback(False, "Your difference has the wrong sign.", hint)
        return Feedback(False, f"The difference of the means is off (you have {diff:.2f}).", hint)
    if abs(se - expected_se) > 0.01 + 0.02 * expected_se:
        hint = "The variance of a mean is s^2 / n; the variances of two independent means add. Use the sample std."
        return Feedback(False, f"The difference is right; the standard error is off (you have {se:.2f}).", hint)
    ratio = expected_diff / expected_se if expected_se else float("inf")
    verdict = ("more than two standard errors: unlikely to be the seeds' noise alone" if abs(ratio) > 2 else
               "less than two standard errors: the seeds' noise alone could produce a difference this large")
    return Feedback(True, f"{cardinality}x vs 1x: {expected_diff:+.2f} points, standard error {expected_se:.2f}, "
                          f"ratio {ratio:+.1f}: {verdict}.")


def verify_matched_width(prediction, cardinality: int = 16, budget: str = "medium") -> Feedback:
    """Exercise 2, predict then verify: the learner predicts the complexity-matched d for ``cardinality`` at another
    budget; only then does this run the model width solver (:func:`~resnext_edu.sweep.cardinality_configs`) and show
    the parameter counts it weighed."""
    if prediction is None or prediction is ...:
        return empty("your prediction (a whole number; reason from the lesson budget's table before you measure)")
    try:
        guess = int(prediction)
    except (TypeError, ValueError):
        return Feedback(False, f"A bottleneck width is a whole number, got {prediction!r}.")
    config = cardinality_configs(budget, (cardinality,))[0]
    baseline = cardinality_configs(budget, (1,))[0]
    measured = (f"The solver at the {budget!r} budget says d = {config.base_width}: {config.params:,} params "
                f"against the budget of {baseline.params:,} (1x{baseline.base_width}d), "
                f"{100 * (config.params / baseline.params - 1):+.1f}%.")
    if guess == config.base_width:
        return Feedback(True, f"Your prediction d = {guess} is right. {measured}")
    return Feedback(False, f"You predicted d = {guess}. {measured}",
                    "Every stage scales alike, so the matched d does not depend on the stage widths; compare with "
                    "the lesson budget's table in Section 1.")

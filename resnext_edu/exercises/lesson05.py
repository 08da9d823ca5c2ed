"""Self-checks for lesson 05 (the cardinality sweep). Expected values come from the shipped result
files, the statistics of :mod:`resnext_edu.stats` and the width solver, never from typed-in numbers.
"""

from __future__ import annotations

import numpy as np

from .. import stats
from ..i18n import N_, _
from ..sweep import cardinality_configs, results, shipped, summarize
from . import Feedback, check_predicted_width, empty


def _full_ladder() -> dict:
    """The full sweep's complexity-matched models in test error: {setting: Row}."""
    rows = summarize(shipped("full").results, "test_error")
    models = results.ladder(rows, rows[0].key) if rows else {}
    return {r.config.setting: r for r in models.values()}


def _missing(ladder: dict, *settings: str) -> Feedback | None:
    absent = [s for s in settings if s not in ladder or ladder[s].n < 2]
    if not absent:
        return None
    return Feedback(
        False,
        _(
            "The shipped full sweep lacks two seeds of {models}, so there is nothing to check against."
        ).format(models=", ".join(absent)),
        _("Reinstall the package (pip install -e .) or look in resnext_edu/results/full/."),
    )


def _number(value, what: str) -> float | Feedback:
    try:
        return float(value)
    except (TypeError, ValueError):
        return Feedback(
            False,
            _("{what} should be a number, got {answer!r}.").format(what=_(what), answer=value),
        )


def check_welch(difference, df, high: str = "16x8d", low: str = "4x25d") -> Feedback:
    """Exercise 1: in the full sweep, the mean test error of ``high`` minus that of ``low`` (points)
    and the Welch-Satterthwaite degrees of freedom of that difference."""
    if difference is None or df is None:
        return empty(_("both numbers"))
    ladder = _full_ladder()
    problem = _missing(ladder, high, low)
    if problem:
        return problem
    w = stats.welch(ladder[high].values, ladder[low].values)
    diff = _number(difference, N_("The difference"))
    if isinstance(diff, Feedback):
        return diff
    dof = _number(df, N_("The degrees of freedom"))
    if isinstance(dof, Feedback):
        return dof
    if abs(diff - w.diff) > 0.01:
        hint = _("Subtract in the order asked: {high} minus {low}, test error in points.").format(
            high=high, low=low
        )
        if abs(diff + w.diff) <= 0.01:
            return Feedback(False, _("Your difference has the wrong sign."), hint)
        return Feedback(
            False,
            _("The difference of the means is off (you have {diff:.2f}).").format(diff=diff),
            hint,
        )
    if abs(dof - w.df) > 0.05:
        hint = _(
            "v = s^2 / n for each model; df = (v_a + v_b)^2 / (v_a^2 / (n_a - 1) + "
            "v_b^2 / (n_b - 1)). Use the sample variance (n - 1 in its denominator)."
        )
        if abs(dof - (ladder[high].n + ladder[low].n - 2)) < 0.05:
            hint = _("That is Student's n_a + n_b - 2, which assumes equal spreads. {hint}").format(
                hint=hint
            )
        return Feedback(
            False,
            _("The difference is right; the df is off (you have {df:.2f}).").format(df=dof),
            hint,
        )
    return Feedback(
        True,
        _("{high} minus {low}: {result}: {verdict}.").format(
            high=high, low=low, result=w.describe(), verdict=w.verdict
        ),
    )


def check_plateau(prediction, high: str = "32x4d", low: str = "4x25d") -> Feedback:
    """Exercise 2, predict then check: does the 95% Welch interval of ``high`` minus ``low`` in the
    full sweep hold 0? The learner answers True (it holds 0) or False before the test is run."""
    if prediction is None or prediction is ...:
        return empty(_("your prediction, True or False (decide before you look)"))
    if not isinstance(prediction, (bool, np.bool_)):
        return Feedback(
            False, _("Answer True or False, got {prediction!r}.").format(prediction=prediction)
        )
    prediction = bool(prediction)
    ladder = _full_ladder()
    problem = _missing(ladder, high, low)
    if problem:
        return problem
    w = stats.welch(ladder[high].values, ladder[low].values)
    holds_zero = not w.excludes_zero
    said = _("{high} minus {low}: {result}: {verdict}.").format(
        high=high, low=low, result=w.describe(), verdict=w.verdict
    )
    if prediction == holds_zero:
        return Feedback(True, _("Your prediction is right. {said}").format(said=said))
    return Feedback(
        False,
        _("You predicted {prediction}. {said}").format(prediction=prediction, said=said),
        _("Look at how far the ladder's means lie apart from C = 4 on, against their spread."),
    )


def verify_matched_width(prediction, cardinality: int = 16, budget: str = "medium") -> Feedback:
    """Exercise 3, predict then verify: the learner predicts the complexity-matched d for
    ``cardinality`` at another budget; only then does this run the model width solver
    (:func:`~resnext_edu.sweep.cardinality_configs`) and show the parameter counts it weighed."""

    def solve(guess: int) -> tuple[int, str]:
        config = cardinality_configs(budget, (cardinality,))[0]
        baseline = cardinality_configs(budget, (1,))[0]
        return config.base_width, _(
            "The solver at the {budget!r} budget says d = {d}: {params:,} params against the budget of "
            "{budget_params:,} (1x{base}d), {share:+.1f}%."
        ).format(
            budget=budget,
            d=config.base_width,
            params=config.params,
            budget_params=baseline.params,
            base=baseline.base_width,
            share=100 * (config.params / baseline.params - 1),
        )

    return check_predicted_width(
        prediction,
        solve,
        asked=_(
            "your prediction (a whole number; reason from the lesson budget's table before you "
            "measure)"
        ),
        hint=_(
            "Every stage scales alike, so the matched d does not depend on the stage widths; compare "
            "with the table of Section 1."
        ),
    )

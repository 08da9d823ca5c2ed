"""Self-checks for lesson 04 (counting params and MACs). The expected values come from the package's formulas,
which the tests check against the measured counter."""

from __future__ import annotations

from .. import counting
from ..i18n import _
from . import Feedback, check_number, check_predicted_width

# Exercise 1 and 2: a block of ResNeXt-50's conv3 stage (Table 1): 512 -> 512 channels, C = 32, d = 8, 28x28 maps.
CONV3_BLOCK = {"in_channels": 512, "out_channels": 512, "cardinality": 32, "bottleneck_width": 8}
CONV3_SIZE = 28


def check_conv3_params(answer) -> Feedback:
    """Eq. 4 for a conv3-stage block of ResNeXt-50 (512 -> 512, C = 32, d = 8): conv weights only."""
    b = CONV3_BLOCK
    return check_number(
        answer,
        counting.eq4_params(
            b["cardinality"], b["bottleneck_width"], b["in_channels"], b["out_channels"]
        ),
        what=_("the conv weights of the conv3 block (Eq. 4)"),
        hint=_(
            "C·(in·d + 3·3·d·d + d·out) with in = out = 512, C = 32, d = 8. "
            "Count weights only: no BN, no shortcut."
        ),
    )


def check_conv3_macs(answer) -> Feedback:
    """MACs per image of that block on its 28x28 map (no stride, identity shortcut)."""
    expected = counting.block_macs(**CONV3_BLOCK, input_size=CONV3_SIZE)
    feedback = check_number(
        answer,
        expected,
        what=_("the MACs of the conv3 block at 28x28"),
        hint=_(
            "Every conv weight is used once per output position: Eq. 4 x 28·28. "
            "MACs, not FLOPs (FLOPs would be twice as many)."
        ),
    )
    if not feedback.passed and answer not in (None, ...):
        try:
            if float(answer) == 2 * expected:
                return Feedback(
                    False,
                    _(
                        "You have counted FLOPs (2 per multiply-accumulate); the question "
                        "asks for MACs."
                    ),
                    _("Halve it."),
                )
        except (TypeError, ValueError):
            pass
    return feedback


def verify_matched_width(prediction, cardinality: int = 64, budget_percent: int = 200) -> Feedback:
    """Exercise 3, predict then verify: the learner predicts the complexity-matched d for ``cardinality`` at
    ``budget_percent`` of ResNet's conv2 block (Table 4: 2x); only then does this run the width solver and show Eq. 4
    at the solver's d and its neighbours, so the learner sees why."""
    budget = counting.eq4_params(1, 64) * budget_percent // 100

    def solve(guess: int) -> tuple[int, str]:
        d = counting.solve_bottleneck_width(cardinality, budget=budget)
        row = _("d = {d}: {params:,} ({share:.1f}% of the budget)")
        table = "; ".join(
            row.format(
                d=w,
                params=counting.eq4_params(cardinality, w),
                share=100 * counting.eq4_params(cardinality, w) / budget,
            )
            for w in sorted({max(1, d - 1), d, d + 1, max(1, guess)})
        )
        return d, _(
            "The solver, counting.solve_bottleneck_width({C}, budget={budget:,}), says d = {d}. "
            "{table}."
        ).format(C=cardinality, budget=budget, d=d, table=table)

    return check_predicted_width(
        prediction,
        solve,
        asked=_(
            "your prediction (a whole number; reason with Eq. 4 before you let the solver answer)"
        ),
        hint=_(
            "Eq. 4 grows with d·d, so doubling the budget does not double d; compare the rows above."
        ),
    )

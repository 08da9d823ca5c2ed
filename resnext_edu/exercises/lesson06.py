"""Self-checks for lesson 06 (training ResNeXt-29). The expected values come from the package: the measured MACs of
ResNeXt-29 8x64d (:func:`resnext_edu.counting.count`), the paper's recipe (:func:`resnext_edu.estimate.paper_recipe`)
and the estimate's formula (:func:`resnext_edu.estimate.training_flops_per_image`)."""

from __future__ import annotations

from dataclasses import replace

from .. import counting, estimate
from ..i18n import _
from . import Feedback, check_number, empty

PAPER_MODEL = "resnext29_8x64d"
SUSTAINED_TFLOPS = 20.0  # the exercise's GPU: 20 x 10^12 FLOP/s of useful work, sustained
TOLERANCE = 0.05  # 5%: rounding 5.387 G to 5.4 G, or 14,976,000 images to 15 million, is fine


def paper_hours(sustained_tflops: float = SUSTAINED_TFLOPS) -> float:
    """Hours of training (no evaluation) of the paper's recipe for ResNeXt-29 8x64d at ``sustained_tflops``."""
    macs = counting.count(PAPER_MODEL).macs
    images = estimate.paper_recipe().epochs * estimate.paper_recipe().train_images
    return images * estimate.training_flops_per_image(macs) / (sustained_tflops * 1e12) / 3600


def check_paper_hours(answer, sustained_tflops: float = SUSTAINED_TFLOPS) -> Feedback:
    """Exercise 1: the hours the paper's 300 epochs of ResNeXt-29 8x64d need on a GPU that sustains
    ``sustained_tflops`` TFLOP/s (training only). Recognises the usual slips: MACs taken as FLOPs, the backward pass
    forgotten, seconds or minutes instead of hours."""
    expected = paper_hours(sustained_tflops)
    hint = _(
        "One step at a time: first, how many training images do the 300 epochs process in all? Then, how "
        "many FLOPs does one training image cost? (Section 2 of the lesson says what to multiply the MACs by, "
        "and why.)"
    )
    feedback = check_number(
        answer,
        expected,
        what=_("hours at {tflops:g} TFLOP/s").format(tflops=sustained_tflops),
        hint=hint,
        tolerance=TOLERANCE,
    )
    if feedback.passed:
        return Feedback(
            True,
            _(
                "About {hours:.1f} hours at {tflops:g} TFLOP/s sustained, before any evaluation, "
                "checkpointing or Colab disconnects. A T4 sustains well below its 65 TFLOP/s peak, "
                "which is why the lesson's estimate is longer."
            ).format(hours=expected, tflops=sustained_tflops),
        )
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return feedback
    slips = [
        (
            expected / 2,
            _("You used MACs as FLOPs: one multiply-accumulate is 2 FLOPs."),
            _("Multiply by 2."),
        ),
        (
            expected / 3,
            _(
                "You counted the forward pass only; training also runs the backward pass, about "
                "twice the forward's work."
            ),
            _("Multiply the forward FLOPs by 3."),
        ),
        (
            expected / 6,
            _(
                "You counted forward MACs only: a MAC is 2 FLOPs, and backward adds twice the "
                "forward."
            ),
            _("Multiply by 2 x 3 = 6."),
        ),
        (
            expected * 3600,
            _("That is the right time in seconds; the question asks for hours."),
            _("Divide by 3,600."),
        ),
        (
            expected * 60,
            _("That is the right time in minutes; the question asks for hours."),
            _("Divide by 60."),
        ),
    ]
    for wrong, message, slip_hint in slips:
        if abs(value - wrong) <= TOLERANCE * wrong:
            return Feedback(False, message, slip_hint)
    return feedback


def check_paper_steps(total_steps, first_drop_step=None, batch_size: int = 256) -> Feedback:
    """Exercise 2: the paper's 300 epochs at another ``batch_size`` (default 256, as on a GPU with memory to spare):
    how many SGD steps in this course's loop (which drops the last partial batch of each epoch), and the step
    after which the learning rate first drops (epoch 150)."""
    recipe = replace(estimate.paper_recipe(), batch_size=batch_size)
    steps, per_epoch = recipe.steps, recipe.steps_per_epoch
    drop = recipe.epochs // 2 * per_epoch
    hint = _(
        "Steps per epoch = {images:,} // {batch} (whole batches only); the first drop comes after half of the "
        "{epochs} epochs."
    ).format(images=recipe.train_images, batch=batch_size, epochs=recipe.epochs)
    floor = _("Use floor division: {images:,} // {batch}.").format(
        images=recipe.train_images, batch=batch_size
    )
    if total_steps is None or total_steps is ...:
        return empty(_("total_steps (and first_drop_step)"))
    try:
        total = float(total_steps)
    except (TypeError, ValueError):
        return Feedback(
            False,
            _("total_steps should be a number, got {answer!r}.").format(answer=total_steps),
            hint,
        )
    leftover = recipe.train_images % batch_size
    if leftover and total == recipe.epochs * (per_epoch + 1):
        return Feedback(
            False,
            _(
                "{total:,.0f} counts the last, partial batch of each epoch ({leftover} images). "
                "The course's loop drops it, so every step has exactly {batch} images."
            ).format(total=total, leftover=leftover, batch=batch_size),
            floor,
        )
    if leftover and total == recipe.epochs * recipe.train_images / batch_size:
        return Feedback(False, _("An epoch cannot have a fraction of a step."), floor)
    feedback = check_number(total_steps, steps, what=_("the total number of SGD steps"), hint=hint)
    if not feedback.passed:
        return feedback
    if first_drop_step is None or first_drop_step is ...:
        return Feedback(
            False,
            _("total_steps = {steps:,} is right. Now fill in first_drop_step.").format(steps=steps),
        )
    drop_feedback = check_number(
        first_drop_step,
        drop,
        what=_("the step of the first learning-rate drop"),
        hint=_("{epochs} epochs x {per_epoch} steps.").format(
            epochs=recipe.epochs // 2, per_epoch=per_epoch
        ),
    )
    if not drop_feedback.passed:
        return drop_feedback
    return Feedback(
        True,
        _(
            "{steps:,} steps in all ({per_epoch} per epoch); the learning rate falls by 10x after "
            "step {drop:,} and again after step {second:,}. Larger batches mean fewer steps, so the "
            "peak learning rate is usually scaled with the batch (0.1 x {batch} / 128 = {lr:g}, the "
            "linear scaling rule of Goyal et al. 2017)."
        ).format(
            steps=steps,
            per_epoch=per_epoch,
            drop=drop,
            second=recipe.epochs * 3 // 4 * per_epoch,
            batch=batch_size,
            lr=0.1 * batch_size / 128,
        ),
    )

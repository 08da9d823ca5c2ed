"""Argument checks shared by every module: each says what was wrong, what is allowed, and what to try.

One place for them (CONTRIBUTING.md, "One idea per module"), so a learner's mistake gets the same
kind of message from a block, a model, a training config or a sweep. Whole numbers go through
:func:`operator.index`: Python and NumPy integers pass, ``True`` and ``2.0`` do not (a bool is an
int to Python, but never a sensible width or count).
"""

from __future__ import annotations

import operator


def check_int(
    name: str,
    value,
    *,
    low: int | None = None,
    high: int | None = None,
    unit: str = "",
    hint: str = "",
) -> int:
    """Return ``value`` as an ``int`` if it is a whole number in ``[low, high]`` (either bound optional).

    Raises a ValueError such as "crop_padding is a whole number of pixels from 0 to 16, got 17. The paper pads by 4."
    """
    number = None
    if not isinstance(value, bool):
        try:
            number = operator.index(value)
        except TypeError:
            pass
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        allowed = (
            f" from {low} to {high}"
            if low is not None and high is not None
            else f" >= {low}"
            if low is not None
            else f" <= {high}"
            if high is not None
            else ""
        )
        raise ValueError(
            f"{name} is a whole number{' of ' + unit if unit else ''}{allowed}, got {value!r}."
            f"{' ' + hint if hint else ''}"
        )
    return number


def check_positive_int(name: str, value, hint: str = "") -> int:
    """Return ``value`` as an ``int`` if it is a positive whole number, else raise a ValueError a learner can act on."""
    try:
        return check_int(name, value, low=1)
    except ValueError:
        raise ValueError(
            f"{name} must be a positive integer (1, 2, 3, ...), got {value!r}."
            f"{' ' + hint if hint else ''}"
        ) from None


def check_choice(name: str, value, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError listing them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}.")
    return value


def check_fraction(name: str, value, *, closed_high: bool = False, hint: str = "") -> float:
    """Return ``value`` if it is a number in [0, 1) (or [0, 1] with ``closed_high``), else raise a ValueError."""
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (0 <= value <= 1 if closed_high else 0 <= value < 1)
    )
    if not ok:
        raise ValueError(
            f"{name} is a fraction in [0, 1{']' if closed_high else ')'}, got {value!r}."
            f"{' ' + hint if hint else ''}"
        )
    return value


def check_batch_fits(batch_size: int, images: int) -> int:
    """Return ``batch_size`` if an epoch of ``images`` holds at least one full batch of it (lessons 05 and 06)."""
    if batch_size > images:
        raise ValueError(
            f"batch_size {batch_size:,} is larger than the {images:,} training images, so an epoch "
            f"would have no full batch. Use a batch size of at most {images:,} (128 is the paper's), "
            f"or more data."
        )
    return batch_size


def check_resize_schedule(schedule) -> None:
    """``((side, fraction), ...)``: whole sides from 8 to 32 pixels, fractions of the epochs above 0
    adding up to at most 1 (the rest of the epochs train at full size; see
    :func:`resnext_edu.augment.side_for_epoch`)."""
    hint = (
        "Give pairs (side in pixels, fraction of the epochs), e.g. ((16, 0.3), (24, 0.3)): 30% of "
        "the epochs on 16x16 images, 30% on 24x24, the rest at full size; () trains at full size "
        "throughout."
    )
    try:
        pairs = [(side, float(fraction)) for side, fraction in schedule]
    except (TypeError, ValueError):
        raise ValueError(
            f"resize_schedule must be a sequence of (side, fraction) pairs, got {schedule!r}. "
            f"{hint}"
        ) from None
    for side, fraction in pairs:
        check_int("a resize_schedule side", side, low=8, high=32, unit="pixels", hint=hint)
        if not 0 < fraction <= 1:
            raise ValueError(
                f"a resize_schedule fraction must be above 0 and at most 1, got {fraction!r}. "
                f"{hint}"
            )
    total = sum(fraction for _, fraction in pairs)
    if total > 1 + 1e-9:
        raise ValueError(
            f"resize_schedule's fractions add up to {total:g}, more than all the epochs. {hint}"
        )


def check_train_config(config, *, schedules, precisions) -> None:
    """Refuse a :class:`~resnext_edu.config.TrainConfig` with a setting out of range.

    ``schedules`` and ``precisions`` are the names allowed (``config.SCHEDULES`` and
    ``device.PRECISIONS``), passed in because those modules import this one.
    """
    check_positive_int("epochs", config.epochs)
    check_positive_int("batch_size", config.batch_size, "128 is the paper's.")
    check_positive_int("eval_batch_size", config.eval_batch_size)
    last_always = "1 evaluates after every epoch; the last epoch always is."
    check_positive_int("eval_from", config.eval_from, last_always)
    check_choice("schedule", config.schedule, schedules)
    check_choice("precision", config.precision, precisions)
    if not config.lr > 0:
        raise ValueError(
            f"lr must be positive, got {config.lr!r}. The paper uses 0.1 at batch size 128."
        )
    check_fraction("momentum", config.momentum, hint="The paper uses 0.9.")
    check_fraction("weight_decay", config.weight_decay, hint="The paper's CIFAR value is 5e-4.")
    check_fraction("label_smoothing", config.label_smoothing, hint="0.1 is common.")
    padding_hint = "The paper pads by 4."
    check_int("crop_padding", config.crop_padding, low=0, high=16, unit="pixels", hint=padding_hint)
    check_fraction("warmup", config.warmup, hint="Try 0.2.")
    check_resize_schedule(config.resize_schedule)

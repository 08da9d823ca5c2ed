"""Argument checks shared by every module: each says what was wrong, what is allowed, and what to try.

One place for them (CONTRIBUTING.md, "One idea per module"), so a learner's mistake gets the same
kind of message from a block, a model, a training config or a sweep. Whole numbers go through
:func:`operator.index`: Python and NumPy integers pass, ``True`` and ``2.0`` do not (a bool is an
int to Python, but never a sensible width or count).
"""

from __future__ import annotations

import operator


def check_int(name: str, value, *, low: int | None = None, high: int | None = None, unit: str = "",
              hint: str = "") -> int:
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
        allowed = (f" from {low} to {high}" if low is not None and high is not None else
                   f" >= {low}" if low is not None else f" <= {high}" if high is not None else "")
        raise ValueError(f"{name} is a whole number{' of ' + unit if unit else ''}{allowed}, got {value!r}."
                         f"{' ' + hint if hint else ''}")
    return number


def check_positive_int(name: str, value, hint: str = "") -> int:
    """Return ``value`` as an ``int`` if it is a positive whole number, else raise a ValueError a learner can act on."""
    try:
        return check_int(name, value, low=1)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer (1, 2, 3, ...), got {value!r}."
                         f"{' ' + hint if hint else ''}") from None


def check_choice(name: str, value, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError listing them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}.")
    return value


def check_fraction(name: str, value, *, closed_high: bool = False, hint: str = "") -> float:
    """Return ``value`` if it is a number in [0, 1) (or [0, 1] with ``closed_high``), else raise a ValueError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (0 <= value <= 1 if closed_high
                                                                               else 0 <= value < 1)
    if not ok:
        raise ValueError(f"{name} is a fraction in [0, 1{']' if closed_high else ')'}, got {value!r}."
                         f"{' ' + hint if hint else ''}")
    return value


def check_batch_fits(batch_size: int, images: int) -> int:
    """Return ``batch_size`` if an epoch of ``images`` holds at least one full batch of it (lessons 05 and 06)."""
    if batch_size > images:
        raise ValueError(f"batch_size {batch_size:,} is larger than the {images:,} training images, so an epoch "
                         f"would have no full batch. Use a batch size of at most {images:,} (128 is the paper's), "
                         f"or more data.")
    return batch_size

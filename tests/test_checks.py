"""The shared argument checks (resnext_edu.checks): what passes, what is refused, and that the message says both."""

import numpy as np
import pytest

from resnext_edu.checks import (
    check_batch_fits,
    check_choice,
    check_fraction,
    check_int,
    check_positive_int,
)


def test_whole_numbers_include_numpy_integers_but_not_bools_or_floats():
    assert check_int("n", np.int64(3), low=1) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_positive_int("C", np.int32(8)) == 8
    for bad in (True, 2.0, "2", None, 0, -1):
        with pytest.raises(ValueError, match=r"C must be a positive integer \(1, 2, 3, ...\), got"):
            check_positive_int("C", bad)


def test_ranges_and_units_are_named_in_the_message():
    assert check_int("crop_padding", 0, low=0, high=16) == 0
    with pytest.raises(
        ValueError, match=r"crop_padding is a whole number of pixels from 0 to 16, got 17\. Try 4\."
    ):
        check_int("crop_padding", 17, low=0, high=16, unit="pixels", hint="Try 4.")
    with pytest.raises(ValueError, match="seed is a whole number >= 0, got -1"):
        check_int("seed", -1, low=0)


def test_choices_fractions_and_batches():
    assert check_choice("form", "A", ("A", "B", "C")) == "A"
    with pytest.raises(ValueError, match="form must be one of 'A', 'B', 'C', got 'D'"):
        check_choice("form", "D", ("A", "B", "C"))
    assert check_fraction("warmup", 0.0) == 0.0 and check_fraction("p", 1, closed_high=True) == 1
    for bad in (1.0, -0.1, True, "0.2"):
        with pytest.raises(ValueError, match=r"warmup is a fraction in \[0, 1\)"):
            check_fraction("warmup", bad)
    assert check_batch_fits(128, 50_000) == 128
    with pytest.raises(ValueError, match="batch_size 256 is larger than the 100 training images"):
        check_batch_fits(256, 100)

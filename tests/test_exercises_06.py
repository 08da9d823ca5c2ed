"""Self-checks of lesson 06: right answers pass, unanswered ones ask to fill in, the usual slips get a specific
hint, and nothing a learner types makes a check raise."""

import pytest

from resnext_edu.exercises import lesson06

# By hand: 300 epochs x 50,000 images x (2 x 3 x 5.387e9 FLOPs) / 20e12 FLOP/s / 3,600 s per hour
HOURS_BY_HAND = 300 * 50_000 * 6 * 5.387e9 / 20e12 / 3600  # 6.73 h


def test_the_expected_hours_agree_with_arithmetic_by_hand():
    assert lesson06.paper_hours() == pytest.approx(HOURS_BY_HAND, rel=1e-3)


@pytest.mark.parametrize("answer", [HOURS_BY_HAND, 6.7, 6.9, "6.73"])
def test_right_hours_pass(answer):
    feedback = lesson06.check_paper_hours(answer)
    assert feedback.passed and "6.7 hours" in feedback.message, str(feedback)


@pytest.mark.parametrize(
    "answer, words",
    [
        (HOURS_BY_HAND / 2, "MACs as FLOPs"),
        (HOURS_BY_HAND / 3, "backward"),
        (HOURS_BY_HAND / 6, "2 x 3"),
        (HOURS_BY_HAND * 3600, "seconds"),
        (HOURS_BY_HAND * 60, "minutes"),
    ],
)
def test_usual_slips_in_the_hours_get_named(answer, words):
    feedback = lesson06.check_paper_hours(answer)
    assert not feedback.passed and words in feedback.message + feedback.hint, str(feedback)


@pytest.mark.parametrize("answer", [None, ..., "six", [6.7], 100.0])
def test_unanswered_or_odd_hours_never_raise(answer):
    feedback = lesson06.check_paper_hours(answer)
    assert not feedback.passed and "Not yet." in str(feedback)
    assert bool(feedback.hint) == (
        answer not in (None, ...)
    )  # a hint only after a first wrong answer
    assert "Not yet." in feedback._repr_html_()


def test_hours_follow_the_stated_rate():
    assert lesson06.check_paper_hours(HOURS_BY_HAND / 2, sustained_tflops=40).passed


def test_steps_and_first_drop_at_batch_256():
    # By hand: 50,000 // 256 = 195 steps per epoch; 300 x 195 = 58,500; the first drop after 150 x 195 = 29,250
    right = lesson06.check_paper_steps(58_500, 29_250)
    assert right.passed and "0.2" in right.message, str(right)
    only_total = lesson06.check_paper_steps(58_500)
    assert not only_total.passed and "first_drop_step" in only_total.message
    assert not lesson06.check_paper_steps(58_500, 29_400).passed
    partial = lesson06.check_paper_steps(300 * 196, 150 * 196)
    assert not partial.passed and "partial batch" in partial.message and "//" in partial.hint
    assert "fraction" in lesson06.check_paper_steps(300 * 50_000 / 256).message
    assert not lesson06.check_paper_steps(117_000, 58_500).passed  # batch 128's answer
    for unanswered in (None, ...):
        feedback = lesson06.check_paper_steps(unanswered)
        assert not feedback.passed and "Fill in" in feedback.message
    assert not lesson06.check_paper_steps("many").passed


def test_steps_at_the_papers_batch_of_128():
    assert lesson06.check_paper_steps(117_000, 58_500, batch_size=128).passed
    assert "80 images" in lesson06.check_paper_steps(117_300, batch_size=128).message


def test_the_hours_hint_is_a_step_not_the_solution():
    hint = lesson06.check_paper_hours(100.0).hint
    assert "epochs" in hint and "5.387" not in hint and "3600" not in hint and "3,600" not in hint

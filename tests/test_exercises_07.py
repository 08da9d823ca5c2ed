"""Self-checks of lesson 07: right answers pass, wrong and unanswered ones get a hint, nothing raises."""

from resnext_edu.exercises import lesson07

# By hand, Eq. 4's middle term in stage 3 of ResNeXt-50 (stage width 256, d = floor(256 x 4 / 64) = 16, C = 32)
STAGE3_BY_HAND = 32 * 3 * 3 * 16 * 16  # 73,728


def test_stage3_paths_agree_with_eq4_by_hand():
    assert lesson07.stage3_path_params() == STAGE3_BY_HAND
    assert lesson07.check_stage3_path_params(STAGE3_BY_HAND).passed
    for wrong in (32 * 9 * 4 * 4, 9 * 512 * 512, None, "many"):
        assert not lesson07.check_stage3_path_params(wrong).passed


def test_top1_check_accepts_argmax_and_rejects_slips():
    def right(logits, categories):
        return [categories[i] for i in logits.argmax(dim=1).tolist()]

    def flat(logits, categories):  # argmax over the whole tensor: one name
        return categories[int(logits.argmax()) % len(categories)]

    def lowest(logits, categories):
        return [categories[i] for i in logits.argmin(dim=1).tolist()]

    def broken(logits, categories):
        raise KeyError("oops")

    assert lesson07.check_top1(right).passed
    for wrong in (flat, lowest, broken, None, ..., 3, lambda logits, categories: None):
        feedback = lesson07.check_top1(wrong)
        assert not feedback.passed and feedback.message


def test_fastest_form_is_read_from_the_measurement():
    times = {"A": 30.0, "B": 12.0, "C": 4.0}
    assert lesson07.check_fastest_form("c", times).passed
    assert not lesson07.check_fastest_form("A", times).passed
    assert lesson07.check_fastest_form("B", {"A": 3.0, "B": 1.0, "C": 2.0}).passed
    assert not lesson07.check_fastest_form(None, times).passed

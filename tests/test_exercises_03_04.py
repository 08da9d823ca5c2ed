"""Self-checks of lessons 03 and 04: right answers pass, unanswered ones ask to fill in, common slips get a hint,
and nothing a learner writes makes the check itself raise."""

import torch

from resnext_edu import counting
from resnext_edu.exercises import lesson03, lesson04


def form_b(block, x):
    ys = [branch(x) for branch in block.branches]
    out = block.bn3(block.conv3(torch.cat(ys, dim=1)))
    shortcut = x if block.downsample is None else block.downsample(x)
    return torch.relu(out + shortcut)


def test_a_correct_form_b_forward_passes():
    feedback = lesson03.check_form_b_forward(form_b)
    assert feedback.passed, str(feedback)
    assert "Correct!" in str(feedback) and "Correct!" in feedback._repr_html_()


def test_unanswered_form_b_asks_to_fill_in():
    def template(block, x):
        ys = ...  # noqa: F841  (the lesson's blank template, as the learner gets it)
        out = ...
        return out

    def not_implemented(block, x):
        raise NotImplementedError

    for answer in (None, ..., template, not_implemented):
        feedback = lesson03.check_form_b_forward(answer)
        assert not feedback.passed and ("fill" in feedback.message.lower()), feedback.message


def test_common_slips_get_a_specific_hint():
    def no_relu(block, x):
        return block.bn3(block.conv3(torch.cat([b(x) for b in block.branches], 1))) + x

    def identity_only(block, x):
        return torch.relu(block.bn3(block.conv3(torch.cat([b(x) for b in block.branches], 1))) + x)

    def no_bn3(block, x):
        shortcut = x if block.downsample is None else block.downsample(x)
        return torch.relu(block.conv3(torch.cat([b(x) for b in block.branches], 1)) + shortcut)

    def summed(block, x):  # sums the branches instead of concatenating: a shape error inside
        return torch.relu(block.conv3(sum(b(x) for b in block.branches)) + x)

    def wrong_shape(block, x):
        return torch.cat([b(x) for b in block.branches], 1)

    assert "ReLU" in lesson03.check_form_b_forward(no_relu).hint
    identity = lesson03.check_form_b_forward(
        identity_only
    )  # passes the first block, raises on the second
    assert "projection" in identity.message and "downsample" in identity.hint
    assert "bn3" in lesson03.check_form_b_forward(no_bn3).hint
    raised = lesson03.check_form_b_forward(summed)
    assert not raised.passed and "raised RuntimeError" in raised.message
    shape = lesson03.check_form_b_forward(wrong_shape)
    assert not shape.passed and "shape" in shape.message
    assert "function itself" in lesson03.check_form_b_forward(42).message


def test_dense_nonzeros():
    assert lesson03.dense_nonzeros(32, 4) == 32 * 4 * 4 * 9 == 4_608
    assert lesson03.check_dense_nonzeros(4_608).passed
    assert not lesson03.check_dense_nonzeros(128 * 128 * 9).passed
    assert "Fill in" in lesson03.check_dense_nonzeros(None).message


def test_lesson04_checks_use_the_counters_values():
    assert lesson04.check_conv3_params(280_576).passed
    assert counting.eq4_params(32, 8, 512, 512) == 280_576
    macs = 280_576 * 28 * 28
    assert lesson04.check_conv3_macs(macs).passed
    assert (
        counting.count(lesson04_block(), input_size=28).macs == macs
    )  # the measured counter agrees
    flops = lesson04.check_conv3_macs(2 * macs)
    assert not flops.passed and "FLOPs" in flops.message
    for check in (
        lesson04.check_conv3_params,
        lesson04.check_conv3_macs,
        lesson04.verify_matched_width,
    ):
        assert "Fill in" in check(...).message and "Fill in" in check(None).message
        assert not check(None).hint  # no hint before a first answer
        assert not check("sixty-four").passed


def test_lesson04_predict_then_verify():
    # 64x4d is Table 4's 2x-complexity model: 64·(256·4 + 9·4·4 + 4·256) = 140,288, ~ 2 x 69,632 = 139,264
    assert 64 * (256 * 4 + 9 * 4 * 4 + 4 * 256) == 140_288
    right = lesson04.verify_matched_width(4)
    assert right.passed and "140,288" in right.message
    wrong = lesson04.verify_matched_width(2)
    assert (
        not wrong.passed and "d = 4" in wrong.message and wrong.hint
    )  # the measurement is shown either way
    assert lesson04.verify_matched_width(None).message.startswith(
        "Fill in"
    )  # nothing measured before a prediction
    assert "solver" not in lesson04.verify_matched_width(None).message.split("(")[0]


def test_form_b_shortcut_is_recognised():
    feedback = lesson03.check_form_b_forward(lambda block, x: block(x))
    assert not feedback.passed and "block(x)" in feedback.message

    def skips_a_branch(block, x):  # the last branch replaced by zeros: never run
        ys = [branch(x) for branch in block.branches[:-1]]
        ys.append(torch.zeros_like(ys[0]))
        out = block.bn3(block.conv3(torch.cat(ys, dim=1)))
        return torch.relu(out + (x if block.downsample is None else block.downsample(x)))

    skipped = lesson03.check_form_b_forward(skips_a_branch)
    assert not skipped.passed and "never ran branch 3" in skipped.message
    assert lesson03.check_form_b_forward(form_b).passed  # the honest answer still passes


def lesson04_block():
    from resnext_edu.blocks import ResNeXtBlock

    return ResNeXtBlock(**lesson04.CONV3_BLOCK)

"""Self-checks of lessons 01 and 02: right answers pass, wrong ones get a hint, blanks ask to be filled in."""

from __future__ import annotations

import pytest
import torch

from resnext_edu import counting
from resnext_edu.blocks import Bottleneck
from resnext_edu.exercises import Feedback, lesson01, lesson02


def is_blank_prompt(feedback: Feedback) -> bool:
    """An unanswered cell (after "Run all") asks to be filled in and gives no hint away."""
    return (
        not feedback.passed
        and "fill in" in feedback.message.lower()
        and not feedback.hint
        and "Hint" not in str(feedback)
        and "Hint" not in feedback._repr_html_()
    )


def test_lesson01_bottleneck_params():
    assert lesson01.check_bottleneck_params(278_528)  # 512·128 + 3·3·128·128 + 128·512
    assert lesson01.check_bottleneck_params(
        256 * 64 + 9 * 64 * 64 + 64 * 256, in_channels=256, bottleneck_width=64, out_channels=256
    )
    wrong = lesson01.check_bottleneck_params(278_528 - 1)
    assert not wrong and "too low" in wrong.message and wrong.hint
    assert is_blank_prompt(lesson01.check_bottleneck_params(None))
    assert is_blank_prompt(lesson01.check_bottleneck_params(...))


def test_lesson01_basic_block_params():
    block = torch.nn.Sequential(
        torch.nn.Conv2d(256, 256, 3, bias=False), torch.nn.Conv2d(256, 256, 3, bias=False)
    )
    assert lesson01.check_basic_block_params(
        sum(p.numel() for p in block.parameters()), channels=256
    )
    assert lesson01.check_basic_block_params(18_874_368)  # the default: 1024 channels
    assert not lesson01.check_basic_block_params(69_632)
    assert is_blank_prompt(lesson01.check_basic_block_params(None))


def test_lesson01_output_shape():
    real = tuple(
        Bottleneck(512, 1024, stride=2, bottleneck_width=256)(torch.zeros(8, 512, 16, 16)).shape
    )
    assert (
        real
        == (8, 1024, 8, 8)
        == lesson01.expected_output_shape((8, 512, 16, 16), 512, 1024, 2, 256)
    )
    assert lesson01.check_output_shape(real)
    assert lesson01.check_output_shape(list(real))
    off = lesson01.check_output_shape((8, 1024, 16, 16))
    assert not off and "H, W" in off.message and "stride" in off.hint
    assert "channels" in lesson01.check_output_shape((8, 512, 8, 8)).hint.lower()
    assert not lesson01.check_output_shape((1024, 8, 8))
    assert lesson01.check_output_shape(
        (2, 512, 16, 16),
        input_shape=(2, 256, 32, 32),
        in_channels=256,
        out_channels=512,
        bottleneck_width=128,
    )
    assert not lesson01.check_output_shape("a shape")
    assert is_blank_prompt(lesson01.check_output_shape(None))


def test_lesson02_eq4_and_group_width():
    assert lesson02.check_eq4(71_456)  # Table 2: 8x14d
    assert lesson02.check_eq4(counting.eq4_params(2, 40), cardinality=2, bottleneck_width=40)
    assert not lesson02.check_eq4(69_632)
    assert is_blank_prompt(lesson02.check_eq4(None))
    assert lesson02.check_group_width(512)  # 128 -> 256 -> 512 in stage 3
    assert lesson02.check_group_width(128, stage=1) and lesson02.check_group_width(1024, stage=4)
    assert not lesson02.check_group_width(128)
    assert is_blank_prompt(lesson02.check_group_width(None))


def right(block, x):
    return torch.relu(block.bn3(sum(branch(x) for branch in block.branches)) + x)


def test_lesson02_block_forward_right_answer():
    feedback = lesson02.check_block_forward(right)
    assert feedback.passed and "grouped convolution" in feedback.message


def test_lesson02_block_forward_names_the_usual_mistakes():
    def no_bn(block, x):
        return torch.relu(sum(branch(x) for branch in block.branches) + x)

    def no_shortcut(block, x):
        return torch.relu(block.bn3(sum(branch(x) for branch in block.branches)))

    def first_branch_only(block, x):
        return torch.relu(block.bn3(block.branches[0](x)) + x)

    assert "without BN" in lesson02.check_block_forward(no_bn).message
    assert "without the shortcut" in lesson02.check_block_forward(no_shortcut).message
    assert (
        "never ran 3 of the 4 branches" in lesson02.check_block_forward(first_branch_only).message
    )


def test_lesson02_block_forward_blank_or_broken_never_raises():
    def blank(block, x):
        return None  # the notebook's unanswered cell

    def not_implemented(block, x):
        raise NotImplementedError

    def broken(block, x):
        return block.no_such_layer(x)

    assert is_blank_prompt(lesson02.check_block_forward(blank))
    assert is_blank_prompt(lesson02.check_block_forward(not_implemented))
    feedback = lesson02.check_block_forward(broken)
    assert not feedback.passed and "AttributeError" in feedback.message
    assert "tensor" in lesson02.check_block_forward(lambda block, x: 3.0).message


def test_feedback_renders_html():
    html = lesson02.check_eq4(None)._repr_html_()
    assert "Not yet" in html and "Fill in" in html


def test_lesson02_block_forward_shortcuts_are_recognised_kindly():
    """The one-line cheat returns the right numbers; the check proves the learner's code computed them."""
    shortcut = lesson02.check_block_forward(lambda block, x: block(x))
    assert not shortcut.passed and "block(x)" in shortcut.message and shortcut.hint

    def via_form_c(block, x):  # right numbers, computed by another block: no branch ever runs
        from resnext_edu.blocks import convert

        return convert(block, "C")(x)

    other = lesson02.check_block_forward(via_form_c)
    assert not other.passed and "never ran" in other.message


def test_the_check_leaves_no_trace_on_the_block():
    import torch

    from resnext_edu.exercises import CalledTheBlock, forward_disabled

    block, x = lesson02._example_block()
    before = block(x)
    with forward_disabled(block, counting={"b0": block.branches[0]}) as calls:
        block.branches[0](x)
        with pytest.raises(CalledTheBlock):
            block(x)
    assert (
        calls == {"b0": 1}
        and torch.equal(block(x), before)
        and not block.branches[0]._forward_hooks
    )


def test_feedback_reads_in_a_dark_theme():
    html = lesson02.check_eq4(0)._repr_html_()
    assert (
        "var(--jp-content-font-color1" in html and "rgba(" in html
    )  # theme text colour, translucent tint

"""Self-checks for lesson 01 (the ResNet block). Each returns a :class:`~resnext_edu.exercises.Feedback`.

The expected answers come from the package (the closed forms of :mod:`resnext_edu.counting`, or a block built and
run on the "meta" device, which costs no memory), never from typed-in constants.
"""

from __future__ import annotations

import torch

from ..blocks import Bottleneck
from ..counting import eq4_params
from ..i18n import N_, _
from . import Feedback, check_number, empty


def check_bottleneck_params(
    answer, *, in_channels: int = 512, bottleneck_width: int = 128, out_channels: int = 512
) -> Feedback:
    """Exercise 1: the conv weights of a bottleneck block (no BN, no shortcut), counted by hand."""
    return check_number(
        answer,
        eq4_params(1, bottleneck_width, in_channels, out_channels),
        what=_(
            "the conv weights of a {in_channels} -> {width} -> {out_channels} bottleneck"
        ).format(in_channels=in_channels, width=bottleneck_width, out_channels=out_channels),
        hint=_(
            "Three convolutions without biases: in·w for the first 1x1, 3·3·w·w for the 3x3, "
            "w·out for the last 1x1. Add them up."
        ),
    )


def check_basic_block_params(answer, *, channels: int = 1024) -> Feedback:
    """Exercise 2: the conv weights of a basic block (two 3x3 convolutions) of ``channels`` channels."""
    return check_number(
        answer,
        2 * 3 * 3 * channels * channels,
        what=_("the conv weights of a basic block with {channels} channels").format(
            channels=channels
        ),
        hint=_(
            "Each 3x3 convolution from {channels} to {channels} channels has "
            "3·3·{channels}·{channels} weights, and there are two of them."
        ).format(channels=channels),
    )


def expected_output_shape(
    input_shape: tuple[int, ...],
    in_channels: int,
    out_channels: int,
    stride: int,
    bottleneck_width: int,
) -> tuple[int, ...]:
    """The output shape of a :class:`~resnext_edu.blocks.Bottleneck`, found by running it on the meta device."""
    with torch.device("meta"):
        block = Bottleneck(
            in_channels, out_channels, stride=stride, bottleneck_width=bottleneck_width
        )
        return tuple(block(torch.empty(input_shape)).shape)


def check_output_shape(
    answer,
    *,
    input_shape: tuple[int, ...] = (8, 512, 16, 16),
    in_channels: int = 512,
    out_channels: int = 1024,
    stride: int = 2,
    bottleneck_width: int = 256,
) -> Feedback:
    """Exercise 3: predict (N, C, H, W) after a bottleneck that changes the width and halves the map."""
    expected = expected_output_shape(
        input_shape, in_channels, out_channels, stride, bottleneck_width
    )
    what = _(
        "the output shape of Bottleneck({in_channels}, {out_channels}, stride={stride}, "
        "bottleneck_width={width}) on an input of shape {shape}"
    ).format(
        in_channels=in_channels,
        out_channels=out_channels,
        stride=stride,
        width=bottleneck_width,
        shape=tuple(input_shape),
    )
    like = _("Write it like (8, 256, 32, 32).")
    if answer is None or answer is ...:
        return empty(
            _("your value for {what}, a tuple of four numbers (N, C, H, W),").format(what=what)
        )
    try:
        answer = tuple(int(v) for v in answer)
    except (TypeError, ValueError):
        return Feedback(
            False,
            _("{what} should be a tuple of four whole numbers, got {answer!r}.").format(
                what=what, answer=answer
            ),
            like,
        )
    if answer == expected:
        return Feedback(
            True,
            _(
                "{what} is {expected}: the batch is unchanged, the channels are the block's "
                "out_channels and stride {stride} divides height and width by {stride}."
            ).format(what=what, expected=expected, stride=stride),
        )
    if len(answer) != 4:
        return Feedback(
            False,
            _("A feature map has four dimensions (N, C, H, W); you gave {count}.").format(
                count=len(answer)
            ),
            like,
        )
    names = (N_("N (the batch)"), N_("C (channels)"), "H", "W")
    wrong = [name for name, a, e in zip(names, answer, expected) if a != e]
    stride_hint = _("The 3x3 convolution has stride {stride} and padding 1.").format(stride=stride)
    hints = {
        names[0]: _("A block never changes the batch size."),
        names[1]: _("The last 1x1 convolution decides the channels that come out."),
        "H": stride_hint,
        "W": stride_hint,
    }
    message = (
        _("You have {answer}; {wrong} is off.")
        if len(wrong) == 1
        else _("You have {answer}; {wrong} are off.")
    )
    return Feedback(
        False,
        message.format(answer=answer, wrong=", ".join(_(name) for name in wrong)),
        hints[wrong[0]],
    )

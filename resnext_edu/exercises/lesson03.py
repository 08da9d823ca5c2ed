"""Self-checks for lesson 03 (the three equivalent forms).

* :func:`check_form_b_forward`: the learner writes form B's forward (Fig. 3(b)) as a function ``f(block, x)``;
  it is run on random blocks and inputs and compared with the package's form B and with its form-C conversion.
  The block's own ``forward`` is disabled while the learner's function runs, and hooks count the calls into every
  branch and into ``conv3``: calling ``block(x)``, or skipping a branch, is recognised and explained.
* :func:`check_dense_nonzeros`: how many numbers of the dense equivalent of a grouped 3x3 are not forced to zero.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..blocks import ResNeXtBlock, convert
from ..i18n import N_, _
from . import SHORTCUT_MESSAGE, CalledTheBlock, Feedback, check_number, empty, forward_disabled

TOLERANCE = 1e-4  # float32 rounding of a 64-channel block is ~1e-6; a real mistake is ~1e-1


def _random_block(in_channels: int, out_channels: int, stride: int, seed: int) -> ResNeXtBlock:
    """A small form-B block with non-trivial BN statistics, in eval mode (so BN uses its running statistics)."""
    torch.manual_seed(seed)
    block = ResNeXtBlock(
        in_channels, out_channels, stride=stride, cardinality=4, bottleneck_width=8, form="B"
    )
    for module in block.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.5, 0.5)
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return block.eval()


def _mistakes(block: ResNeXtBlock, x: Tensor) -> dict[str, Tensor]:
    """What common slips compute, to recognise them in the learner's output."""
    ys = [branch(x) for branch in block.branches]
    shortcut = x if block.downsample is None else block.downsample(x)
    merged = block.bn3(block.conv3(torch.cat(ys, dim=1)))
    return {
        "no_relu": merged + shortcut,
        "no_shortcut": torch.relu(merged),
        "no_bn3": torch.relu(block.conv3(torch.cat(ys, dim=1)) + shortcut),
    }


def _close(a, b: Tensor) -> bool:
    return isinstance(a, Tensor) and a.shape == b.shape and (a - b).abs().max().item() < TOLERANCE


def check_form_b_forward(forward) -> Feedback:
    """Run ``forward(block, x)`` on two random form-B blocks (an identity shortcut, then a projection shortcut) and
    compare it with ``block(x)`` and with the form-C block of :func:`~resnext_edu.blocks.convert`."""
    if forward is None or forward is ...:
        return empty(_("your function"))
    if not callable(forward):
        return Feedback(
            False,
            _("Pass your function itself (no parentheses), got a {kind}.").format(
                kind=type(forward).__name__
            ),
        )
    cases = [
        (
            N_("a block with an identity shortcut (64 -> 64 channels)"),
            _random_block(64, 64, 1, seed=0),
        ),
        (
            N_("a block with a projection shortcut (64 -> 128 channels, stride 2)"),
            _random_block(64, 128, 2, seed=1),
        ),
    ]
    for what, block in cases:
        what = _(what)
        x = torch.randn(2, block.in_channels, 8, 8)
        with torch.no_grad():
            expected = block(x)
            watched = {f"branch {i}": branch for i, branch in enumerate(block.branches)} | {
                "conv3": block.conv3
            }
            try:
                with forward_disabled(block, counting=watched) as calls:
                    got = forward(block, x)
            except CalledTheBlock:
                return Feedback(
                    False,
                    _(SHORTCUT_MESSAGE),
                    _(
                        "Run every branch on x (block.branches), "
                        "concatenate, then block.conv3 and block.bn3."
                    ),
                )
            except NotImplementedError:
                return empty(_("your function"))
            except (
                Exception
            ) as error:  # the learner's code: report any error as feedback, not as a traceback
                hint = _(
                    "Run it by hand on a block and a batch and print the shapes of ys, the concatenation "
                    "and conv3's output."
                )
                if block.downsample is not None:  # the identity-shortcut block passed already
                    hint = _(
                        "It works with an identity shortcut; here the shape changes, so the shortcut is "
                        "block.downsample(x), not x (block.downsample is None for an identity shortcut)."
                    )
                return Feedback(
                    False,
                    _("On {what}, your function raised {error_type}: {error}").format(
                        what=what, error_type=type(error).__name__, error=error
                    ),
                    hint,
                )
            if got is None or got is ...:
                return empty(_("your function (it returns nothing yet; end it with `return ...`)"))
            if not isinstance(got, Tensor):
                return Feedback(
                    False,
                    _("Your function should return a tensor, got a {kind}.").format(
                        kind=type(got).__name__
                    ),
                )
            if got.shape != expected.shape:
                return Feedback(
                    False,
                    _("On {what}, your output has shape {shape}, expected {expected}.").format(
                        what=what, shape=tuple(got.shape), expected=tuple(expected.shape)
                    ),
                    _(
                        "Concatenate the branch outputs along the channel dimension (dim=1), then "
                        "apply block.conv3, which takes C·d channels to out_channels."
                    ),
                )
            unused = [name for name, n in calls.items() if n == 0]
            if unused:
                named = ", ".join(unused[:3]) + (", ..." if len(unused) > 3 else "")
                return Feedback(
                    False,
                    _(
                        "On {what}, your function never ran {named}: form B runs every branch, "
                        "then the one dense 1x1 (block.conv3) on their concatenation."
                    ).format(what=what, named=named),
                    "ys = [branch(x) for branch in block.branches]",
                )
            if _close(got, expected):
                form_c = convert(block, "C")
                if not _close(got, form_c(x)):
                    return Feedback(
                        False,
                        _(
                            "Your output matches form B but not its form-C conversion: "
                            "please report this, it should not happen."
                        ),
                    )
                continue
            diff = (got - expected).abs().max().item()
            for slip, value in _mistakes(block, x).items():
                if _close(got, value):
                    hint = {
                        "no_relu": _("The block ends with a ReLU, after the shortcut is added."),
                        "no_shortcut": _(
                            "Add the shortcut before the final ReLU: it is what makes the block "
                            "residual."
                        ),
                        "no_bn3": _(
                            "After the dense 1x1 (block.conv3) comes its BatchNorm, block.bn3."
                        ),
                    }[slip]
                    return Feedback(
                        False,
                        _("On {what}, your output is off by up to {diff:.3g}.").format(
                            what=what, diff=diff
                        ),
                        hint,
                    )
            return Feedback(
                False,
                _("On {what}, your output differs from form B's by up to {diff:.3g}.").format(
                    what=what, diff=diff
                ),
                _(
                    "Form B: run every branch on x, torch.cat the C outputs along dim=1, apply "
                    "block.conv3 and block.bn3, add the shortcut, then ReLU."
                ),
            )
    return Feedback(
        True,
        _(
            "Your form-B forward equals the package's form B and its form-C conversion (grouped "
            "convolution) on both test blocks, to within {tolerance:g}."
        ).format(tolerance=TOLERANCE),
    )


def dense_nonzeros(cardinality: int, bottleneck_width: int, kernel_size: int = 3) -> int:
    """Weights of a grouped conv (C groups of d -> d): the only numbers of its dense equivalent that are not zero."""
    return cardinality * bottleneck_width * bottleneck_width * kernel_size * kernel_size


def check_dense_nonzeros(answer, cardinality: int = 32, bottleneck_width: int = 4) -> Feedback:
    """How many of the numbers in the dense (C·d) x (C·d) x 3 x 3 equivalent of a grouped 3x3 can be nonzero?"""
    return check_number(
        answer,
        dense_nonzeros(cardinality, bottleneck_width),
        what=_("the nonzero weights of the dense equivalent (C = {C}, d = {d})").format(
            C=cardinality, d=bottleneck_width
        ),
        hint=_(
            "Only the C diagonal blocks are filled, each d x d x 3 x 3; everything else is zero."
        ),
    )

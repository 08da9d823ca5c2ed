"""Self-checks for lesson 02 (split-transform-merge). Each returns a :class:`~resnext_edu.exercises.Feedback`.

:func:`check_block_forward` compares the learner's Eq. 3 with an independent computation: the same weights in form
C (one grouped convolution, :func:`~resnext_edu.blocks.convert`), so a sum over the wrong branches, a missing BN or
a missing shortcut cannot agree with it by accident. The learner's function runs on a block whose own ``forward`` is
disabled, with hooks counting the calls into every branch: ``lambda block, x: block(x)`` is recognised (and named,
kindly), and so is an answer that never ran the branches.
"""

from __future__ import annotations

import torch

from ..blocks import ResNeXtBlock, convert
from ..counting import eq4_params
from ..i18n import N_, _
from ..models import config_for
from . import SHORTCUT_MESSAGE, CalledTheBlock, Feedback, check_number, empty, forward_disabled


def check_eq4(
    answer,
    *,
    cardinality: int = 8,
    bottleneck_width: int = 14,
    in_channels: int = 256,
    out_channels: int = 256,
) -> Feedback:
    """Exercise 1: Eq. 4 for one of Table 2's settings, by hand."""
    C, d = cardinality, bottleneck_width
    return check_number(
        answer,
        eq4_params(C, d, in_channels, out_channels),
        what=_(
            "the conv weights of a {C}x{d}d block ({in_channels} -> {out_channels} channels)"
        ).format(C=C, d=d, in_channels=in_channels, out_channels=out_channels),
        hint=_(
            "Eq. 4: C·({in_channels}·d + 3·3·d·d + d·{out_channels}), with C = {C} and d = {d}."
        ).format(C=C, d=d, in_channels=in_channels, out_channels=out_channels),
    )


def check_group_width(answer, *, model: str = "resnext50_32x4d", stage: int = 3) -> Feedback:
    """Exercise 2: the group width C·d of a later stage, from the design rule "width doubles when the map halves"."""
    config = config_for(model)
    expected = config.cardinality * config.stage_bottleneck_widths()[stage - 1]
    return check_number(
        answer,
        expected,
        what=_("the group width C·d in stage {stage} of {model}").format(stage=stage, model=model),
        hint=_(
            "Stage 1 of ResNeXt-50 32x4d has C·d = 32·4 = 128. Each later stage halves the map "
            "and doubles the width, and C stays 32."
        ),
    )


def _example_block(seed: int = 0) -> tuple[ResNeXtBlock, torch.Tensor]:
    """A small form-A block with random weights and BN statistics (eval mode), and an input for it."""
    g = torch.Generator().manual_seed(seed)
    block = ResNeXtBlock(16, 16, cardinality=4, bottleneck_width=3, form="A").eval()
    with torch.no_grad():
        for name, tensor in block.state_dict().items():
            if name.endswith(("weight", "bias", "running_mean")):
                tensor.copy_(0.5 * torch.randn(tensor.shape, generator=g))
            elif name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=g))
    return block, torch.randn(2, 16, 8, 8, generator=g)


def check_block_forward(my_forward) -> Feedback:
    """Exercise 3: ``my_forward(block, x)`` should compute a form-A block's output y = ReLU(BN(sum_i T_i(x)) + x)
    from ``block.branches``, ``block.bn3`` and the identity shortcut (Eq. 2-3, BN after the aggregation)."""
    what = "my_forward(block, x)"
    if my_forward is None or my_forward is ... or not callable(my_forward):
        return empty(_("my_forward (a function of block and x)"))
    block, x = _example_block()
    with torch.no_grad():
        expected = convert(block, "C")(x)  # the same weights as one grouped convolution
    branches = {f"branch {i}": branch for i, branch in enumerate(block.branches)}
    try:
        with torch.no_grad(), forward_disabled(block, counting=branches) as calls:
            mine = my_forward(block, x)
    except CalledTheBlock:
        return Feedback(
            False,
            _(SHORTCUT_MESSAGE),
            _("Start from: total = sum(branch(x) for branch in block.branches)."),
        )
    except NotImplementedError:
        mine = None
    except Exception as error:  # the learner's code: report, never raise
        return Feedback(
            False,
            _("{what} raised {error_type}: {error}").format(
                what=what, error_type=type(error).__name__, error=error
            ),
            _(
                "Loop over block.branches, add up what each one returns, then apply block.bn3, add x "
                "and take torch.relu."
            ),
        )
    if mine is None:
        return empty(_("the body of {what} (it returned None)").format(what=what))
    if not isinstance(mine, torch.Tensor):
        return Feedback(
            False,
            _("{what} should return a tensor, got {kind}.").format(
                what=what, kind=type(mine).__name__
            ),
        )
    with torch.no_grad():
        aggregated = sum(branch(x) for branch in block.branches)
        candidates = {
            N_("the sum of the branches alone (Eq. 2)"): aggregated,
            N_("BN of the sum, without the shortcut"): torch.relu(block.bn3(aggregated)),
            N_("the sum plus x, without BN"): torch.relu(aggregated + x),
            N_("the shortcut added before BN"): torch.relu(block.bn3(aggregated + x)),
            N_("BN(sum) + x without the final ReLU"): block.bn3(aggregated) + x,
        }
    if mine.shape != expected.shape:
        return Feedback(
            False,
            _("{what} has shape {shape}, the block's output {expected}.").format(
                what=what, shape=tuple(mine.shape), expected=tuple(expected.shape)
            ),
        )
    unused = [name for name, n in calls.items() if n == 0]
    if unused:
        named = ", ".join(unused[:3]) + (", ..." if len(unused) > 3 else "")
        return Feedback(
            False,
            _(
                "{what} never ran {unused} of the {count} branches ({named}): Eq. 2 aggregates all "
                "of them."
            ).format(what=what, unused=len(unused), count=len(branches), named=named),
            "total = sum(branch(x) for branch in block.branches).",
        )
    if torch.allclose(mine, expected, atol=1e-5):
        return Feedback(
            True,
            _(
                "{what} matches the block, computed independently as one grouped convolution "
                "(form C): max difference {difference:.1e}."
            ).format(what=what, difference=(mine - expected).abs().max().item()),
        )
    for name, value in candidates.items():
        if value.shape == mine.shape and torch.allclose(mine, value, atol=1e-5):
            return Feedback(
                False,
                _("{what} returns {name}.").format(what=what, name=_(name)),
                _(
                    "y = ReLU(BN(sum_i T_i(x)) + x): aggregate, normalise with block.bn3, add the "
                    "identity shortcut x, then torch.relu."
                ),
            )
    return Feedback(
        False,
        _("{what} differs from the block by up to {difference:.3g}.").format(
            what=what, difference=(mine - expected).abs().max().item()
        ),
        _(
            "y = ReLU(BN(sum_i T_i(x)) + x): aggregate, normalise with block.bn3, add x, then torch.relu."
        ),
    )

"""Residual blocks: ResNet's basic and bottleneck blocks and the ResNeXt block in the paper's three forms.

Xie et al., "Aggregated Residual Transformations for Deep Neural Networks" (CVPR 2017), Fig. 3:

* form "A": C explicit branches, each 1x1 -> 3x3 -> 1x1 of width d, summed (the aggregated transformation
  F(x) = sum_i T_i(x), Eq. 2). BN is applied *after* the aggregation, before the shortcut is added (the paper's
  footnote), which is what makes the forms strictly equivalent.
* form "B": C branches of 1x1 -> 3x3, concatenated ("early concatenation"), then one dense 1x1.
* form "C": dense 1x1 -> grouped 3x3 with ``groups=cardinality`` -> dense 1x1 (what the paper's models use).

Lessons 01 (ResNet blocks), 02 (form A, split-transform-merge) and 03 (the three forms and ``convert``).

Parameter names of form "C" match torchvision's ``Bottleneck`` (conv1/bn1/conv2/bn2/conv3/bn3/downsample), so a
ResNeXt made of these blocks loads torchvision's weights directly.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn

from .checks import check_choice, check_positive_int
from .limits import check_branches, check_params

FORMS = ("A", "B", "C")
# The shortcut types, named in words so that they cannot be mistaken for the block forms "A"/"B"/"C" of Fig. 3.
# He et al. 2016 (Sec. 4.1) and the original Torch7 code call them options/types "B" and "C".
PROJECTION_WHEN_NEEDED = (
    "projection-when-needed"  # identity, a 1x1 projection only where the shape changes
)
PROJECTION_ALWAYS = "projection-always"  # a 1x1 projection in every block
SHORTCUT_TYPES = (PROJECTION_WHEN_NEEDED, PROJECTION_ALWAYS)


def group_width(cardinality: int, bottleneck_width: int) -> int:
    """The width of the grouped layer, C·d (Table 2's last row); computed here and nowhere else."""
    return cardinality * bottleneck_width


def check_shortcut(shortcut: str) -> str:
    """Return ``shortcut`` if it is one of :data:`SHORTCUT_TYPES`; the old letters get a message naming the new words."""
    if shortcut in ("B", "C"):
        raise ValueError(
            f"shortcut {shortcut!r}: the shortcut types are named in words, so that they are not mistaken "
            f"for the block forms A/B/C. Use {PROJECTION_WHEN_NEEDED!r} (He et al.'s option B) or "
            f"{PROJECTION_ALWAYS!r} (option C)."
        )
    return check_choice("shortcut", shortcut, SHORTCUT_TYPES)


def check_residual(residual, shortcut: str) -> bool:
    """Return ``residual`` if it is a bool; a plain block (False) has no shortcut, so a shortcut choice is refused."""
    if not isinstance(residual, bool):
        raise TypeError(
            f"residual is True (the residual block) or False (a plain block, Table 3), got {residual!r}."
        )
    if not residual and shortcut != PROJECTION_WHEN_NEEDED:
        raise ValueError(
            f"shortcut={shortcut!r} has no effect with residual=False: a plain block has no shortcut. "
            f"Leave shortcut out, or use residual=True."
        )
    return residual


def projects(in_channels: int, out_channels: int, stride: int, shortcut: str) -> bool:
    """Whether a block's shortcut is a 1x1 projection (rather than the identity)."""
    return shortcut == PROJECTION_ALWAYS or stride != 1 or in_channels != out_channels


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size=3,
        stride=stride,
        padding=1,
        groups=groups,
        bias=False,
    )


def projection(in_channels: int, out_channels: int, stride: int, shortcut: str) -> nn.Module | None:
    """The shortcut branch: ``None`` means identity. "projection-when-needed" projects (1x1 conv + BN) only where the
    shape changes, "projection-always" in every block (He et al. 2016's options B and C). Lesson 01."""
    check_shortcut(shortcut)
    if projects(in_channels, out_channels, stride, shortcut):
        return nn.Sequential(
            conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels)
        )
    return None


class _Residual(nn.Module):
    """Shared tail of every block: out = ReLU(F(x) + shortcut(x)), or ReLU(F(x)) for a plain (non-residual) net."""

    downsample: nn.Module | None

    def _finish(self, residual_branch: Tensor, x: Tensor) -> Tensor:
        if self.residual:
            residual_branch = residual_branch + (
                x if self.downsample is None else self.downsample(x)
            )
        return torch.relu(residual_branch)


class BasicBlock(_Residual):
    """ResNet's basic block: 3x3 -> 3x3 (He et al. 2016, Fig. 5 left). Lesson 01.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        stride: stride of the first 3x3 (2 halves the map).
        shortcut: "projection-when-needed" (the default) or "projection-always" (:func:`projection`).
        residual: False drops the shortcut, giving the "plain" network of the "without residual" rows (the
            unnumbered table of Section 5.1).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        shortcut: str = PROJECTION_WHEN_NEEDED,
        residual: bool = True,
    ):
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        out_channels = check_positive_int("out_channels", out_channels)
        check_choice("stride", stride, (1, 2))
        residual = check_residual(residual, check_shortcut(shortcut))
        self.in_channels, self.out_channels, self.stride, self.residual = (
            in_channels,
            out_channels,
            stride,
            residual,
        )
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            projection(in_channels, out_channels, stride, shortcut) if residual else None
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self._finish(self.bn2(self.conv2(out)), x)


class ResNeXtBlock(_Residual):
    """The ResNeXt bottleneck block (Fig. 3) with cardinality C and bottleneck width d, in form "A", "B" or "C".

    All three forms hold exactly the same parameters (C·(in·d + 3·3·d·d + d·out) conv weights, Eq. 4, plus BN and
    the shortcut) and, through :func:`convert`, compute the same function.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (4x the stage width in the paper's templates).
        stride: stride of the 3x3 convolution (torchvision's "ResNet V1.5" placement, as in the paper's CIFAR code).
        cardinality: C, the number of transformations aggregated (Eq. 2). C = 1 is ResNet's bottleneck.
        bottleneck_width: d, the width of each transformation.
        form: "A", "B" or "C" (Fig. 3).
        shortcut: "projection-when-needed" (the default) or "projection-always" (:func:`projection`).
        residual: False drops the shortcut (a "plain" block, for Section 5.1's "without residual" comparison).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        cardinality: int,
        bottleneck_width: int,
        form: str = "C",
        shortcut: str = PROJECTION_WHEN_NEEDED,
        residual: bool = True,
    ):
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        out_channels = check_positive_int("out_channels", out_channels)
        cardinality = check_positive_int(
            "cardinality", cardinality, "C is the number of parallel transformations."
        )
        bottleneck_width = check_positive_int(
            "bottleneck_width", bottleneck_width, "d is the width of each transformation."
        )
        check_choice("stride", stride, (1, 2))
        check_branches(cardinality, check_choice("form", form, FORMS))
        residual = check_residual(residual, check_shortcut(shortcut))
        # Eq. 4's conv weights, C·(in·d + 3·3·d·d + d·out) = C·d·(in + 9·d + out), checked before any is allocated
        check_params(
            f"A ResNeXt block with C = {cardinality:,}, d = {bottleneck_width:,}",
            group_width(cardinality, bottleneck_width)
            * (in_channels + 9 * bottleneck_width + out_channels),
        )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.cardinality, self.bottleneck_width, self.form = cardinality, bottleneck_width, form
        self.shortcut, self.residual = shortcut, residual
        C, d = cardinality, bottleneck_width
        width = group_width(C, d)
        if form == "C":
            self.conv1 = conv1x1(in_channels, width)  # dense 1x1: in -> C·d
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = conv3x3(width, width, stride, groups=C)  # C groups of d -> d
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = conv1x1(width, out_channels)  # dense 1x1: C·d -> out
        else:
            self.branches = nn.ModuleList(
                self._branch(in_channels, d, stride, out_channels if form == "A" else None)
                for _ in range(C)
            )
            if form == "B":
                self.conv3 = conv1x1(width, out_channels)  # one dense 1x1 after the concatenation
        self.bn3 = nn.BatchNorm2d(out_channels)  # in form A: after the aggregation
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            projection(in_channels, out_channels, stride, shortcut) if residual else None
        )

    @staticmethod
    def _branch(in_channels: int, d: int, stride: int, out_channels: int | None) -> nn.Sequential:
        """One transformation T_i: 1x1 -> 3x3 (-> 1x1 in form A). Names conv1/bn1/conv2/bn2/conv3 as in form C."""
        layers = OrderedDict(
            conv1=conv1x1(in_channels, d),
            bn1=nn.BatchNorm2d(d),
            relu1=nn.ReLU(inplace=True),
            conv2=conv3x3(d, d, stride),
            bn2=nn.BatchNorm2d(d),
            relu2=nn.ReLU(inplace=True),
        )
        if out_channels is not None:
            layers["conv3"] = conv1x1(d, out_channels)
        return nn.Sequential(layers)

    @property
    def group_width(self) -> int:
        return group_width(self.cardinality, self.bottleneck_width)

    def forward(self, x: Tensor) -> Tensor:
        if self.form == "C":
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.conv3(out)
        elif self.form == "B":
            out = self.conv3(torch.cat([branch(x) for branch in self.branches], dim=1))
        else:  # "A": F(x) = sum_i T_i(x), Eq. 2
            out = self.branches[0](x)
            for branch in self.branches[1:]:
                out = out + branch(x)
        return self._finish(self.bn3(out), x)

    def extra_repr(self) -> str:
        return f"C={self.cardinality}, d={self.bottleneck_width}, form={self.form!r}, stride={self.stride}"


class Bottleneck(ResNeXtBlock):
    """ResNet's bottleneck block, 1x1 -> 3x3 -> 1x1 (He et al. 2016, Fig. 5 right): a ResNeXt block with C = 1.

    Lesson 01 builds it by hand; with 256 in/out and width 64 its convolutions hold
    256·64 + 3·3·64·64 + 64·256 = 69,632 weights.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        bottleneck_width: int,
        shortcut: str = PROJECTION_WHEN_NEEDED,
        residual: bool = True,
    ):
        super().__init__(
            in_channels,
            out_channels,
            stride=stride,
            cardinality=1,
            bottleneck_width=bottleneck_width,
            form="C",
            shortcut=shortcut,
            residual=residual,
        )


# ---------------------------------------------------------------------------------------------------------------
# Converting between the forms (lesson 03)
# ---------------------------------------------------------------------------------------------------------------


def _branch_params(block: ResNeXtBlock) -> list[dict[str, Tensor]]:
    """Per-branch tensors {conv1, bn1.*, conv2, bn2.*, conv3}, each branch's slice of the grouped layers.

    A grouped 3x3 with C groups is the block-diagonal of C separate 3x3 convs (lesson 03), so branch i owns rows
    i·d:(i+1)·d of conv1/conv2/bn1/bn2, and columns i·d:(i+1)·d of the dense conv3 (the concatenation of form B).
    """
    d = block.bottleneck_width
    if block.form != "C":
        branches = []
        for i, branch in enumerate(block.branches):
            params = {k: v for k, v in branch.state_dict().items()}
            if block.form == "B":
                params["conv3.weight"] = block.conv3.weight[:, i * d : (i + 1) * d]
            branches.append(params)
        return branches
    state = block.state_dict()
    branches = []
    for i in range(block.cardinality):
        rows = slice(i * d, (i + 1) * d)
        params = {
            "conv1.weight": state["conv1.weight"][rows],
            "conv2.weight": state["conv2.weight"][rows],
            "conv3.weight": state["conv3.weight"][:, rows],
        }
        for bn in ("bn1", "bn2"):
            for key in ("weight", "bias", "running_mean", "running_var"):
                params[f"{bn}.{key}"] = state[f"{bn}.{key}"][rows]
            params[f"{bn}.num_batches_tracked"] = state[f"{bn}.num_batches_tracked"]
        branches.append(params)
    return branches


def convert(block: ResNeXtBlock, form: str) -> ResNeXtBlock:
    """Return a new block in ``form`` ("A", "B" or "C") that computes the same function as ``block``.

    The weights are copied, not shared. Conversions are exact up to float rounding (the sum of form A is done in
    another order than the dense 1x1 of forms B/C):

    * A <-> B: sum_i W_i·y_i = [W_1 ... W_C]·[y_1; ...; y_C] (the block-matrix identity of Fig. 3(a) = 3(b)).
    * B <-> C: C separate 1x1/3x3 convs side by side are one dense 1x1 / one grouped 3x3 (Fig. 3(b) = 3(c)).

    BatchNorm is per channel, and form A normalises after the aggregation, so training-mode batch statistics (and
    the running statistics they update) agree for every pair of forms, not only eval-mode outputs.
    The result is in the same train/eval mode, dtype and device as ``block``. Lesson 03.
    """
    if not isinstance(block, ResNeXtBlock):
        raise ValueError(
            f"convert() takes a ResNeXtBlock, got {type(block).__name__}. "
            "Build one with resnext_edu.blocks.ResNeXtBlock(...)."
        )
    check_choice("form", form, FORMS)
    weight = next(block.parameters())
    new = ResNeXtBlock(
        block.in_channels,
        block.out_channels,
        stride=block.stride,
        cardinality=block.cardinality,
        bottleneck_width=block.bottleneck_width,
        form=form,
        shortcut=block.shortcut,
        residual=block.residual,
    ).to(device=weight.device, dtype=weight.dtype)
    branches = _branch_params(block)
    target = {}
    if form == "C":
        for key in (
            "conv1.weight",
            "conv2.weight",
            "bn1.weight",
            "bn1.bias",
            "bn1.running_mean",
            "bn1.running_var",
            "bn2.weight",
            "bn2.bias",
            "bn2.running_mean",
            "bn2.running_var",
        ):
            target[key] = torch.cat([b[key] for b in branches], dim=0)
        target["conv3.weight"] = torch.cat([b["conv3.weight"] for b in branches], dim=1)
        for bn in ("bn1", "bn2"):
            target[f"{bn}.num_batches_tracked"] = branches[0][f"{bn}.num_batches_tracked"]
    else:
        for i, params in enumerate(branches):
            for key, value in params.items():
                if form == "A" or not key.startswith("conv3"):
                    target[f"branches.{i}.{key}"] = value
        if form == "B":
            target["conv3.weight"] = torch.cat([b["conv3.weight"] for b in branches], dim=1)
    for key, value in block.state_dict().items():
        if key.startswith(("bn3.", "downsample.")):
            target[key] = value
    new.load_state_dict({k: v.clone() for k, v in target.items()}, strict=True)
    return new.train(block.training)

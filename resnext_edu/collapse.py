"""When Fig. 3's reformulations say something new, and when they do not apply (lesson 03, Section 7).

* **Depth 2 collapses (Fig. 4).** C paths of two layers, (k x k, in -> d), ReLU, (k x k, d -> out), summed, are one
  *dense* block of width C·d: the C first layers side by side are one layer from ``in`` to C·d channels (each saw
  every input channel), and the C second layers summed are one layer on the concatenation (the block-matrix identity
  of lesson 03, Section 2). Nothing grouped is left: the block is "trivially wider". Only with depth >= 3 does a
  middle layer stay block-diagonal, i.e. a grouped convolution: a topology that a plain wide block is not. This is
  why the paper's paths T_i have depth 3. :func:`collapse_depth2` builds the dense block from the paths.
* **Heterogeneous paths (Section 3.3, "Discussion").** ``nn.Conv2d(groups=C)`` cuts its channels into C groups of
  *equal* width with *one* kernel size. Paths of unequal widths still make a block-diagonal middle layer, but with
  unequal blocks, which no ``groups=C`` layer holds: :func:`closest_grouped` keeps what a grouped layer can keep,
  and its output differs. (Paths of unequal depths do not even line up layer by layer.)

Both are written from the paths' weights only, so a test compares them with the paths themselves (form A).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def paths(
    widths: list[int], layers: list[int], in_channels: int, out_channels: int, seed: int = 0
) -> nn.ModuleList:
    """One path per entry of ``widths``: convolutions of kernel sizes ``layers`` (e.g. [3, 3] for Fig. 4's depth 2,
    [1, 3, 1] for the bottleneck), ``in -> width -> ... -> width -> out``, ReLU between them, no bias, no BN."""
    torch.manual_seed(seed)
    built = []
    for width in widths:
        channels = [in_channels] + [width] * (len(layers) - 1) + [out_channels]
        modules = []
        for j, k in enumerate(layers):
            modules.append(nn.Conv2d(channels[j], channels[j + 1], k, padding=k // 2, bias=False))
            if j + 1 < len(layers):
                modules.append(nn.ReLU())
        built.append(nn.Sequential(*modules))
    return nn.ModuleList(built)


def aggregate(branches: nn.ModuleList, x: Tensor) -> Tensor:
    """Eq. 2: the sum of the paths' outputs (form A without BN)."""
    return sum(branch(x) for branch in branches)


def _convs(branch: nn.Sequential) -> list[nn.Conv2d]:
    return [m for m in branch if isinstance(m, nn.Conv2d)]


def collapse_depth2(branches: nn.ModuleList) -> nn.Sequential:
    """Fig. 4 right: the C depth-2 paths as one dense block, (k x k, in -> sum of widths), ReLU, (k x k, -> out)."""
    firsts, seconds = zip(*(_convs(b) for b in branches))
    if any(len(_convs(b)) != 2 for b in branches):
        raise ValueError(
            "collapse_depth2 takes paths of exactly two convolutions (Fig. 4); use paths(..., [3, 3])."
        )
    k = firsts[0].kernel_size[0]
    wide = sum(c.out_channels for c in firsts)
    first = nn.Conv2d(firsts[0].in_channels, wide, k, padding=k // 2, bias=False)
    second = nn.Conv2d(wide, seconds[0].out_channels, k, padding=k // 2, bias=False)
    with torch.no_grad():
        first.weight.copy_(
            torch.cat([c.weight for c in firsts], dim=0)
        )  # stacked: every output sees all inputs
        second.weight.copy_(
            torch.cat([c.weight for c in seconds], dim=1)
        )  # side by side: [W_1 ... W_C]
    return nn.Sequential(first, nn.ReLU(), second)


def off_diagonal_share(weight: Tensor, widths: list[int]) -> float:
    """The share of nonzero weights outside the diagonal blocks given by ``widths`` (0 for a block-diagonal
    weight, i.e. a grouped convolution; about 1 minus the diagonal's share for a dense one)."""
    mask = torch.ones(weight.shape[:2], dtype=torch.bool)
    start = 0
    for w in widths:
        mask[start : start + w, start : start + w] = False
        start += w
    nonzero = weight.detach().abs().sum(dim=(2, 3)) != 0
    return (nonzero & mask).sum().item() / mask.sum().clamp(min=1).item()


def middle_dense(branches: nn.ModuleList) -> Tensor:
    """The middle layers of depth-3 paths as one dense weight: block-diagonal, one block per path (any widths)."""
    middles = [_convs(b)[1].weight.detach() for b in branches]
    total = sum(w.shape[0] for w in middles)
    dense = torch.zeros(total, total, *middles[0].shape[2:])
    start = 0
    for w in middles:
        dense[start : start + w.shape[0], start : start + w.shape[1]] = w
        start += w.shape[0]
    return dense


def stacked(branches: nn.ModuleList, middle: nn.Module) -> nn.Module:
    """Form C's layout for depth-3 paths: the first layers stacked, ``middle`` on all channels, the last layers side
    by side. With ``middle`` equal to the paths' block-diagonal weight this computes exactly form A."""
    firsts, lasts = [_convs(b)[0] for b in branches], [_convs(b)[2] for b in branches]
    first = nn.Conv2d(firsts[0].in_channels, sum(c.out_channels for c in firsts), 1, bias=False)
    last = nn.Conv2d(first.out_channels, lasts[0].out_channels, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.cat([c.weight for c in firsts], dim=0))
        last.weight.copy_(torch.cat([c.weight for c in lasts], dim=1))
    return nn.Sequential(first, nn.ReLU(), middle, nn.ReLU(), last)


def dense_conv(weight: Tensor) -> nn.Conv2d:
    """A plain convolution holding ``weight`` (zeros included)."""
    conv = nn.Conv2d(
        weight.shape[1], weight.shape[0], weight.shape[2], padding=weight.shape[2] // 2, bias=False
    )
    with torch.no_grad():
        conv.weight.copy_(weight)
    return conv


def closest_grouped(dense: Tensor, groups: int) -> nn.Conv2d:
    """The ``groups``-group convolution nearest to ``dense``: it keeps the ``groups`` equal diagonal blocks and must
    drop every weight outside them (a grouped layer has no place for it)."""
    channels = dense.shape[0]
    if channels % groups:
        raise ValueError(
            f"{channels} channels cannot be cut into {groups} equal groups; try a divisor of {channels}."
        )
    size = channels // groups
    conv = nn.Conv2d(
        channels, channels, dense.shape[2], padding=dense.shape[2] // 2, groups=groups, bias=False
    )
    with torch.no_grad():
        for g in range(groups):
            rows = slice(g * size, (g + 1) * size)
            conv.weight[rows] = dense[rows, rows]
    return conv

"""The batches a training step sees: shuffled, randomly cropped and flipped, normalised, on the device (lesson 06).

The paper's CIFAR augmentation (Xie et al. 2017, Appendix A; He et al. 2016, Sec. 4.2): "random 32x32 crop of the
zero-padded 40x40 image + horizontal flip", normalised by the per-channel mean and standard deviation. The images
stay uint8 on the device (:mod:`resnext_edu.data`); crop, flip and normalisation are a few tensor operations on
whole batches there (the airbench approach). Everything random comes from a ``torch.Generator`` seeded by
(seed, epoch), so a run resumed after epoch k sees exactly the batches the uninterrupted run would have seen.

Progressive resizing (not in the paper; benchmarks/README.md, section 3): the fast recipe's early epochs can train on
the augmented images scaled down as a whole (``size``; 16 x 16 has a quarter of the pixels, so a quarter of the
time: a step's cost follows its pixels). The network is the same: its global average pool takes any map size.
"""

from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from .checks import check_batch_fits
from .data import MEAN, STD

PAD = 4  # zero padding before the random 32x32 crop (40x40 padded image)


def normalize(
    images: Tensor, dtype: torch.dtype = torch.float32, channels_last: bool = False
) -> Tensor:
    """uint8 (N, 3, H, W) -> (x / 255 - mean) / std in ``dtype``, per channel (torchvision's ``Normalize``)."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1) * 255
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1) * 255
    x = ((images.float() - mean) / std).to(dtype)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def crop_flip(images: Tensor, dy: Tensor, dx: Tensor, flip: Tensor, pad: int = PAD) -> Tensor:
    """Per-sample crop of the zero-padded images, then horizontal flip, in one gather (no loop over samples).

    Sample i becomes ``padded[i, :, dy[i]:dy[i]+H, dx[i]:dx[i]+W]``, mirrored left-right where ``flip[i]``.
    Offsets run from 0 to 2·pad; ``dy = dx = pad`` with no flip returns the image unchanged.
    """
    n, _, h, w = images.shape
    padded = torch.nn.functional.pad(
        images, (pad, pad, pad, pad)
    )  # (N, 3, H+2p, W+2p), zeros around
    ar_h, ar_w = torch.arange(h, device=images.device), torch.arange(w, device=images.device)
    rows = dy[:, None] + ar_h  # (N, H)
    cols = dx[:, None] + torch.where(
        flip[:, None], w - 1 - ar_w, ar_w
    )  # (N, W): reversed where flipped
    batch = torch.arange(n, device=images.device)[:, None, None]
    out = padded[
        batch, :, rows[:, :, None], cols[:, None, :]
    ]  # (N, H, W, 3): indexed dims come first
    return out.permute(0, 3, 1, 2)  # (N, 3, H, W)


def shrink(x: Tensor, size: int) -> Tensor:
    """Scale float images (N, 3, H, W) down to ``size`` x ``size`` as a whole: bilinear with antialiasing, the filter
    of PIL's ``Image.resize(..., BILINEAR)`` (a triangle widened by the scale factor, so every pixel contributes)."""
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def side_for_epoch(resize_schedule, epochs: int, epoch: int, full: int = 32) -> int:
    """The side of the training images in epoch ``epoch`` (0-based) of ``epochs`` under a progressive-resizing
    schedule ``((side, fraction of the epochs), ...)``: phase i covers the epochs up to epochs x (f_1 + ... + f_i),
    rounded half up; after the last phase, ``full``. With 20 epochs and ((16, 0.3), (24, 0.3)): 6 at 16, 6 at 24,
    8 at 32; with 15: 5 (4.5 rounded up) at 16, 4 at 24, 6 at 32."""
    end = 0.0
    for side, fraction in resize_schedule:
        end += fraction
        if epoch < int(epochs * end + 0.5):
            return side
    return full


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The CPU generator for one epoch's order and augmentation: a function of (seed, epoch) only, so resuming at
    any epoch replays the same batches, on any device."""
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


def train_batches(
    images: Tensor,
    labels: Tensor,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int = 0,
    augment: bool = True,
    pad: int = PAD,
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    size: int | None = None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """One epoch of shuffled, augmented, normalised batches of exactly ``batch_size`` (the last partial batch is
    dropped). Random choices are drawn on the CPU from :func:`epoch_generator` and moved to the data's device.
    Augmentation: a random 32x32 crop of the image zero-padded by ``pad`` pixels (the paper's 4), then a flip; with
    ``size`` smaller than the images, each augmented image is then scaled down to ``size`` x ``size`` (:func:`shrink`).

    With ``world_size`` > 1 (one rank of a torchrun job, :mod:`.distributed`), ``batch_size`` is the global batch and
    this yields rank ``rank``'s consecutive ``batch_size // world_size`` images of each. Every rank draws the same
    order and the same crop/flip offsets (one per position in the order), so the ranks' parts of a step together are
    the single-process batch, each image augmented exactly as in a single-process run.
    """
    n = len(labels)
    check_batch_fits(batch_size, n)
    if batch_size % world_size or not 0 <= rank < world_size:
        raise ValueError(
            f"A global batch of {batch_size} cannot be split evenly over {world_size} ranks (or rank "
            f"{rank} is not one of them): use a batch size that is a multiple of the number of ranks."
        )
    per_rank = batch_size // world_size
    g = epoch_generator(seed, epoch)
    order = torch.randperm(n, generator=g)
    dy, dx = torch.randint(0, 2 * pad + 1, (2, n), generator=g)
    flip = torch.rand(n, generator=g) < 0.5
    order, dy, dx, flip = (t.to(images.device) for t in (order, dy, dx, flip))
    for start in range(0, n - batch_size + 1, batch_size):
        mine = slice(
            start + rank * per_rank, start + (rank + 1) * per_rank
        )  # all of it for world size 1
        idx = order[mine]
        x = images[idx]
        if augment:
            x = crop_flip(x, dy[mine], dx[mine], flip[mine], pad)
        if size is None or size == x.shape[-1]:
            yield normalize(x, dtype, channels_last), labels[idx]
        else:  # scaled in float32 (normalising first is the same: both are linear)
            x = shrink(normalize(x), size).to(dtype)
            yield (
                (x.contiguous(memory_format=torch.channels_last) if channels_last else x),
                labels[idx],
            )


def eval_batches(
    images: Tensor,
    labels: Tensor,
    batch_size: int = 500,
    *,
    dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
) -> Iterator[tuple[Tensor, Tensor]]:
    """All images in order, normalised, not augmented; the last batch may be smaller."""
    for start in range(0, len(labels), batch_size):
        yield (
            normalize(images[start : start + batch_size], dtype, channels_last),
            labels[start : start + batch_size],
        )

"""The figures the tests check the project against, each with its source, so that a clone can check itself.

Sources: Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017 (arXiv 1611.05431),
Tables 1, 2, 3, 7 and Appendix A; torchvision's recorded ``num_params`` and ``_ops`` (GFLOPS, which are MACs) of its
ImageNet weights; the original Torch7 code (facebookresearch/ResNeXt). "MACs" are multiply-accumulates per image
(conv + fc); the paper's "FLOPs" and torchvision's "GFLOPS" are MACs in this sense.

Beside the figures: independent ways to reach a number (a parameter count summed over a model's tensors, a brute-force
search over d), which the tests use instead of the project's own solver.
"""

from __future__ import annotations

from functools import lru_cache

import torch

# --- exact parameter counts (learnable numbers) ------------------------------------------------------------------
# ImageNet (1000 classes): torchvision's num_params of resnet50, resnext50_32x4d, resnet101, resnext101_32x8d and
# resnext101_64x4d; the paper's Table 1 prints 25.5 M / 25.0 M for the first two. ResNeXt-101 32x4d: the paper's
# template counted exactly (torchvision has no such weights). CIFAR (10 classes): Table 7 prints 34.4 M and 68.1 M for
# ResNeXt-29 8x64d and 16x64d; the exact counts and the other ResNeXt-29 sizes are the Appendix A template counted
# exactly.
PARAMS = {
    "resnet50": 25_557_032,
    "resnext50_32x4d": 25_028_904,
    "resnet101": 44_549_160,
    "resnext101_32x4d": 44_177_704,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    "resnext29_8x64d": 34_426_698,
    "resnext29_16x64d": 68_155_210,
    "resnet29": 4_914_250,
    "resnext29_2x64d": 9_130_314,
    "resnext29_4x64d": 17_562_442,
    "resnext29_32x4d": 4_775_754,
}

# --- MACs per image, in G (10^9) ------------------------------------------------------------------------------------
# Table 1: ResNet-50 4.1 G, ResNeXt-50 4.2 G; the three-decimal figures are torchvision's recorded _ops. ResNeXt-29 at
# 32x32: about 5.39 G (8x64d) and 10.69 G (16x64d), the Appendix A template's conv + fc MACs.
GMACS = {
    "resnet50": 4.089,
    "resnext50_32x4d": 4.230,
    "resnet101": 7.80,
    "resnext101_32x4d": 7.97,
    "resnext101_32x8d": 16.41,
    "resnext101_64x4d": 15.46,
    "resnext29_8x64d": 5.39,
    "resnext29_16x64d": 10.69,
}

# --- Table 2: bottleneck width d at about the complexity of ResNet's conv2 block (256 -> 256) ------------------------
TABLE2_D = {1: 64, 2: 40, 4: 24, 8: 14, 32: 4}
# Eq. 4, C·(256·d + 3·3·d·d + d·256), for those (C, d): the paper's values
TABLE2_EQ4 = {1: 69_632, 2: 69_760, 4: 69_888, 8: 71_456, 32: 70_144}

# --- Appendix A: the CIFAR recipe ------------------------------------------------------------------------------------
CIFAR_RECIPE = {
    "epochs": 300,
    "batch_size": 128,
    "lr": 0.1,
    "lr_drops_at_epochs": (150, 225),
    "train_images": 50_000,
    "test_images": 10_000,
}


# --- independent computations ----------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _params(name: str, overrides: tuple) -> int:
    from resnext_edu import models

    with torch.device("meta"):
        return sum(p.numel() for p in models.create(name, **dict(overrides)).parameters())


def params_of(name: str, **overrides) -> int:
    """A parameter count that does not use the project's counter: build the model on the meta device (shapes only)
    and add up its tensors' sizes."""
    return _params(
        name,
        tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in overrides.items())),
    )


def brute_force_base_width(cardinality: int, target: int, *, depth: int = 29, **overrides) -> int:
    """The base width d whose ResNeXt-``depth`` C x d model has the parameter count closest to ``target``, found by
    trying d = 1, 2, 3, ... (every d that builds) until the count passes the target (ties: the smallest d). The
    counts grow with d, so no later d can be closer. No solver, no bisection."""
    counts = {}
    for d in range(1, 100_000):
        try:
            counts[d] = params_of(f"resnext{depth}_{cardinality}x{d}d", **overrides)
        except ValueError:  # some stage would get d < 1 channel: not a model
            continue
        if counts[d] > target:
            break
    return min(counts, key=lambda d: (abs(counts[d] - target), d))


def cifar_macs_by_hand(
    cardinality: int,
    base_width: int,
    stage_widths,
    stem_width: int,
    depth: int = 29,
    num_classes: int = 10,
) -> int:
    """MACs per 32x32 image of a CIFAR ResNeXt (Appendix A), written out layer by layer without the project's code:
    a conv's MACs are its weights times the output positions it is applied at.

    stem 3x3: 32·32·3·9·stem; each block (d = floor(w·base_width/64), C·d = group width, out = 4w, stride 2 in the 3x3
    of each later stage's first block): H·W·in·Cd + H'·W'·(9·d·Cd + Cd·out), plus H'·W'·in·out for a projection
    shortcut (where the shape changes); fc: out·classes."""
    size, macs, in_channels = 32, 32 * 32 * 3 * 9 * stem_width, stem_width
    for s, w in enumerate(stage_widths):
        d, out = w * base_width // 64, 4 * w
        width = cardinality * d
        for b in range((depth - 2) // 9):
            stride = 2 if (s > 0 and b == 0) else 1
            after = size // stride
            macs += size * size * in_channels * width + after * after * (
                9 * d * width + width * out
            )
            if stride != 1 or in_channels != out:
                macs += after * after * in_channels * out
            in_channels, size = out, after
    return macs + in_channels * num_classes

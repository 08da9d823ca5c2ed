"""How big a block, a model or a counted input may be: estimated before anything is built, refused with the figure.

A typo such as ``resnext29_100000x64d`` (one zero too many) or ``--input-size 20000`` would fill the memory or
build for minutes before failing. So each size is estimated first, from shapes only (the meta device holds no
numbers), and refused above a limit with the estimate, the limit and what to try. The limits sit far above
anything the paper trains, so no lesson ever meets them:

* :data:`MAX_PARAMS`: learnable numbers of one block or model (the paper's largest model, ResNeXt-101 64x4d, is
  far below: lesson 04 counts it);
* :data:`MAX_BRANCHES`: cardinality in forms A and B of Fig. 3, which build one module per branch (form C holds any
  C in one grouped convolution; the drawings and lessons use at most 64);
* :data:`MAX_FEATURE_BYTES`: the feature maps that training keeps for the backward pass, for one image.

Used by :mod:`resnext_edu.blocks`, :mod:`resnext_edu.models` and :mod:`resnext_edu.counting` (lessons 01-04).
"""

from __future__ import annotations

MAX_PARAMS = (
    10**9
)  # 4 GB of float32 weights; SGD with momentum needs 3x that (weights, grads, momentum)
MAX_BRANCHES = 1024  # forms A/B: about 0.6 ms of building per branch (measured on one CPU core)
MAX_FEATURE_BYTES = 80 * 2**30  # 80 GiB: more than the largest common GPU holds, for a single image
FLOAT_BYTES = 4  # float32


def check_params(what: str, params: int, hint: str = "") -> int:
    """Return ``params`` if it is at most :data:`MAX_PARAMS`, else a ValueError with the figure and the limit."""
    if params > MAX_PARAMS:
        raise ValueError(
            f"{what} would have {params:,} parameters ({params * FLOAT_BYTES / 2**30:,.1f} GiB as "
            f"float32, about 3x that to train), more than the limit of {MAX_PARAMS:,}. Nothing was "
            f"built. {hint or 'Use a smaller cardinality or width (a typo with one zero too many?).'}"
        )
    return params


def check_branches(cardinality: int, form: str) -> int:
    """Return ``cardinality`` if form ``form`` can build that many branches (forms A and B: at most MAX_BRANCHES)."""
    if form in ("A", "B") and cardinality > MAX_BRANCHES:
        raise ValueError(
            f"Form {form} builds one module per branch, and cardinality {cardinality:,} is more than the "
            f"{MAX_BRANCHES:,} it allows (building that many takes about {cardinality * 0.6e-3:,.0f} s). "
            f"Use form 'C' (one grouped convolution holds any cardinality) or a smaller cardinality."
        )
    return cardinality


def check_feature_bytes(what: str, feature_bytes: int, input_size: int) -> int:
    """Return ``feature_bytes`` if one image's feature maps at ``input_size`` fit :data:`MAX_FEATURE_BYTES`."""
    if feature_bytes > MAX_FEATURE_BYTES:
        raise ValueError(
            f"{what} at {input_size:,}x{input_size:,} pixels would keep {feature_bytes / 2**30:,.0f} GiB "
            f"of feature maps per image for training (float32), more than the limit of "
            f"{MAX_FEATURE_BYTES / 2**30:,.0f} GiB. Use a smaller input size (the paper's are 32 for "
            f"CIFAR and 224 for ImageNet)."
        )
    return feature_bytes

"""Counting parameters and multiply-accumulates (MACs), measured and by hand; the complexity-matched width solver.

Units, everywhere in this project:

* **params**: learnable numbers (conv and fc weights and biases, BN's gamma and beta; not BN's running statistics).
* **MACs**: multiply-accumulates per image, counted for convolutions and the fc layer (not BN, ReLU, adds or
  pooling). The paper's "FLOPs" (Table 1: 4.1 G / 4.2 G) and torchvision's "GFLOPS" are MACs in this sense.
* **FLOPs** = 2 x MACs: what ``torch.utils.flop_counter`` reports (one multiply + one add).

The measurement runs the model once under torch's own :class:`~torch.utils.flop_counter.FlopCounterMode` (no
hand-written module walker). The closed forms (:func:`eq4_params`, :func:`block_params`, :func:`block_macs`) are what
lesson 04 derives by hand; the tests check them against the measurement. Lessons 01, 02 and 04.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .blocks import PROJECTION_WHEN_NEEDED, group_width, projects
from .checks import check_positive_int
from .limits import check_feature_bytes
from .models import ResNeXt, config_for, create, name_of, thinnest_base_width

G = 1e9
M = 1e6


@dataclass
class LayerCount:
    """One layer (a module that holds parameters or does MACs)."""

    name: str  # dotted name, as in model.named_modules()
    kind: str  # class name, e.g. "Conv2d"
    params: int
    macs: int


@dataclass
class Counts:
    """Parameters and MACs of a model for one input size. ``flops`` is 2 x ``macs``."""

    model: str
    input_size: int
    params: int
    macs: int
    layers: list[LayerCount] = field(default_factory=list)

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def by_stage(self) -> list[dict]:
        """Totals per stage: "stem" (conv1/bn1), "layer1", ..., "head" (fc)."""
        order: dict[str, dict] = {}
        for layer in self.layers:
            top = layer.name.split(".")[0]
            stage = top if top.startswith("layer") else ("head" if top == "fc" else "stem")
            row = order.setdefault(stage, {"stage": stage, "params": 0, "macs": 0})
            row["params"] += layer.params
            row["macs"] += layer.macs
        return list(order.values())

    def as_dict(self, by_stage: bool = False) -> dict:
        out = {
            "model": self.model,
            "input_size": self.input_size,
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "units": "params: learnable numbers; macs: multiply-accumulates per image "
            "(conv + fc); flops = 2 x macs",
        }
        if by_stage:
            out["stages"] = self.by_stage()
        return out

    def __str__(self) -> str:
        return (
            f"{self.model} at {self.input_size}x{self.input_size}: {self.params:,} params ({self.params / M:.2f} M), "
            f"{self.macs / G:.3f} G MACs = {self.flops / G:.3f} G FLOPs per image"
        )


def default_input_size(model: nn.Module) -> int:
    """32 for CIFAR models, 224 for ImageNet ones."""
    config = getattr(model, "config", None)
    return 224 if config is not None and config.template == "imagenet" else 32


def count(model: nn.Module | str, input_size: int | None = None) -> Counts:
    """Measure params and MACs per image of ``model`` (an ``nn.Module`` or a registered name) at ``input_size``.

    A name is built on the "meta" device (no memory, no compute), so even ResNeXt-101 32x8d counts in well under a
    second. A module is run once in eval mode on one image of its dtype, with meta stand-ins for its tensors (so
    its weights, BN statistics and training mode are left as they were). An input whose feature maps would not
    fit :data:`~resnext_edu.limits.MAX_FEATURE_BYTES` per image is refused with the figure.
    """
    name = model if isinstance(model, str) else type(model).__name__
    if isinstance(model, str):
        with torch.device("meta"):
            model = create(model)
    elif isinstance(model, ResNeXt):
        name = name_of(model.config)
    if input_size is None:
        input_size = default_input_size(model)
    input_size = check_positive_int(
        "input_size", input_size, "It is the height (= width) of the input image in pixels."
    )
    channels = getattr(
        model, "in_channels", 3
    )  # a block takes its in_channels, a model an RGB image
    first = next(model.parameters())
    # Shapes decide params and MACs, so the pass runs on the meta device (no memory, no arithmetic): the model's
    # own tensors are stood in for by empty meta ones, and any input size is counted in a blink.
    stand_ins = {
        k: torch.empty_like(v, device="meta")
        for k, v in [*model.named_parameters(), *model.named_buffers()]
    }
    x = torch.empty(1, channels, input_size, input_size, device="meta", dtype=first.dtype)
    feature_bytes = []
    hooks = [
        m.register_forward_hook(
            lambda m, i, out: feature_bytes.append(out.numel() * out.element_size())
        )
        for m in model.modules()
        if not list(m.children())
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            torch.func.functional_call(model, stand_ins, (x,))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    check_feature_bytes(name, sum(feature_bytes), input_size)
    flops_by_module = counter.get_flop_counts()
    prefix = type(model).__name__ + "."
    layers = []
    for module_name, module in model.named_modules():
        own_params = sum(p.numel() for p in module.parameters(recurse=False))
        own_flops = (
            sum(flops_by_module.get(prefix + module_name, {}).values())
            if not list(module.children())
            else 0
        )
        if own_params or own_flops:
            layers.append(
                LayerCount(module_name, type(module).__name__, own_params, own_flops // 2)
            )
    params = sum(p.numel() for p in model.parameters())
    return Counts(name, input_size, params, counter.get_total_flops() // 2, layers)


# ---------------------------------------------------------------------------------------------------------------
# Closed forms: what a learner derives by hand (lesson 04)
# ---------------------------------------------------------------------------------------------------------------


def eq4_params(
    cardinality: int, bottleneck_width: int, in_channels: int = 256, out_channels: int = 256
) -> int:
    """The paper's Eq. 4: C·(in·d + 3·3·d·d + d·out), the conv weights of a ResNeXt block (no BN, no shortcut).

    With in = out = 256: C=1, d=64 gives 69,632 (ResNet's bottleneck); C=32, d=4 gives 70,144 (Table 2).
    """
    C, d = cardinality, bottleneck_width
    return C * (in_channels * d + 3 * 3 * d * d + d * out_channels)


def block_params(
    in_channels: int,
    out_channels: int,
    *,
    cardinality: int,
    bottleneck_width: int,
    stride: int = 1,
    shortcut: str = PROJECTION_WHEN_NEEDED,
) -> int:
    """All learnable numbers of a ResNeXt block: Eq. 4, plus BN's gamma and beta (2 per channel of bn1, bn2, bn3),
    plus the projection shortcut (1x1 conv + BN) where there is one. The same for forms A, B and C."""
    width = group_width(cardinality, bottleneck_width)
    params = eq4_params(cardinality, bottleneck_width, in_channels, out_channels) + 2 * (
        width + width + out_channels
    )
    if projects(in_channels, out_channels, stride, shortcut):
        params += in_channels * out_channels + 2 * out_channels
    return params


def block_macs(
    in_channels: int,
    out_channels: int,
    *,
    cardinality: int,
    bottleneck_width: int,
    input_size: int,
    stride: int = 1,
    shortcut: str = PROJECTION_WHEN_NEEDED,
) -> int:
    """MACs of a ResNeXt block on an ``input_size`` x ``input_size`` map: each conv's weights times the number of
    output positions it is applied at. The first 1x1 runs at the input size, the rest after the stride:

        H·W·in·C·d  +  H'·W'·(3·3·d·d·C + C·d·out)  [+ H'·W'·in·out for a projection]
    """
    width = group_width(cardinality, bottleneck_width)
    out_size = (
        input_size - 1
    ) // stride + 1  # 3x3, padding 1 (and 1x1, no padding) with this stride
    macs = input_size**2 * in_channels * width
    macs += out_size**2 * (3 * 3 * bottleneck_width * width + width * out_channels)
    if projects(in_channels, out_channels, stride, shortcut):
        macs += out_size**2 * in_channels * out_channels
    return macs


# ---------------------------------------------------------------------------------------------------------------
# Complexity-matched widths (Table 2)
# ---------------------------------------------------------------------------------------------------------------


def solve_bottleneck_width(
    cardinality: int,
    *,
    in_channels: int = 256,
    out_channels: int = 256,
    resnet_width: int = 64,
    budget: int | None = None,
) -> int:
    """The bottleneck width d whose block (Eq. 4) is closest to the budget, by default that of ResNet's block
    (C = 1, d = ``resnet_width``). Reproduces Table 2: C = 1, 2, 4, 8, 32 -> d = 64, 40, 24, 14, 4.

    Raises ValueError if even d = 1 exceeds the budget (the budget cannot hold that cardinality).
    """
    check_positive_int("cardinality", cardinality)
    check_positive_int("resnet_width", resnet_width)
    if budget is None:
        budget = eq4_params(1, resnet_width, in_channels, out_channels)
    return closest_width(
        lambda d: eq4_params(cardinality, d, in_channels, out_channels),
        budget,
        f"C = {cardinality} with {in_channels} -> {out_channels} channels",
    )


def closest_width(params_of, budget: int, what: str, smallest: int = 1) -> int:
    """The d >= ``smallest`` with the smallest ``|params_of(d) - budget|``, for ``params_of`` non-decreasing in d
    (binary search); of several d with that same count (floors in the stage widths can make neighbours equal), the
    smallest.
    ``what`` names the model in the error raised when even d = ``smallest`` is over the budget."""
    if params_of(smallest) > budget:
        raise ValueError(
            f"The budget of {budget:,} params cannot hold {what}: even the thinnest bottleneck width, "
            f"d = {smallest}, needs {params_of(smallest):,}. Use a smaller cardinality or a larger budget."
        )
    low, high = smallest, 2 * smallest
    while params_of(high) <= budget:
        low, high = high, 2 * high
    while high - low > 1:  # invariant: params_of(low) <= budget < params_of(high)
        mid = (low + high) // 2
        low, high = (mid, high) if params_of(mid) <= budget else (low, mid)
    best = min((low, high), key=lambda d: (abs(params_of(d) - budget), d))
    while best > smallest and params_of(best - 1) == params_of(best):
        best -= 1
    return best


def match_base_width(baseline: str, cardinality: int, **overrides) -> int:
    """The base width d for which ``create(baseline, cardinality=C, base_width=d, **overrides)`` has the parameter
    count closest to ``create(baseline, **overrides)`` (a model name, e.g. "resnet29"): the complexity-matched models
    of a cardinality sweep (Table 3's settings, e.g. ResNeXt-50 1x64d vs 32x4d; lesson 05). Counts are measured on the
    meta device. (:func:`solve_bottleneck_width` does the same for one block, Table 2.)"""

    def params_of(d: int, C: int = cardinality) -> int:
        with torch.device("meta"):
            model = create(baseline, **{**overrides, "cardinality": C, "base_width": d})
        return sum(p.numel() for p in model.parameters())

    with torch.device("meta"):
        budget = sum(p.numel() for p in create(baseline, **overrides).parameters())
    smallest = thinnest_base_width(config_for(baseline, **overrides).stage_widths)
    return closest_width(params_of, budget, f"cardinality {cardinality} in {baseline}", smallest)

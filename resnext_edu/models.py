"""One generic ResNeXt and the registered model names.

Two templates (lesson 02 shows both, with their per-stage counts):

* ``"cifar"`` (the paper's Appendix A): a 3x3 stem of 64 filters, three stages of (depth - 2) / 9 bottleneck blocks,
  stage widths 64/128/256 with outputs 4x that, downsampling by stride 2 in the 3x3 of each later stage's first
  block, global average pool + fc. ResNeXt-29 8x64d has 34,426,698 parameters (10 classes), Table 7.
* ``"imagenet"`` (Table 1): a 7x7/2 stem of 64 + 3x3/2 max-pool, four stages of 3/4/6/3 (50 layers) or 3/4/23/3
  (101) blocks. Parameter names follow torchvision's ``ResNet``, so its state_dicts load with ``strict=True``.

Two widths, two names. ``base_width`` (timm's name; the reference code's ``baseWidth``) is the "64d" of "8x64d":
the bottleneck width at a stage of 64 planes, the first stage of every model in the paper. A block's real d
(:class:`~resnext_edu.blocks.ResNeXtBlock`'s ``bottleneck_width``) at stage s is ``floor(stage_widths[s] ·
base_width / 64)`` (:meth:`ResNeXtConfig.stage_bottleneck_widths`). Smaller "lesson-size" stage widths scale every
width of the paper's model alike: ``create("resnext29_8x64d", stage_widths=(16, 32, 64))`` has blocks of d = 16,
32, 64.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor, nn

from .blocks import FORMS, PROJECTION_WHEN_NEEDED, ResNeXtBlock, check_residual, check_shortcut
from .checks import check_choice, check_positive_int
from .limits import check_params

EXPANSION = 4  # block output = 4 x stage width, in both templates
REFERENCE_PLANES = (
    64  # the stage width at which d is stated (the first stage of the paper's models)
)
IMAGENET_STAGES = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


@dataclass(frozen=True)
class ResNeXtConfig:
    """Everything that defines a model. Build one with :func:`create` rather than by hand."""

    template: str  # "cifar" (Appendix A) or "imagenet" (Table 1)
    blocks_per_stage: tuple[int, ...]  # (3, 3, 3) for ResNeXt-29, (3, 4, 6, 3) for ResNeXt-50
    cardinality: int = 1  # C: transformations per block (Eq. 2); 1 is ResNet
    base_width: int = 64  # d at a stage of 64 planes (the name's "64d"); blocks scale it
    stage_widths: tuple[int, ...] = ()  # "planes" per stage; the block output is EXPANSION x this
    stem_width: int = 64  # channels of the stem convolution
    num_classes: int = 10
    form: str = "C"  # block form of Fig. 3, for every block
    shortcut: str = PROJECTION_WHEN_NEEDED  # or "projection-always" (blocks.projection)
    residual: bool = True  # False gives the "plain" network (Table 3, without residual)

    @property
    def depth(self) -> int:
        return 3 * sum(self.blocks_per_stage) + 2

    def stage_bottleneck_widths(self) -> tuple[int, ...]:
        """The blocks' d in each stage: floor(stage_width · base_width / 64), the reference code's rule."""
        return tuple(w * self.base_width // REFERENCE_PLANES for w in self.stage_widths)


class ResNeXt(nn.Module):
    """A ResNeXt (or, with cardinality 1, a ResNet) built from :class:`~resnext_edu.blocks.ResNeXtBlock`."""

    def __init__(self, config: ResNeXtConfig):
        super().__init__()
        self.config = c = config
        if c.template == "imagenet":
            self.conv1 = nn.Conv2d(3, c.stem_width, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(3, c.stem_width, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(c.stem_width)
        self.relu = nn.ReLU(inplace=True)
        in_channels = c.stem_width
        for s, (n_blocks, width, d) in enumerate(
            zip(c.blocks_per_stage, c.stage_widths, c.stage_bottleneck_widths())
        ):
            blocks = []
            for b in range(n_blocks):
                blocks.append(
                    ResNeXtBlock(
                        in_channels,
                        EXPANSION * width,
                        stride=2 if (s > 0 and b == 0) else 1,
                        cardinality=c.cardinality,
                        bottleneck_width=d,
                        form=c.form,
                        shortcut=c.shortcut,
                        residual=c.residual,
                    )
                )
                in_channels = EXPANSION * width
            self.add_module(f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, c.num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{s + 1}") for s in range(len(self.config.blocks_per_stage))]

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, stem, H', W')
        for stage in self.stages:
            x = stage(x)  # halves H, W in each later stage
        return self.fc(self.avgpool(x).flatten(1))  # (N, num_classes)


# ---------------------------------------------------------------------------------------------------------------
# Names and factories
# ---------------------------------------------------------------------------------------------------------------

MODEL_NAMES = (
    "resnet29",
    "resnext29_2x64d",
    "resnext29_4x64d",
    "resnext29_8x64d",
    "resnext29_16x64d",
    "resnext29_32x4d",
    "resnet50",
    "resnext50_32x4d",
    "resnet101",
    "resnext101_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
)
_NAME = re.compile(r"^(?:resnet(?P<rdepth>\d+)|resnext(?P<depth>\d+)_(?P<C>\d+)x(?P<d>\d+)d)$")
OVERRIDES = tuple(f.name for f in fields(ResNeXtConfig) if f.name != "template")


def list_models(filter: str | list[str] = "") -> list[str]:
    """The registered names, or those matching ``filter``: a shell-style pattern (``"resnext*"``, ``"*_32x*"``) or a
    list of them, as in ``timm.list_models(filter=...)``; case-sensitive. Any ``resnext<depth>_<C>x<d>d`` is also
    accepted by :func:`create` (depth 29, 38, ... on CIFAR: (depth - 2) divisible by 9; 50, 101, 152 on ImageNet),
    and ``resnet<depth>`` (= 1x64d)."""
    patterns = (
        [filter]
        if isinstance(filter, str)
        else list(filter)
        if isinstance(filter, (list, tuple))
        else [None]
    )
    if not all(isinstance(p, str) for p in patterns):
        raise TypeError(
            f"filter must be a pattern string such as 'resnext*' or a list of them, got {filter!r}."
        )
    patterns = [p for p in patterns if p]
    return [
        name
        for name in MODEL_NAMES
        if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)
    ]


def config_for(name: str, **overrides) -> ResNeXtConfig:
    """Parse a model name into a :class:`ResNeXtConfig`, then apply ``overrides`` (checked)."""
    match = _NAME.match(name) if isinstance(name, str) else None
    if match is None:
        close = difflib.get_close_matches(str(name), MODEL_NAMES, n=3, cutoff=0.5)
        raise ValueError(
            f"Unknown model {name!r}. Did you mean {', '.join(close) or 'one of the listed names'}? "
            f"Valid: {', '.join(MODEL_NAMES)}, or any resnext29_<C>x<d>d (e.g. resnext29_4x16d)."
        )
    if match["rdepth"]:
        depth, cardinality, width = int(match["rdepth"]), 1, 64
    else:
        depth, cardinality, width = int(match["depth"]), int(match["C"]), int(match["d"])
    if depth in IMAGENET_STAGES:
        config = ResNeXtConfig(
            "imagenet", IMAGENET_STAGES[depth], stage_widths=(64, 128, 256, 512), num_classes=1000
        )
    elif depth >= 11 and (depth - 2) % 9 == 0:
        n = (depth - 2) // 9
        config = ResNeXtConfig("cifar", (n, n, n), stage_widths=(64, 128, 256), num_classes=10)
    else:
        raise ValueError(
            f"Model {name!r} has depth {depth}, which no template supports. CIFAR depths need "
            f"(depth - 2) divisible by 9 (11, 20, 29, 38, ...); ImageNet depths are 50, 101 and 152."
        )
    return _checked(replace(config, cardinality=cardinality, base_width=width), overrides)


def _checked(config: ResNeXtConfig, overrides: dict) -> ResNeXtConfig:
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise ValueError(
            f"Unknown override(s) {', '.join(unknown)}. Allowed: {', '.join(OVERRIDES)}."
        )
    for key in ("stage_widths", "blocks_per_stage"):
        if overrides.get(key) is not None:
            if isinstance(overrides[key], (str, bytes)) or not hasattr(overrides[key], "__iter__"):
                raise TypeError(
                    f"{key} is one whole number per stage, e.g. {getattr(config, key)}, got "
                    f"{overrides[key]!r}."
                )
            overrides[key] = tuple(overrides[key])
    n_stages = len(config.blocks_per_stage)
    blocks = overrides.get("blocks_per_stage")
    if blocks is not None:
        try:
            if len(blocks) != n_stages:
                raise ValueError
            overrides["blocks_per_stage"] = tuple(
                check_positive_int("blocks_per_stage", b) for b in blocks
            )
        except ValueError:
            raise ValueError(
                f"blocks_per_stage needs {n_stages} whole numbers >= 1 for the {config.template} "
                f"template (one per stage), got {blocks!r}. Example: {config.blocks_per_stage}."
            ) from None
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})
    config = replace(
        config,
        **{
            k: check_positive_int(k, getattr(config, k), hint)
            for k, hint in (
                ("cardinality", "C counts the parallel transformations in a block."),
                ("base_width", "It is d at a stage of 64 planes, the 64 of 1x64d."),
                ("stem_width", ""),
                ("num_classes", ""),
            )
        },
    )
    check_choice("form", config.form, FORMS)
    check_residual(config.residual, check_shortcut(config.shortcut))
    n_stages = len(config.blocks_per_stage)
    if len(config.stage_widths) != n_stages:
        raise ValueError(
            f"stage_widths needs {n_stages} values for the {config.template} template "
            f"(one per stage), got {config.stage_widths!r}. Example: {(16, 32, 64, 128)[:n_stages]}."
        )
    config = replace(
        config,
        stage_widths=tuple(
            check_positive_int("each stage width", w, f"Got stage_widths={config.stage_widths!r}.")
            for w in config.stage_widths
        ),
    )
    for s, d in enumerate(config.stage_bottleneck_widths()):
        if d < 1:
            raise ValueError(
                f"Stage {s + 1} would have bottleneck width floor({config.stage_widths[s]} x "
                f"{config.base_width} / {REFERENCE_PLANES}) = 0, and a transformation needs at "
                f"least one channel. Use base_width >= {thinnest_base_width(config.stage_widths)} "
                f"or wider stages."
            )
    return config


def create(name: str, **overrides) -> ResNeXt:
    """Build a registered model, e.g. ``create("resnext29_8x64d")`` or a lesson-size one,
    ``create("resnext29_4x16d", stage_widths=(16, 32, 64), stem_width=16)``.

    Overrides: num_classes, form ("A"/"B"/"C", every block), stage_widths, stem_width, cardinality,
    base_width, shortcut ("projection-when-needed" / "projection-always"), residual (False for a plain network) and
    blocks_per_stage (the name's depth then no longer holds: ``depth`` and :func:`name_of` follow the blocks).

    The size is worked out first on the meta device (shapes only, no memory); a model over
    :data:`~resnext_edu.limits.MAX_PARAMS` is refused before anything is allocated.
    """
    config = config_for(name, **overrides)
    what = f"Model {name!r}" + (f" with {overrides}" if overrides else "")
    try:
        with torch.device("meta"):
            params = sum(p.numel() for p in ResNeXt(config).parameters())
    except ValueError as error:  # one block alone is over a limit
        raise ValueError(f"{what}: {error}") from None
    check_params(what, params)
    return ResNeXt(config)


def zero_init_residual(model: nn.Module) -> nn.Module:
    """Set the scale (gamma) of every residual block's last BatchNorm (``bn3``) to zero, in place, and return the
    model: each residual block then starts as the identity, y = x (Goyal et al. 2017, "Accurate, Large Minibatch SGD",
    Section 5.1; torchvision's ``zero_init_residual=True``). Plain blocks (``residual=False``) are left alone: zeroing
    them would cut the network. An initialisation, not an architecture: the model's config does not change."""
    for block in model.modules():
        if isinstance(block, ResNeXtBlock) and block.residual:
            nn.init.zeros_(block.bn3.weight)
    return model


def name_of(config: ResNeXtConfig) -> str:
    """The canonical name of a config's architecture family, e.g. ``resnext29_8x64d`` (overrides not included)."""
    if config.cardinality == 1 and config.base_width == 64:
        return f"resnet{config.depth}"
    return f"resnext{config.depth}_{config.cardinality}x{config.base_width}d"


def thinnest_base_width(stage_widths) -> int:
    """The smallest ``base_width`` whose blocks have d >= 1 in every stage: ceil(64 / the narrowest stage width)."""
    return -(-REFERENCE_PLANES // min(stage_widths))

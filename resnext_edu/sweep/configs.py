"""Which models a sweep trains (lesson 05): at a budget, the parameter count of a CIFAR ResNet,
Table 3's cardinalities each with the d that matches it, and Table 4's three ways to spend twice as
much (deeper, wider, more paths). Parameters are counted on the meta device; MACs per 32x32 image by
:func:`resnext_edu.counting.count`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import torch

from .. import counting, models
from ..checks import check_int

CIFAR_DEPTHS = tuple(range(11, 300, 9))  # (depth - 2) divisible by 9: 11, 20, 29, 38, ...
DEFAULT_CARDINALITIES = (1, 2, 4, 8, 16, 32)
DEFAULT_TABLE4_CARDINALITIES = (2, 64)  # the paper's ResNeXt-101 2x64d and 64x4d at 2x complexity


class _Widths:
    """What a budget and each model of its sweep share: stage widths, stem width, classes."""

    def overrides(self) -> dict:
        """The model overrides of a budget and its sweep's models: stage widths, stem, classes."""
        return {
            "stage_widths": tuple(self.stage_widths),
            "stem_width": self.stem_width,
            "num_classes": self.num_classes,
        }


@dataclass(frozen=True)
class Budget(_Widths):
    """A complexity budget: the parameters of a C = 1, d = 64 ResNet at these stage widths."""

    name: str  # used in file names and plots: "lesson", "tiny", ...
    stage_widths: tuple[int, ...]  # "planes" of the three CIFAR stages (the paper: 64, 128, 256)
    stem_width: int  # channels of the 3x3 stem (the paper: 64)
    about: str = ""  # one line for learners
    depth: int = 29  # CIFAR depth of every model on the cardinality axis (the paper: 29)
    num_classes: int = 10

    @property
    def params(self) -> int:
        """The parameters of the C = 1, d = 64 ResNet at this depth (``resnet29``)."""
        return _params(self, f"resnet{self.depth}")


BUDGETS = {
    "tiny": Budget(
        "tiny", (8, 16, 32), 8, "about 80 k params; for tests and smoke runs (C up to 8)"
    ),
    "lesson": Budget(
        "lesson", (16, 32, 64), 16, "about 0.31 M params; the shipped CPU sweep (C up to 32)"
    ),
    "medium": Budget("medium", (32, 64, 128), 32, "about 1.2 M params; a GPU session (C up to 64)"),
    "paper": Budget(
        "paper",
        (64, 128, 256),
        64,
        "ResNet-29 1x64d, 4.9 M params: Table 7's model at d = 64 (C up to 128)",
    ),
    "full": Budget(
        "full",
        (16, 32, 64),
        16,
        "ResNet-20 at lesson widths, about 0.21 M params; with the fast "
        "recipe on all 50,000 images (run.RECIPES; hours on a CPU)",
        depth=20,
    ),
}


def get_budget(name: str | Budget) -> Budget:
    if isinstance(name, Budget):
        return name
    if name not in BUDGETS:
        choices = "; ".join(f"{b.name} ({b.about})" for b in BUDGETS.values())
        raise ValueError(f"Unknown budget {name!r}. Choose one of: {choices}.")
    return BUDGETS[name]


@dataclass(frozen=True)
class SweepConfig(_Widths):
    """One model of a sweep, with the counts that show it is complexity-matched."""

    budget: str  # the budget's name
    scale: int  # 1: the budget itself; 2: twice its parameters (Table 4)
    axis: str  # "cardinality", "deeper" or "wider"
    depth: int  # 29 for ResNeXt-29; more for "deeper"
    cardinality: int  # C
    base_width: int  # d at a stage of 64 planes (the 24d of 4x24d; the stages scale it)
    stage_widths: tuple[int, ...]
    stem_width: int
    num_classes: int
    target_params: int  # scale x the budget's params: what the solver matched
    params: int  # this model's learnable numbers
    macs: int  # multiply-accumulates per 32x32 image

    @property
    def model_name(self) -> str:
        """E.g. ``resnext29_4x24d``; ``resnet56`` for C = 1, d = 64."""
        return models.name_of(models.config_for(f"resnext{self.depth}_{self.setting}"))

    @property
    def setting(self) -> str:
        """The paper's notation, "Cxdd": 1x64d, 32x4d."""
        return f"{self.cardinality}x{self.base_width}d"

    @property
    def group(self) -> str:
        """Budget and scale, e.g. ``lesson-1x``: runs in one group are complexity-matched."""
        return f"{self.budget}-{self.scale}x"

    @property
    def key(self) -> str:
        """A file-name-safe identity of the model, e.g. ``lesson-1x_resnext29_4x24d``."""
        return f"{self.group}_{self.model_name}"

    def create(self) -> models.ResNeXt:
        """Build the model (weights from the current torch seed)."""
        return models.create(f"resnext{self.depth}_{self.setting}", **self.overrides())

    def as_dict(self) -> dict:
        out = asdict(self)
        out["stage_widths"] = list(self.stage_widths)
        out.update(model_name=self.model_name, setting=self.setting, group=self.group, key=self.key)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> SweepConfig:
        values = {name: data[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "stage_widths": tuple(values["stage_widths"])})


@lru_cache(maxsize=512)
def _params(budget: Budget, name: str) -> int:
    """Learnable numbers of model ``name`` at the budget's widths, counted on the meta device."""
    with torch.device("meta"):
        model = models.create(name, **budget.overrides())
    return sum(p.numel() for p in model.parameters())


@lru_cache(maxsize=512)
def _config(budget: Budget, scale: int, axis: str, depth: int, C: int, d: int) -> SweepConfig:
    """The model ``resnext{depth}_{C}x{d}d`` at the budget's widths, with its counts."""
    with torch.device("meta"):
        model = models.create(f"resnext{depth}_{C}x{d}d", **budget.overrides())
    counts = counting.count(model, 32)
    sizes = dict(target_params=scale * budget.params, params=counts.params, macs=counts.macs)
    return SweepConfig(budget.name, scale, axis, depth, C, d, **budget.overrides(), **sizes)


def _width(budget: Budget, C: int, scale: int) -> int:
    """The width solver (:func:`~resnext_edu.counting.closest_width`): the d whose model of
    cardinality C comes closest to ``scale`` x the budget's params. Raises ValueError, naming the
    largest C the budget holds, where even the thinnest d is over it."""
    target, smallest = scale * budget.params, models.thinnest_base_width(budget.stage_widths)

    def params(d: int, cardinality: int = C) -> int:
        return _params(budget, f"resnext{budget.depth}_{cardinality}x{d}d")

    if params(smallest) > target:
        largest = 1
        while params(smallest, 2 * largest) <= target:
            largest *= 2
        raise ValueError(
            f"{'Twice the' if scale == 2 else 'The'} budget {budget.name!r} ({target:,} params) "
            f"cannot hold cardinality {C}: even the thinnest bottleneck width, d = {smallest}, "
            f"needs {params(smallest):,} params. The largest cardinality it holds is {largest}; "
            f"use a smaller C or a larger budget ({', '.join(BUDGETS)})."
        )
    return counting.closest_width(params, target, f"cardinality {C}", smallest)


def _distinct(what: str, values, low: int, example: str) -> list[int]:
    """``values`` as whole numbers >= ``low``: at least one, each once."""
    values = [check_int(f"a {what}", v, low=low, hint=f"For example: {example}.") for v in values]
    if not values:
        raise ValueError(f"Give at least one {what}, e.g. {example}.")
    if len(set(values)) != len(values):
        raise ValueError(f"Each {what} once, please: got {values}.")
    return values


def _cardinality_axis(budget: Budget, scale: int, cardinalities) -> list[SweepConfig]:
    return [
        _config(budget, scale, "cardinality", budget.depth, C, _width(budget, C, scale))
        for C in _distinct("cardinality", cardinalities, 1, "1 2 4 8 16 32")
    ]


def cardinality_configs(
    budget: str | Budget = "lesson", cardinalities=DEFAULT_CARDINALITIES
) -> list[SweepConfig]:
    """Table 3 at a learner's scale: for each C, the d that matches the budget's params. Raises
    ValueError for a C the budget cannot hold."""
    return _cardinality_axis(get_budget(budget), 1, cardinalities)


def table4_configs(
    budget: str | Budget = "lesson", cardinalities=DEFAULT_TABLE4_CARDINALITIES
) -> list[SweepConfig]:
    """Table 4 at a learner's scale, three ways to spend twice the budget's params, in this order:
    *deeper* (C = 1, d = 64, the CIFAR depth closest to 2x), *wider* (C = 1, d solved for 2x) and
    *cardinality* (each C in ``cardinalities``, d solved for 2x)."""
    budget = get_budget(budget)
    params = {}
    for depth in CIFAR_DEPTHS:  # up to the first depth over 2x
        params[depth] = _params(budget, f"resnet{depth}")
        if params[depth] > 2 * budget.params:
            break
    deeper = min(params, key=lambda depth: abs(params[depth] - 2 * budget.params))
    return [
        _config(budget, 2, "deeper", deeper, 1, 64),
        _config(budget, 2, "wider", budget.depth, 1, _width(budget, 1, 2)),
        *_cardinality_axis(budget, 2, cardinalities),
    ]


def config_table(configs: list[SweepConfig]) -> str:
    """The table printed before anything trains: C, d, depth, params (and their difference from the
    target), MACs."""
    lines = [
        f"{'model':<22}{'axis':<12}{'C':>4}{'d':>5}{'depth':>7}{'params':>12}{'vs target':>11}"
        f"{'MACs':>15}",
        "-" * 88,
    ]
    for c in configs:
        axis = c.axis + (" 2x" if c.scale == 2 else "")
        lines.append(
            f"{c.model_name:<22}{axis:<12}{c.cardinality:>4}{c.base_width:>5}{c.depth:>7}"
            f"{c.params:>12,}{c.params / c.target_params - 1:>+10.1%}{c.macs:>15,}"
        )
    lines.append(
        "params: learnable numbers; MACs: multiply-accumulates per 32x32 image (conv + fc); 'vs "
        "target': difference from the budget's params (x2 for Table 4's rows)"
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class Run:
    """One (model, seed) of a sweep."""

    config: SweepConfig
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.config.key}_seed{self.seed}"


def plan(configs: list[SweepConfig], seeds, extra=()) -> list[Run]:
    """Every (config, seed) of ``configs`` x ``seeds``, then of each (configs, seeds) pair in
    ``extra``; seed by seed, so that a sweep stopped half-way has comparable numbers for every
    model rather than all seeds of a few."""
    runs = []
    for more, more_seeds in [(configs, seeds), *extra]:
        more_seeds = _distinct("seed", more_seeds, 0, "0 1 2")
        runs += [Run(c, s) for s in more_seeds for c in more]
    return runs

"""Complexity-matched sweep configurations: which models a sweep trains (lesson 05; the paper's
Tables 2-4).

A **budget** is a baseline model, the CIFAR ResNet-29 (``resnet29``, i.e. 1x64d; ResNet-20 for the
full-data budget), at chosen stage widths; its parameter count is the complexity every model of the
sweep is matched to. Two axes, as in the paper:

* **cardinality** (Table 3): C = 1, 2, 4, 8, 16, 32 at the budget, each with the bottleneck width d
  that the width solver (:func:`resnext_edu.counting.match_base_width`) picks so that the model's
  parameter count is the closest to the template's (within a few percent: d is a whole number).
* **2x complexity** (Table 4): at twice the budget's parameters, the three ways to spend them:
  *deeper* (C = 1, d = 64, more blocks: the CIFAR depth 11, 20, 29, ... closest to 2x), *wider* (C =
  1, d solved for 2x) and *cardinality* (C = 2 and C = 64 by default, d solved for 2x; the paper's
  2x64d and 64x4d).

Parameters are counted on the "meta" device (no memory, no compute); MACs per 32x32 image by
:func:`resnext_edu.counting.count` (units: params = learnable numbers; MACs = multiply-accumulates,
conv + fc)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import torch

from .. import counting, models
from ..checks import check_int

CIFAR_DEPTHS = tuple(range(11, 300, 9))  # (depth - 2) divisible by 9: 11, 20, 29, 38, ...
DEFAULT_CARDINALITIES = (1, 2, 4, 8, 16, 32)
DEFAULT_TABLE4_CARDINALITIES = (2, 64)  # the paper's ResNeXt-101 2x64d and 64x4d at 2x complexity
AXES = ("cardinality", "deeper", "wider")


@dataclass(frozen=True)
class Budget:
    """A complexity budget: the parameter count of ``baseline`` (a C = 1 ResNet) at these stage
    widths."""

    name: str  # used in file names and plots: "lesson", "tiny", ...
    stage_widths: tuple[int, ...]  # "planes" of the three CIFAR stages (the paper: 64, 128, 256)
    stem_width: int  # channels of the 3x3 stem (the paper: 64)
    about: str = ""  # one line for learners
    depth: int = 29  # CIFAR depth of every model on the cardinality axis (the paper: 29)
    num_classes: int = 10

    @property
    def baseline(self) -> str:
        """The C = 1, d = 64 ResNet whose parameters set the budget: ``resnet29`` at the paper's
        depth."""
        return f"resnet{self.depth}"

    def overrides(self) -> dict:
        return _overrides(self)

    @property
    def params(self) -> int:
        """Parameters of the baseline at this budget (measured on the meta device)."""
        return _params(self, self.baseline)


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
        raise ValueError(
            f"Unknown budget {name!r}. Choose one of: "
            + "; ".join(f"{b.name} ({b.about})" for b in BUDGETS.values())
            + "."
        )
    return BUDGETS[name]


@dataclass(frozen=True)
class SweepConfig:
    """One model of a sweep, with the counts that show it is complexity-matched."""

    budget: str  # the budget's name
    scale: int  # 1: the budget itself; 2: twice its parameters (Table 4)
    axis: str  # "cardinality", "deeper" or "wider"
    depth: int  # 29 for ResNeXt-29; more for "deeper"
    cardinality: int  # C
    base_width: (
        int  # d at a stage of 64 planes (the "24d" of 4x24d; the stages scale it, models.py)
    )
    stage_widths: tuple[int, ...]
    stem_width: int
    num_classes: int
    target_params: int  # scale x the budget's params: what the solver matched
    params: int  # this model's learnable numbers
    macs: int  # multiply-accumulates per 32x32 image

    @property
    def model_name(self) -> str:
        """E.g. ``resnext29_4x24d``; ``resnet56`` for C = 1, d = 64."""
        return models.name_of(models.config_for(self._base_name()))

    def _base_name(self) -> str:
        return f"resnext{self.depth}_{self.cardinality}x{self.base_width}d"

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

    def overrides(self) -> dict:
        return _overrides(self)

    def create(self) -> models.ResNeXt:
        """Build the model (weights from the current torch seed)."""
        return models.create(self._base_name(), **self.overrides())

    def as_dict(self) -> dict:
        out = asdict(self)
        out["stage_widths"] = list(self.stage_widths)
        out.update(model_name=self.model_name, setting=self.setting, group=self.group, key=self.key)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> SweepConfig:
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in names}
        values["stage_widths"] = tuple(values["stage_widths"])
        return cls(**values)


def _overrides(budget: Budget | SweepConfig) -> dict:
    """The model overrides a budget and its sweep's models share: stage widths, stem width,
    classes."""
    return {
        "stage_widths": tuple(budget.stage_widths),
        "stem_width": budget.stem_width,
        "num_classes": budget.num_classes,
    }


@lru_cache(maxsize=512)
def _params(budget: Budget, name: str) -> int:
    """Learnable numbers of model ``name`` at the budget's widths, counted on the meta device."""
    with torch.device("meta"):
        model = models.create(name, **budget.overrides())
    return sum(p.numel() for p in model.parameters())


@lru_cache(maxsize=512)
def _macs(budget: Budget, name: str) -> int:
    with torch.device("meta"):
        model = models.create(name, **budget.overrides())
    return counting.count(model, 32).macs


def _config(budget: Budget, scale: int, axis: str, depth: int, C: int, d: int) -> SweepConfig:
    name = f"resnext{depth}_{C}x{d}d"
    return SweepConfig(
        budget.name,
        scale,
        axis,
        depth,
        C,
        d,
        tuple(budget.stage_widths),
        budget.stem_width,
        budget.num_classes,
        scale * budget.params,
        _params(budget, name),
        _macs(budget, name),
    )


def _check_cardinalities(cardinalities) -> tuple[int, ...]:
    values = tuple(cardinalities)
    if not values:
        raise ValueError("Give at least one cardinality, e.g. 1 2 4 8 16 32.")
    values = tuple(check_int("A cardinality C", C, low=1, hint="1 is ResNet.") for C in values)
    if len(set(values)) != len(values):
        raise ValueError(f"Each cardinality once, please: got {list(values)}.")
    return values


def cardinality_configs(
    budget: str | Budget = "lesson", cardinalities=DEFAULT_CARDINALITIES
) -> list[SweepConfig]:
    """Table 3 at a learner's scale: for each C, the d from the width solver that matches the
    budget's params.

    Raises ValueError (naming the largest C the budget holds) for a cardinality whose d would fall
    below the thinnest width every stage can hold."""
    budget = get_budget(budget)
    configs = []
    for C in _check_cardinalities(cardinalities):
        try:
            d = counting.match_base_width(budget.baseline, C, **budget.overrides())
        except ValueError:
            raise ValueError(_too_many(budget, C, 1)) from None
        configs.append(_config(budget, 1, "cardinality", budget.depth, C, d))
    return configs


def _too_many(budget: Budget, C: int, scale: int) -> str:
    smallest = models.thinnest_base_width(budget.stage_widths)
    need = _params(budget, f"resnext{budget.depth}_{C}x{smallest}d")
    return (
        f"{'Twice the' if scale == 2 else 'The'} budget {budget.name!r} "
        f"({scale * budget.params:,} params) cannot hold cardinality {C}: even the thinnest "
        f"bottleneck width, d = {smallest}, needs {need:,} params. The largest cardinality it "
        f"holds is {max_cardinality(budget, scale)}; use a smaller C or a larger budget "
        f"({', '.join(BUDGETS)})."
    )


def max_cardinality(budget: str | Budget, scale: int = 1) -> int:
    """The largest power-of-two cardinality whose thinnest model still fits ``scale`` x the budget's
    params."""
    budget = get_budget(budget)
    smallest = models.thinnest_base_width(budget.stage_widths)
    C = 1
    while _params(budget, f"resnext{budget.depth}_{2 * C}x{smallest}d") <= scale * budget.params:
        C *= 2
    return C


def width_for_params(budget: Budget, cardinality: int, target: int) -> int:
    """The d whose model at this cardinality has the parameter count closest to ``target``: the
    solver of :func:`~resnext_edu.counting.match_base_width`, aimed at another count (2x for Table
    4)."""
    return counting.closest_width(
        lambda d: _params(budget, f"resnext{budget.depth}_{cardinality}x{d}d"),
        target,
        f"cardinality {cardinality} at {target:,} params",
        models.thinnest_base_width(budget.stage_widths),
    )


def depth_for_params(budget: Budget, target: int) -> int:
    """The CIFAR depth (11, 20, 29, ...) of the C = 1, d = 64 model with the parameter count closest
    to ``target``."""
    best = None
    for depth in CIFAR_DEPTHS:
        params = _params(budget, f"resnet{depth}")
        if best is None or abs(params - target) < abs(best[1] - target):
            best = (depth, params)
        if params > target:
            break
    return best[0]


def table4_configs(
    budget: str | Budget = "lesson", cardinalities=DEFAULT_TABLE4_CARDINALITIES
) -> list[SweepConfig]:
    """Table 4 at a learner's scale: three ways to spend 2x the budget's parameters.

    Returns, in this order: *deeper* (C = 1, d = 64, the depth closest to 2x), *wider* (C = 1, d
    solved for 2x) and one *cardinality* model per C in ``cardinalities`` (d solved for 2x). Compare
    them with the 1x sweep's 1x64d (the baseline) and with each other."""
    budget = get_budget(budget)
    target = 2 * budget.params
    configs = [
        _config(budget, 2, "deeper", depth_for_params(budget, target), 1, 64),
        _config(budget, 2, "wider", budget.depth, 1, width_for_params(budget, 1, target)),
    ]
    for C in _check_cardinalities(cardinalities):
        try:
            d = width_for_params(budget, C, target)
        except ValueError:
            raise ValueError(_too_many(budget, C, 2)) from None
        configs.append(_config(budget, 2, "cardinality", budget.depth, C, d))
    return configs


def config_table(configs: list[SweepConfig]) -> str:
    """The table printed before anything trains: C, d, group width, params (and % of the target),
    MACs."""
    lines = [
        f"{'model':<22}{'axis':<12}{'C':>4}{'d':>5}{'depth':>7}{'params':>12}{'vs target':>11}"
        f"{'MACs':>15}",
        "-" * 88,
    ]
    for c in configs:
        lines.append(
            f"{c.model_name:<22}{c.axis + (' 2x' if c.scale == 2 else ''):<12}{c.cardinality:>4}"
            f"{c.base_width:>5}{c.depth:>7}{c.params:>12,}{c.params / c.target_params - 1:>+10.1%}"
            f"{c.macs:>15,}"
        )
    lines.append(
        "params: learnable numbers; MACs: multiply-accumulates per 32x32 image (conv + fc); 'vs "
        "target': "
        "difference from the budget's params (x2 for Table 4's rows)"
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
    ``extra``.

    Seed by seed (all models with the first seed, then the second, ...), so that a sweep stopped
    half-way has comparable numbers for every model rather than all seeds of a few."""
    runs = [Run(c, s) for s in _check_seeds(seeds) for c in configs]
    for more, more_seeds in extra:
        runs += [Run(c, s) for s in _check_seeds(more_seeds) for c in more]
    return runs


def _check_seeds(seeds) -> list[int]:
    seeds = [check_int("a seed", s, low=0, hint="Seeds are like 0 1 2.") for s in seeds]
    if not seeds:
        raise ValueError("Give at least one seed, e.g. 0 1 2.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"Each seed once, please: got {seeds}.")
    return seeds

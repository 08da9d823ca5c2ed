"""What a sweep runs: its (model, seed) pairs, how every run trains and on which data; the same for all (lesson 05)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..checks import check_int, check_train_config
from ..data import CIFAR10Data, balanced_subset, load_cifar10
from ..device import PRECISIONS
from ..train import FAST_RECIPE, SCHEDULES, TrainConfig
from .configs import SweepConfig
from .schema import KIND_WORDS, LATER_SETTINGS, SETTINGS_FIELDS, is_kind

DATASETS = ("cifar10", "synthetic")
TRAIN_SIZES = {"cifar10": 50_000, "synthetic": 2_000}    # training images of each data set (the official split)


@dataclass(frozen=True)
class SweepSettings:
    """How every run of a sweep trains: the same for all its models and seeds (stored in every result file)."""

    # The defaults are the shipped lesson sweep's (resnext_edu/results/README.md): sized so that 18 runs fit in
    # about an hour on a busy 2-core CPU. On a GPU, raise subset (None: all 50,000) and epochs.
    epochs: int = 4                   # passes over the training images
    batch_size: int = 64              # images per SGD step (the paper: 128; half, for twice the steps in a short run)
    lr: float = 0.05                  # peak learning rate (the paper: 0.1 at batch 128; scaled linearly to 64)
    schedule: str = "onecycle"        # train.py's schedules; onecycle anneals to lr 0 in the last step
    warmup: float = 0.2               # fraction of the steps with a rising lr
    weight_decay: float = 5e-4        # the paper's CIFAR value
    nesterov: bool = False            # Nesterov momentum (the authors' train.lua; the fast recipe)
    label_smoothing: float = 0.0      # train.py's label smoothing (the fast recipe: 0.1)
    crop_padding: int = 4             # random crops of the image padded by this (the paper: 4; the fast recipe: 1)
    dataset: str = "cifar10"          # "cifar10" or "synthetic" (for checking code only)
    subset: int | None = 5000         # training images: the first N, class-balanced; None: all 50,000
    test_subset: int | None = 1000    # test images evaluated after every epoch (the learning curves)
    final_test_subset: int | None = 5000  # test images of the final evaluation; None: all 10,000
    precision: str = "auto"           # train.py's precision ("auto": bf16 + channels_last where the CPU has it)

    def __post_init__(self):
        check_settings(self)          # refused here, before a sweep writes anything

    def train_config(self, seed: int, device: str = "auto") -> TrainConfig:
        """The :class:`~resnext_edu.train.TrainConfig` of the run with this seed."""
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule,
                           warmup=self.warmup, weight_decay=self.weight_decay, nesterov=self.nesterov,
                           label_smoothing=self.label_smoothing, crop_padding=self.crop_padding,
                           precision=self.precision, seed=seed, device=device)

    @classmethod
    def for_budget(cls, budget: str, **changes) -> "SweepSettings":
        """The settings a budget's sweep trains with unless told otherwise (:data:`RECIPES`), with ``changes``."""
        return replace(RECIPES.get(budget, cls()), **changes)




def check_settings(settings) -> None:
    """Refuse settings no sweep can train with (a ValueError naming the option, what is allowed, what to try).

    Called when a :class:`SweepSettings` is made, so a refused sweep has written nothing.
    The training options are the training config's checks (:func:`resnext_edu.checks.check_train_config`); the rest are the sweep's.
    """
    if settings.dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}, got {settings.dataset!r}.")
    for name, kind, optional in SETTINGS_FIELDS + tuple((n, k, False) for n, k, _ in LATER_SETTINGS):
        value = getattr(settings, name)
        if not (value is None and optional) and not is_kind(value, kind):
            raise ValueError(f"--{name.replace('_', '-')} must be {KIND_WORDS[kind]}{' (or all)' if optional else ''}, "
                             f"got {value!r}.")
    check_train_config(settings.train_config(seed=0), schedules=SCHEDULES, precisions=PRECISIONS)
    if not 0 <= settings.weight_decay < 1:
        raise ValueError(f"--weight-decay must be in [0, 1), got {settings.weight_decay!r}; the paper's CIFAR value "
                         f"is 5e-4.")
    size = TRAIN_SIZES[settings.dataset]
    for name in ("subset", "test_subset", "final_test_subset"):
        value = getattr(settings, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a number of images >= 1 (or all), got {value}.")
    if settings.subset is not None and settings.subset > size:
        raise ValueError(f"--subset {settings.subset:,} is more than the {size:,} training images of "
                         f"{settings.dataset}."
                         f" Use at most {size:,}, or all.")
    images = settings.subset if settings.subset is not None else size
    if settings.batch_size > images:
        raise ValueError(f"--batch-size {settings.batch_size:,} is larger than the {images:,} training images, so an "
                         f"epoch would have no full batch. Use a batch size of at most {images:,}, or a larger "
                         f"--subset.")


def prepare_data(settings: SweepSettings, data_dir=None, data: CIFAR10Data | None = None) -> dict:
    """Load the data once: the training subset, the per-epoch test subset and the final test set."""
    if data is None:
        data = load_cifar10(data_dir, dataset=settings.dataset)

    def test_part(n: int | None) -> CIFAR10Data:
        if n is None or n >= len(data.test_labels):
            return data
        keep = balanced_subset(data.test_labels, n, len(data.classes))
        return replace(data, test_images=data.test_images[keep], test_labels=data.test_labels[keep],
                       source=f"{data.source}; first {n:,} test images, class-balanced")

    train = data
    if settings.subset is not None and settings.subset > len(data.train_labels):
        raise ValueError(f"--subset {settings.subset:,} is more than the {len(data.train_labels):,} training images of "
                         f"{data.source}. Use at most {len(data.train_labels):,}, or all.")
    if settings.subset is not None and settings.subset < len(data.train_labels):
        keep = balanced_subset(data.train_labels, settings.subset, len(data.classes))
        train = replace(data, train_images=data.train_images[keep], train_labels=data.train_labels[keep],
                        source=f"{data.source}; first {settings.subset:,} training images, class-balanced")
    per_epoch = test_part(settings.test_subset)
    per_epoch = replace(per_epoch, train_images=train.train_images, train_labels=train.train_labels,
                        source=f"{train.source}" + (f"; per-epoch test: first {settings.test_subset:,} test images"
                                                    if per_epoch is not data else ""))
    return {"train": per_epoch, "final": test_part(settings.final_test_subset)}


@dataclass(frozen=True)
class Run:
    """One (model, seed) of a sweep."""

    config: SweepConfig
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.config.key}_seed{self.seed}"


def plan(configs: list[SweepConfig], seeds, extra: list[tuple[list[SweepConfig], list[int]]] = ()) -> list[Run]:
    """Every (config, seed) of ``configs`` x ``seeds``, then of each (configs, seeds) in ``extra``.

    Seed by seed (all models with the first seed, then the second, ...), so that a sweep stopped half-way has
    comparable numbers for every model rather than all seeds of a few."""
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


# The full-data budget trains with benchmark 3's fast recipe as it was when the shipped full sweep ran (attempt 7;
# benchmarks/README.md, section 3; lesson 05): batch 256 at peak lr 0.4, 25% warm-up then linear to zero, Nesterov
# momentum, label smoothing 0.1, crops padded by 1 pixel, on all 50,000 training images; every epoch and the final
# evaluation on all 10,000 test images. 10 epochs (benchmark 3 trains 14) so that the sweep's ~20 runs fit in a few
# sessions of a 2-core CPU. Attempt 8's progressive resizing (FAST_RECIPE's resize_schedule) came after the sweep and
# is not a sweep setting: the shipped files, which record their settings, stay reproducible.
# Other budgets: the class defaults.
SWEEP_RECIPE = {k: v for k, v in FAST_RECIPE.items() if k != "resize_schedule"}
RECIPES = {
    "full": SweepSettings(epochs=10, **SWEEP_RECIPE, subset=None, test_subset=None, final_test_subset=None),
}

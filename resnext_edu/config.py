"""The training settings, each in one place: :class:`TrainConfig` and the recipes (lesson 06).

A field's default, type and help text live here; :mod:`resnext_edu.options` turns every field into
a flag of ``python -m resnext_edu train`` and ``sweep``. The defaults are the paper's CIFAR recipe
(Xie et al. 2017, Appendix A: SGD with momentum 0.9, weight decay 5e-4, batch 128, lr 0.1, crops of
the image padded by 4 pixels) except the schedule: the paper divides the lr by 10 at 50% and 75% of
300 epochs (``schedule="step"``); lessons train for minutes, so the default is the short-run
"onecycle" (:func:`resnext_edu.train.lr_factor`). :data:`FAST_RECIPE` is what runs of minutes
change on top of that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .augment import PAD

SCHEDULES = ("onecycle", "cosine", "step")  # the learning-rate schedules of lr_factor


@dataclass
class TrainConfig:
    """Everything about a training run except the model and the data. Defaults suit a lesson-size run."""

    epochs: int = field(default=10, metadata={"help": "passes over the training set"})
    batch_size: int = field(
        default=128,
        metadata={
            "help": "images per SGD step over all ranks (the global batch; under torchrun each of N ranks takes "
            "batch/N); the paper: 128"
        },
    )
    lr: float = field(
        default=0.1, metadata={"help": "peak learning rate (the paper: 0.1 at batch 128)"}
    )
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum (the paper: 0.9)"})
    nesterov: bool = field(
        default=False,
        metadata={
            "help": 'Nesterov momentum (the authors\' train.lua; the paper says only "momentum")'
        },
    )
    weight_decay: float = field(
        default=5e-4,
        metadata={"help": "L2 penalty on every parameter (the paper's CIFAR value: 5e-4)"},
    )
    schedule: str = field(
        default="onecycle",
        metadata={
            "help": "step: the paper's lr/10 at 50% and 75% of the epochs; onecycle or cosine: short runs"
        },
    )
    warmup: float = field(
        default=0.2,
        metadata={"help": "fraction of all steps spent raising the lr linearly (onecycle, cosine)"},
    )
    label_smoothing: float = field(
        default=0.0,
        metadata={
            "help": "spreads this fraction of each target over all classes, e.g. 0.1 (Szegedy et al. 2016)"
        },
    )
    crop_padding: int = field(
        default=PAD,
        metadata={
            "help": "pixels of zero padding before the random crop (the paper's 4; 0: no shift)"
        },
    )
    resize_schedule: tuple = field(
        default=(),
        metadata={
            "help": "progressive resizing: SIDE:FRACTION pairs trained first (e.g. 16:0.4 24:0.3), then full size"
        },
    )
    precision: str = field(
        default="auto", metadata={"help": "auto, fp32, bf16 or fp16 (resnext_edu.device)"}
    )
    channels_last: bool | None = field(
        default=None,
        metadata={"help": "NHWC memory layout (default: on with bf16/fp16, off with fp32)"},
    )
    compile: bool = field(
        default=False,
        metadata={"help": "torch.compile the model (slow first epoch, faster later ones)"},
    )
    seed: int = field(
        default=0,
        metadata={
            "help": "model initialisation, data order, augmentation: epoch e derives from (seed, e)"
        },
    )
    device: str = field(
        default="auto",
        metadata={"help": "auto (CUDA, else Apple MPS, else CPU), cpu, cuda, cuda:1, mps"},
    )
    eval_batch_size: int = field(
        default=500,
        metadata={"help": "images per evaluation batch (no gradients, so larger is fine)"},
    )
    eval_from: int = field(
        default=1,
        metadata={
            "help": "evaluate the test set after epochs EVAL_FROM.. (1: every epoch; the last one always)"
        },
    )


# The fast recipe for runs of minutes (benchmarks/README.md, section 3; lesson 06's short run):
# what it changes from the paper's CIFAR recipe, whose momentum and weight decay it keeps.
FAST_RECIPE = {
    "batch_size": 256,
    "lr": 0.4,
    "schedule": "onecycle",
    "warmup": 0.25,
    "nesterov": True,
    "label_smoothing": 0.1,
    "crop_padding": 1,
    "resize_schedule": ((16, 0.4), (24, 0.3)),
}

"""How long would a training recipe take? Estimates from measured MACs and a measured or stated throughput (lesson 06).

An estimate is arithmetic, not a measurement, and every result here says which of its inputs were measured and which
were assumed:

    time = epochs x training images / (training images per second)  +  evaluation time

The throughput comes from one of two places:

* :func:`measure`: a few real training steps (forward, backward, SGD update; the precision that
  :func:`~resnext_edu.train.fit` would use) of the model on this device. The per-image rate of a few steps stands in
  for a whole run; data loading is not included (the course's loader keeps the data on the device, :mod:`resnext_edu.data`).
* :func:`from_peak`: a device's stated peak arithmetic rate (e.g. a T4's 65 TFLOP/s in fp16), times an assumed
  utilisation, divided by the FLOPs one training image costs:

      FLOPs per training image = 2 (FLOPs per MAC) x 3 (forward + backward) x forward MACs

  The factor 3: the backward pass computes two products for every one of the forward pass (the gradient with
  respect to the layer's input and with respect to its weights), each as costly as the forward product; nanoGPT's
  "6N FLOPs per token" MFU estimate (Kaplan et al. 2020) is the same count. The MACs come from
  :func:`~resnext_edu.counting.count` (measured by PyTorch's FLOP counter; conv + fc, per 32x32 image).

Evaluation after every epoch (the test set, forward only) is estimated at ``FORWARD_BACKWARD`` times the training
rate, since a forward pass is about a third of a training step.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from .augment import side_for_epoch
from .checks import check_batch_fits, check_int, check_positive_int
from .device import describe_device, pick_device, resolve_precision, synchronize
from .paper import table
from .train import train_step

FORWARD_BACKWARD = 3.0  # cost of a training step (forward + backward) in forward passes
FLOPS_PER_MAC = 2  # one multiply + one add

# A Colab T4's stated peak (NVIDIA T4 datasheet: 65 TFLOPS mixed precision FP16/FP32 on its tensor cores; 8.1 TFLOPS
# FP32; no bf16). Peak is never sustained in training. The assumed utilisation is a judgement, not a measurement:
# NVIDIA's published ResNeXt101-32x4d figures (DeepLearningExamples, PyTorch, mixed precision) give about 15 TFLOP/s
# on a T4 in inference (948 img/s x 2 x 7.97 G MACs, 23% of 65) and about 20% of a V100's tensor-core peak in
# training (535 img/s x 6 x 7.97 G MACs of 125 TFLOPS). Small 32x32 CIFAR maps and grouped convolutions are no
# kinder to a GPU, so the course assumes 20% and shows 10% and 40% beside it.
T4 = {
    "name": "NVIDIA T4 (Colab)",
    "peak_tflops": 65.0,
    "precision": "fp16 tensor cores (autocast + grad scaler)",
    "source": "NVIDIA T4 datasheet: 65 TFLOPS mixed precision (FP16/FP32)",
}
T4_UTILISATION = 0.20
T4_UTILISATION_RANGE = (0.10, 0.40)


@dataclass(frozen=True)
class Recipe:
    """What a training run processes: ``epochs`` passes over ``train_images``, a test pass after each; with a
    progressive-resizing ``resize_schedule`` (``TrainConfig.resize_schedule``), some epochs on smaller images."""

    epochs: int
    train_images: int = 50_000  # CIFAR-10's training set
    test_images: int = 10_000  # evaluated after every epoch (forward only); 0 for none
    batch_size: int = 128  # the loop drops the last partial batch of each epoch (train.fit)
    resize_schedule: tuple = ()  # ((side, fraction of the epochs), ...) before the full-size epochs

    def __post_init__(self):
        for name in ("epochs", "train_images", "batch_size"):
            check_positive_int(f"Recipe {name}", getattr(self, name))
        check_int("Recipe test_images", self.test_images, low=0)
        check_batch_fits(self.batch_size, self.train_images)

    @property
    def steps_per_epoch(self) -> int:
        return self.train_images // self.batch_size

    @property
    def steps(self) -> int:
        """SGD steps of the whole run."""
        return self.epochs * self.steps_per_epoch

    @property
    def images(self) -> int:
        """Training images processed over the whole run (full batches only)."""
        return self.steps * self.batch_size

    @property
    def pixel_share(self) -> float:
        """The run's training pixels as a fraction of full-size (32x32) epochs: the mean over epochs of (side/32)^2.
        An estimate assumes a training image's time follows its pixels. On the course's CPU a 16x16 epoch took
        0.31-0.34 of a 32x32 one, not 0.25, because small steps carry fixed costs (benchmarks/README.md,
        section 3), so the estimate of a resized run is a little low."""
        sides = [side_for_epoch(self.resize_schedule, self.epochs, e) for e in range(self.epochs)]
        return sum((side / 32) ** 2 for side in sides) / self.epochs

    @property
    def eval_images(self) -> int:
        return self.epochs * self.test_images


def paper_recipe() -> Recipe:
    """The paper's CIFAR recipe (Appendix A, :func:`resnext_edu.paper.table` ``"cifar_recipe"``): 300 epochs of the
    50,000 training images at batch 128, the 10,000 test images after each."""
    r = table("cifar_recipe")
    return Recipe(epochs=r["epochs"], batch_size=r["batch_size"])


@dataclass(frozen=True)
class Throughput:
    """Training images per second on some device, and where that number came from."""

    img_per_s: float  # training images per second (forward + backward + update)
    measured: bool  # True: timed here (:func:`measure`); False: derived from stated figures (:func:`from_peak`)
    detail: str  # how, in words: device, model, precision, batch, or peak x utilisation

    def __post_init__(self):
        if not self.img_per_s > 0:
            raise ValueError(
                f"A throughput must be a positive number of images per second, got {self.img_per_s!r}."
            )

    @property
    def eval_img_per_s(self) -> float:
        """Test images per second: forward only, assumed ``FORWARD_BACKWARD`` x faster than training."""
        return FORWARD_BACKWARD * self.img_per_s

    def __str__(self) -> str:
        return f"{self.img_per_s:,.1f} img/s ({'measured' if self.measured else 'assumed'}: {self.detail})"


def training_flops_per_image(forward_macs: float) -> float:
    """FLOPs of one training image: 2 FLOPs per MAC x 3 (forward + backward) x the forward MACs."""
    if not forward_macs > 0:
        raise ValueError(
            f"forward_macs must be positive (MACs per image from counting.count), got {forward_macs!r}."
        )
    return FLOPS_PER_MAC * FORWARD_BACKWARD * forward_macs


def from_peak(
    forward_macs: float, peak_tflops: float, utilisation: float, *, device: str = "a GPU"
) -> Throughput:
    """The training throughput of a model of ``forward_macs`` MACs per image on a device that sustains
    ``utilisation`` of its stated peak of ``peak_tflops`` x 10^12 FLOP/s.

    Example: ResNeXt-29 8x64d (5.387 G MACs) on a T4 at 20% of 65 TFLOP/s:
    0.2 x 65e12 / (6 x 5.387e9) = 402 img/s.
    """
    if not peak_tflops > 0:
        raise ValueError(f"peak_tflops must be positive, got {peak_tflops!r} (a T4: 65 in fp16).")
    if not 0 < utilisation <= 1:
        raise ValueError(
            f"utilisation is the fraction of peak the run sustains, in (0, 1], got {utilisation!r}. "
            f"Training rarely sustains more than 0.5; the course assumes {T4_UTILISATION} for a T4."
        )
    flops = training_flops_per_image(forward_macs)
    rate = utilisation * peak_tflops * 1e12 / flops
    return Throughput(
        rate,
        measured=False,
        detail=f"{device}, {utilisation:.0%} of a {peak_tflops:g} TFLOP/s peak sustained, "
        f"{flops / 1e9:,.1f} GFLOPs per training image (2 x 3 x {forward_macs / 1e9:.3f} G MACs)",
    )


def t4_throughput(forward_macs: float, utilisation: float = T4_UTILISATION) -> Throughput:
    """:func:`from_peak` for a Colab T4 (:data:`T4`, fp16 tensor cores)."""
    return from_peak(
        forward_macs, T4["peak_tflops"], utilisation, device=f"{T4['name']}, {T4['precision']}"
    )


def measure(
    model: nn.Module,
    *,
    batch_size: int = 32,
    steps: int = 3,
    warmup: int = 1,
    precision: str = "auto",
    device: str | torch.device | None = None,
    lr: float = 0.01,
) -> Throughput:
    """Time ``steps`` real training steps of a copy of ``model`` on random CIFAR-shaped batches; the median step
    gives the images per second. ``warmup`` untimed steps come first (kernel choice, memory allocation).

    A step is what :func:`~resnext_edu.train.fit` does per batch: forward under the precision ``precision`` resolves
    to here (autocast, channels_last, a gradient scaler for fp16), cross-entropy, backward, an SGD update with
    momentum. Data loading and augmentation are not included. The learner's ``model`` is not changed.
    """
    check_positive_int("batch_size", batch_size)
    check_positive_int("steps", steps)
    check_int("warmup", warmup, low=0)
    device = pick_device("auto" if device is None else device)
    p = resolve_precision(precision, device)
    fmt = torch.channels_last if p.channels_last else torch.contiguous_format
    net = copy.deepcopy(model).to(device, memory_format=fmt).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    scaler = torch.amp.GradScaler(device.type, enabled=p.grad_scaler)
    generator = torch.Generator().manual_seed(0)
    num_classes = getattr(getattr(model, "config", None), "num_classes", 10)
    x = torch.randn(batch_size, 3, 32, 32, generator=generator).to(device, memory_format=fmt)
    y = torch.randint(0, num_classes, (batch_size,), generator=generator).to(device)
    seconds = []
    for i in range(warmup + steps):
        synchronize(device)
        t0 = time.perf_counter()
        train_step(
            net, optimizer, x, y, scaler=scaler, precision=p
        )  # what train.fit does per batch
        synchronize(device)
        if i >= warmup:
            seconds.append(time.perf_counter() - t0)
    median = statistics.median(seconds)
    layout = ", channels_last" if p.channels_last else ""
    return Throughput(
        batch_size / median,
        measured=True,
        detail=f"{describe_device(device)}, {p.name}{layout}, batch {batch_size}, median of {steps} "
        f"training steps ({median * 1e3:,.0f} ms each), data loading not included",
    )


@dataclass(frozen=True)
class Estimate:
    """The estimated wall-clock time of ``recipe`` at ``throughput``. Printing it states its assumptions."""

    recipe: Recipe
    throughput: Throughput
    label: str = ""

    @property
    def train_seconds(self) -> float:
        return self.recipe.images * self.recipe.pixel_share / self.throughput.img_per_s

    @property
    def eval_seconds(self) -> float:
        return self.recipe.eval_images / self.throughput.eval_img_per_s

    @property
    def seconds(self) -> float:
        return self.train_seconds + self.eval_seconds

    @property
    def hours(self) -> float:
        return self.seconds / 3600

    def __str__(self) -> str:
        r, kind = (
            self.recipe,
            "from a measured throughput" if self.throughput.measured else "from assumed figures",
        )
        head = f"ESTIMATE ({kind})" + (f", {self.label}" if self.label else "")
        shrunk = (
            ""
            if r.pixel_share == 1
            else f", x {r.pixel_share:.2f} for the smaller images of progressive "
            f"resizing (the rate is of 32x32 images; time assumed to follow the pixels)"
        )
        return (
            f"{head}: about {format_duration(self.seconds)}\n"
            f"  training:   {r.epochs:,} epochs x {r.steps_per_epoch:,} steps x {r.batch_size:,} images = "
            f"{r.images:,} images{shrunk} at {self.throughput.img_per_s:,.1f} img/s = "
            f"{format_duration(self.train_seconds)}\n"
            f"  evaluation: {r.epochs:,} x {r.test_images:,} test images at {self.throughput.eval_img_per_s:,.1f} "
            f"img/s (assumed {FORWARD_BACKWARD:g}x the training rate: forward only) = "
            f"{format_duration(self.eval_seconds)}\n"
            f"  throughput: {self.throughput}"
        )


def estimate(recipe: Recipe, throughput: Throughput, label: str = "") -> Estimate:
    """The time ``recipe`` would take at ``throughput`` (training images, plus a test pass per epoch)."""
    return Estimate(recipe, throughput, label)


def format_duration(seconds: float) -> str:
    """A duration in the unit a person would use: "45 s", "12.5 min", "7.4 h", "3.2 days", "1.4 years"."""
    if seconds < 0:
        raise ValueError(f"A duration cannot be negative, got {seconds!r}.")
    for unit, size, limit in (
        ("s", 1, 90),
        ("min", 60, 90 * 60),
        ("h", 3600, 48 * 3600),
        ("days", 86400, 730 * 86400),
    ):
        if seconds < limit:
            value = seconds / size
            return f"{value:.0f} {unit}" if unit == "s" else f"{value:.1f} {unit}"
    return f"{seconds / (365.25 * 86400):.1f} years"

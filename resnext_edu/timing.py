"""Measured speed of modules on the learner's device: warm-up, several repeats (interleaved across the modules
compared), the median (lessons 03 and 04).

One sample is one training or inference step on one batch: ``forward`` (under ``torch.no_grad``, eval mode) or
``forward+backward`` (train mode, the gradient of ``output.sum()``). Times are wall-clock milliseconds per step,
read after the device has finished its queued work (``torch.cuda.synchronize`` / ``torch.mps.synchronize``).
Throughput is ``batch_size / median`` in images per second. The median, not the mean, so that one slow sample
(another program, a frequency change) does not move the result.

The module is copied before it is timed: the learner's block keeps its device, dtype, memory format, mode and
gradients.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .checks import check_choice, check_int, check_positive_int
from .device import native_bf16, synchronize

MODES = ("forward", "forward+backward")


@dataclass
class Timing:
    """The result of :func:`time_module`. All times in milliseconds per step."""

    label: str
    mode: str  # "forward" or "forward+backward"
    batch_size: int  # images per step
    device: str  # e.g. "cpu", "cuda"
    precision: str  # "fp32" or "bf16 (autocast)"
    channels_last: bool
    samples_ms: list[float] = field(repr=False)

    @property
    def median_ms(self) -> float:
        return median(self.samples_ms)

    @property
    def min_ms(self) -> float:
        return min(self.samples_ms)

    @property
    def max_ms(self) -> float:
        return max(self.samples_ms)

    @property
    def images_per_second(self) -> float:
        return self.batch_size / (self.median_ms / 1e3)

    def __str__(self) -> str:
        return (
            f"{self.label}: {self.median_ms:.2f} ms per step of {self.batch_size} images "
            f"({self.images_per_second:,.0f} img/s), {self.mode}, {self.precision}"
            f"{', channels_last' if self.channels_last else ''}, median of {len(self.samples_ms)}"
        )


def table(timings: list[Timing]) -> str:
    """The timings as an aligned text table: median, spread (min to max) and throughput, with units."""
    if not timings:
        raise ValueError("table() needs at least one Timing from time_module().")
    width = max(len(t.label) for t in timings)
    lines = [f"{'':{width}}  {'median ms':>10}  {'min-max ms':>15}  {'img/s':>8}  mode, precision"]
    for t in timings:
        spread = f"{t.min_ms:.2f}-{t.max_ms:.2f}"
        lines.append(
            f"{t.label:{width}}  {t.median_ms:10.2f}  {spread:>15}  {t.images_per_second:8,.0f}  "
            f"{t.mode}, {t.precision}{', channels_last' if t.channels_last else ''}"
        )
    return "\n".join(lines)


def median(samples: list[float]) -> float:
    """The middle value (the mean of the two middle values for an even count)."""
    if not samples:
        raise ValueError("median() needs at least one sample; time with repeats >= 1.")
    return statistics.median(samples)


def bf16_supported(device: torch.device | str) -> bool:
    """Whether bfloat16 convolutions run natively here (a CUDA GPU from Ampere on; a CPU with AVX512-BF16 or AMX).

    Elsewhere bf16 still computes, but emulated and slower than fp32, so a timing would mislead. The same test
    decides ``precision="auto"`` in training (:func:`resnext_edu.device.native_bf16`).
    """
    return native_bf16(device)


def time_module(
    module: nn.Module,
    x: Tensor,
    *,
    mode: str = "forward",
    repeats: int = 5,
    warmup: int = 2,
    bf16: bool = False,
    channels_last: bool = False,
    label: str | None = None,
) -> Timing:
    """Time ``module`` on the batch ``x`` (on ``x``'s device): ``warmup`` untimed steps, then ``repeats`` timed ones.

    Args:
        module: any module; a copy is moved to ``x``'s device and timed, the original is left untouched.
        x: the input batch, e.g. ``torch.randn(16, 256, 28, 28, device=course.device())``.
        mode: "forward" (no gradients, eval mode) or "forward+backward" (train mode, gradients of ``out.sum()``).
        repeats: timed steps; the result is their median.
        warmup: untimed steps first (the first calls choose kernels and allocate memory).
        bf16: run under ``torch.autocast(dtype=torch.bfloat16)``, the mixed precision of lesson 06.
        channels_last: store the module and the input as NHWC (``torch.channels_last``), which fast conv kernels prefer.
        label: the name printed with the result (default: the module's class name).
    """
    label = label or type(module).__name__
    return time_interleaved(
        {label: module},
        x,
        mode=mode,
        repeats=repeats,
        warmup=warmup,
        bf16=bf16,
        channels_last=channels_last,
    )[0]


def time_interleaved(
    modules: dict[str, nn.Module],
    x: Tensor,
    *,
    mode: str = "forward",
    repeats: int = 5,
    warmup: int = 2,
    bf16: bool = False,
    channels_last: bool = False,
) -> list[Timing]:
    """Time several modules on the same batch ``x``, their timed steps interleaved: round r times every module once,
    starting from module r (mod n), so that a slow spell of the machine (another program, a frequency change) falls
    on all of them alike instead of on whichever was timed then. Each result is the median of its ``repeats`` steps.

    Args:
        modules: label -> module; each is copied to ``x``'s device and timed, the originals are left untouched.
        x, mode, repeats, warmup, bf16, channels_last: as in :func:`time_module` (``warmup`` untimed steps of
            every module come first).

    Returns:
        One :class:`Timing` per module, in the order of ``modules``.
    """
    check_choice("mode", mode, MODES)
    check_positive_int("repeats", repeats, "Time at least one step.")
    check_int("warmup", warmup, low=0)
    if not modules:
        raise ValueError("time_interleaved() needs at least one module: pass {label: module}.")
    device = x.device
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    steps = {
        label: _step(module, x, mode, bf16, channels_last) for label, module in modules.items()
    }
    for step in steps.values():
        for _ in range(warmup):
            step()
    labels = list(steps)
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for r in range(repeats):
        shift = r % len(labels)
        for label in labels[shift:] + labels[:shift]:
            synchronize(device)
            start = time.perf_counter()
            steps[label]()
            synchronize(device)
            samples[label].append((time.perf_counter() - start) * 1e3)
    precision = "bf16 (autocast)" if bf16 else "fp32"
    return [
        Timing(label, mode, x.shape[0], device.type, precision, channels_last, samples[label])
        for label in labels
    ]


def _step(module: nn.Module, x: Tensor, mode: str, bf16: bool, channels_last: bool):
    """One untimed-or-timed step of a copy of ``module`` on ``x`` (already in its memory format)."""
    model = copy.deepcopy(module).to(x.device)
    model.train(mode == "forward+backward")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    autocast = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16)

    def step() -> None:
        if mode == "forward":
            with torch.no_grad(), autocast:
                model(x)
        else:
            with autocast:
                out = model(x)
            out.float().sum().backward()
            model.zero_grad(set_to_none=True)

    return step

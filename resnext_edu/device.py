"""The one place that decides where the course computes and in which arithmetic (lessons 03, 04 and 06).

Every caller asks here: the lessons (``course.device()``), timing (:func:`resnext_edu.timing.bf16_supported`), the
time estimates (:mod:`resnext_edu.estimate`), training and the sweeps.

``device="auto"`` picks a CUDA GPU when PyTorch sees one, else Apple's MPS (a Mac's GPU) when it is there, else the
CPU. ``precision="auto"`` then picks the fastest arithmetic that keeps training stable:

==============================================  ==============================================================
hardware                                        precision "auto" chooses
==============================================  ==============================================================
CUDA GPU, compute capability >= 8.0             bf16 autocast (A100 8.0, RTX 30xx 8.6, L4 8.9, H100 9.0)
(Ampere and later: native bf16 tensor cores)
CUDA GPU, compute capability < 8.0              fp16 autocast + a gradient scaler (Colab's T4 7.5, V100 7.0):
                                                fp16's small range would let small gradients underflow to 0
Apple MPS                                       fp32: the course does not use autocast on MPS (PyTorch's MPS
                                                autocast is recent and untested here); everything else works
CPU with bf16 instructions (AVX512-BF16, AMX)   bf16 autocast + channels_last (2.5-3.5x faster than fp32 here)
any other CPU                                   fp32 (bf16 would be emulated, slower than fp32)
==============================================  ==============================================================

Native bf16 on CUDA is read from the compute capability, not ``torch.cuda.is_bf16_supported()``, which also says
yes where bf16 is only emulated (a T4). An explicit "fp32", "bf16" or "fp16" is kept as asked; "fp16" needs CUDA
(its gradient scaler is CUDA's).
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass

import torch

from .checks import check_choice

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
BF16_CAPABILITY = (8, 0)  # CUDA compute capability from which bf16 runs on tensor cores (Ampere)


@dataclass(frozen=True)
class Precision:
    """The arithmetic a run actually uses, after resolving "auto"."""

    name: str  # "fp32", "bf16" or "fp16"
    autocast: torch.dtype | None  # None: no autocast
    grad_scaler: bool  # scale the loss so fp16 gradients do not underflow
    channels_last: bool  # NHWC layout for model and inputs
    reason: str  # why, in words (printed by lessons, stored in the history)

    def autocast_context(self, device_type: str) -> torch.autocast:
        """``torch.autocast`` for this precision on a device of ``device_type`` (disabled for fp32)."""
        return torch.autocast(device_type, dtype=self.autocast, enabled=self.autocast is not None)


def mps_available() -> bool:
    """True on a Mac whose PyTorch build can use its GPU through Metal (MPS)."""
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """The device to compute on: "auto" (CUDA, else MPS, else CPU), or "cpu", "cuda", "cuda:1", "mps" as asked.

    Raises a ValueError naming what this machine has when the asked-for device is not there.
    """
    if isinstance(device, torch.device):
        asked = device
    elif device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_available() else "cpu")
    else:
        try:
            asked = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps', got {device!r}."
            ) from None
    if asked.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(device)!r} was asked for, but PyTorch sees no CUDA GPU here. Use device "
                f"'auto' or 'cpu' (on Colab: Runtime > Change runtime type > GPU)."
            )
        if asked.index is not None and asked.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(device)!r} was asked for, but this machine shows "
                f"{torch.cuda.device_count()} GPU(s), numbered from 0. Use 'cuda' or 'cuda:0'."
            )
    elif asked.type == "mps" and not mps_available():
        raise ValueError(
            "device 'mps' (Apple's Metal GPU) was asked for, but this PyTorch sees none. Use 'auto' "
            "or 'cpu'."
        )
    elif asked.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:<index>' or 'mps', got {device!r}."
        )
    return asked


# ---------------------------------------------------------------------------------------------------------------
# What the hardware computes natively
# ---------------------------------------------------------------------------------------------------------------


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_has_native_bf16() -> bool:
    """True where the CPU has bf16 dot-product instructions (AVX512-BF16 or AMX), so bf16 convolutions beat fp32.
    Without them PyTorch emulates bf16 and it is slower than fp32."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cuda_capability(device: str | torch.device = "cuda") -> tuple[int, int]:
    """The compute capability (major, minor) of a CUDA device, e.g. (7, 5) for a T4, (8, 0) for an A100."""
    return tuple(torch.cuda.get_device_capability(torch.device(device)))


def native_bf16(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` computes bf16 natively: a CUDA GPU of compute capability >= 8.0, or a CPU with
    :func:`cpu_has_native_bf16`. (``torch.cuda.is_bf16_supported()`` says yes on a T4, where bf16 is emulated, and
    PyTorch's ``mkldnn`` bf16 check says yes on any AVX512 CPU, where it is slower than fp32.)"""
    device = torch.device(device)
    if device.type == "cuda":
        return cuda_capability(device) >= BF16_CAPABILITY
    return device.type == "cpu" and cpu_has_native_bf16()


def resolve_precision(
    precision: str, device: str | torch.device, channels_last: bool | None = None
) -> Precision:
    """Turn "auto" into what this hardware runs fastest (the module's table); keep an explicit choice as it is.

    ``channels_last=None`` turns NHWC on with autocast and off in plain fp32.
    """
    check_choice("precision", precision, PRECISIONS)
    device = torch.device(device)
    reason = "asked for"
    if precision == "auto":
        precision, reason = _auto(device)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError(
            "precision 'fp16' needs a CUDA GPU (its gradient scaler is CUDA's). On a CPU use 'bf16' "
            "(fast with AVX512-BF16 or AMX) or 'fp32'; on a Mac (MPS) use 'fp32'."
        )
    autocast = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if channels_last is None:
        channels_last = autocast is not None
    return Precision(precision, autocast, precision == "fp16", channels_last, reason)


def _auto(device: torch.device) -> tuple[str, str]:
    if device.type == "cuda":
        major, minor = cuda_capability(device)
        gpu = f"CUDA GPU {torch.cuda.get_device_name(device)} (compute capability {major}.{minor})"
        if native_bf16(device):
            return "bf16", f"auto: {gpu} computes bf16 natively (>= 8.0): bf16 autocast"
        return "fp16", f"auto: {gpu} has no native bf16 (< 8.0): fp16 autocast + gradient scaler"
    if device.type == "mps":
        return "fp32", "auto: Apple MPS: fp32 (the course does not use autocast on MPS)"
    if device.type == "cpu" and cpu_has_native_bf16():
        return (
            "bf16",
            "auto: CPU with native bf16 (AVX512-BF16 / AMX), faster than fp32: bf16 autocast",
        )
    return (
        "fp32",
        f"auto: {device.type.upper()} without native bf16 (it would be emulated, slower than fp32): fp32",
    )


# ---------------------------------------------------------------------------------------------------------------
# Naming and waiting for the device
# ---------------------------------------------------------------------------------------------------------------


def describe_device(device: str | torch.device | None = None) -> str:
    """One line naming the hardware, e.g. ``"cpu: AMD EPYC ... (2 cores, 2 torch threads, avx512_bf16)"`` or
    ``"cuda: Tesla T4 (15 GiB, compute capability 7.5, native bf16 no)"``. None: :func:`pick_device`'s choice."""
    device = pick_device() if device is None else torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return (
            f"cuda: {props.name} ({props.total_memory / 2**30:.0f} GiB, compute capability "
            f"{props.major}.{props.minor}, native bf16 {'yes' if native_bf16(device) else 'no'})"
        )
    if device.type == "mps":
        return (
            f"mps: Apple GPU via Metal ({platform.machine()}, macOS {platform.mac_ver()[0] or '?'})"
        )
    if device.type != "cpu":
        return f"{device.type}: {platform.machine()}"
    extras = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16"})
    return (
        f"cpu: {cpu_name()} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads"
        f"{', ' + ', '.join(extras) if extras else ''})"
    )


def synchronize(device: str | torch.device) -> None:
    """Wait until ``device`` has finished its queued work (GPUs run asynchronously), so a clock reads true time."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()

"""A plain training loop learners can read and trust: SGD, a schedule, evaluation, checkpoints, resume (lesson 06).

The paper's CIFAR recipe (Xie et al. 2017, Appendix A): SGD with momentum 0.9, weight decay 5e-4, batch 128, lr 0.1
divided by 10 at 50% and 75% of 300 epochs (``schedule="step"``). Lessons train for minutes, not days, so the default
is a short-run "one-cycle" schedule (linear warm-up, linear decay to zero; Smith & Topin 2017).

Speed where it pays, exactness where asked (``precision``):

* "auto": bf16 autocast + channels_last on a CPU with bf16 dot-product instructions (AVX512-BF16 or AMX) or a CUDA
  GPU with bf16; fp16 autocast + a gradient scaler on a CUDA GPU without bf16 (a Colab T4); plain fp32 elsewhere (a
  CPU without native bf16 emulates it, slower than fp32). Measured on this project's 2-core AVX512-BF16 machine, a
  lesson-size ResNeXt-29 trains 2.5-3.5x faster in bf16 + channels_last than in fp32 (benchmarks/README.md).
* "fp32": plain fp32, NCHW unless ``channels_last=True``; on CPU, repeatable bit for bit (the resume test).
* "bf16" / "fp16": that autocast dtype, whatever the hardware.

On several GPUs or machines, ``torchrun --nproc_per_node=N -m resnext_edu train ...`` runs this same loop on N
processes under DistributedDataParallel; ``batch_size`` is then the global batch (:mod:`resnext_edu.distributed`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import check_choice, check_positive_int
from .data import PAD, CIFAR10Data, atomic_write, eval_batches, load_cifar10, train_batches, write_json
from .distributed import (DEFAULT_TIMEOUT, LR_RULES, SINGLE_PROCESS, Distributed, DistributedSetupError, describe_lr,
                          from_environment, scaled_lr, sync_batchnorm)
from .provenance import cpu_has_native_bf16, describe

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULES = ("onecycle", "cosine", "step")
CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"


@dataclass
class TrainConfig:
    """Everything about a training run except the model and the data. Defaults suit a lesson-size run."""

    epochs: int = 10                    # passes over the training set
    batch_size: int = 128               # images per SGD step (the paper: 128)
    lr: float = 0.1                     # peak learning rate (the paper: 0.1 at batch 128)
    momentum: float = 0.9               # SGD momentum (the paper: 0.9)
    nesterov: bool = False              # Nesterov momentum instead of the paper's plain momentum
    weight_decay: float = 5e-4          # L2 penalty on every parameter, as in the paper's CIFAR runs
    schedule: str = "onecycle"          # "step": lr/10 at 50% and 75% of epochs (paper); "onecycle"; "cosine"
    warmup: float = 0.2                 # fraction of all steps spent raising the lr linearly ("onecycle", "cosine")
    label_smoothing: float = 0.0        # 0.1 spreads 10% of each target over all classes (Szegedy et al. 2016)
    crop_padding: int = PAD             # random crops of the image zero-padded by this (the paper's 4; 0: no shift)
    precision: str = "auto"             # "auto", "fp32", "bf16" or "fp16" (module docstring)
    channels_last: bool | None = None   # NHWC memory layout; None: on with autocast, off in plain fp32
    compile: bool = False               # torch.compile the model (slow first epoch, faster later ones)
    seed: int = 0                       # data order and augmentation of epoch e derive from (seed, e)
    device: str = "auto"                # "auto" (CUDA when available, else CPU), "cpu", "cuda", "cuda:1", ...
    eval_batch_size: int = 500          # images per evaluation batch (no gradients, so larger is fine)


@dataclass(frozen=True)
class Precision:
    """The arithmetic a run actually uses, after resolving "auto"."""

    name: str                        # "fp32", "bf16" or "fp16"
    autocast: torch.dtype | None     # None: no autocast
    grad_scaler: bool                # scale the loss so fp16 gradients do not underflow
    channels_last: bool              # NHWC layout for model and inputs
    reason: str                      # why, in words (stored in the history)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message names the epoch, the step and what to try."""


class CheckpointMismatch(ValueError):
    """A checkpoint belongs to another model; the message names the file and both models."""


# ---------------------------------------------------------------------------------------------------------------
# Settings resolved against the hardware
# ---------------------------------------------------------------------------------------------------------------

def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for, but PyTorch sees no CUDA GPU here. Use device 'auto' or 'cpu' "
                         "(on Colab: Runtime > Change runtime type > GPU).")
    return device


def resolve_precision(precision: str, device: torch.device, channels_last: bool | None = None) -> Precision:
    """Turn "auto" into what this hardware runs fastest (module docstring); keep an explicit choice as it is."""
    check_choice("precision", precision, PRECISIONS)
    device = torch.device(device)
    reason = "asked for"
    if precision == "auto":
        if device.type == "cuda":
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            reason = "auto: CUDA GPU " + ("with bf16" if precision == "bf16" else "without bf16 (fp16 + grad scaler)")
        elif device.type == "cpu" and cpu_has_native_bf16():
            precision, reason = "bf16", "auto: CPU with native bf16 (AVX512-BF16 / AMX), faster than fp32"
        else:
            precision, reason = "fp32", "auto: no fast low-precision path on this device"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision 'fp16' needs a CUDA GPU (its gradient scaler is CUDA's). On a CPU use 'bf16' "
                         "(fast with AVX512-BF16 or AMX) or 'fp32'.")
    autocast = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if channels_last is None:
        channels_last = autocast is not None
    return Precision(precision, autocast, precision == "fp16", channels_last, reason)


def lr_factor(schedule: str, step: int, total_steps: int, steps_per_epoch: int, warmup: float) -> float:
    """The learning rate of SGD step ``step`` (0-based) as a fraction of the peak lr.

    * "step" (the paper): 1 for the first half of the epochs, 0.1 until 75%, then 0.01 (300 epochs: 150, 225).
    * "onecycle": rises linearly over the first ``warmup`` fraction of the steps, then falls linearly to zero.
    * "cosine": the same warm-up, then half a cosine down to zero (Loshchilov & Hutter 2017).
    """
    if schedule == "step":
        epoch, epochs = step // steps_per_epoch, total_steps // steps_per_epoch
        return 1.0 if epoch < 0.5 * epochs else 0.1 if epoch < 0.75 * epochs else 0.01
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return (step + 1) / warm
    progress = (step - warm) / max(1, total_steps - warm)      # 0 -> 1 after the warm-up
    if schedule == "onecycle":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def check_config(config: TrainConfig) -> None:
    check_positive_int("epochs", config.epochs)
    check_positive_int("batch_size", config.batch_size, "128 is the paper's.")
    check_positive_int("eval_batch_size", config.eval_batch_size)
    check_choice("schedule", config.schedule, SCHEDULES)
    check_choice("precision", config.precision, PRECISIONS)
    if not config.lr > 0:
        raise ValueError(f"lr must be positive, got {config.lr!r}. The paper uses 0.1 at batch size 128.")
    if not 0 <= config.label_smoothing < 1:
        raise ValueError(f"label_smoothing must be in [0, 1), got {config.label_smoothing!r}; 0.1 is common.")
    if isinstance(config.crop_padding, bool) or not isinstance(config.crop_padding, int) \
            or not 0 <= config.crop_padding <= 16:
        raise ValueError(f"crop_padding is a whole number of pixels from 0 to 16, got {config.crop_padding!r}; "
                         f"the paper pads by 4.")
    if not 0 <= config.warmup < 1:
        raise ValueError(f"warmup is a fraction of all steps in [0, 1), got {config.warmup!r}; try 0.2.")


# ---------------------------------------------------------------------------------------------------------------
# Evaluation, checkpoints and history files
# ---------------------------------------------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model: nn.Module, data: CIFAR10Data, *, precision: str | Precision = "fp32",
             batch_size: int = 500, distributed: Distributed | None = None, flip: bool = False) -> dict:
    """Mean cross-entropy and accuracy of ``model`` on ``data``'s test images (no augmentation, eval-mode BN).

    ``flip=True`` is test-time augmentation: each image's logits are averaged with those of its mirror image (the
    flip the training set was augmented with), at twice the cost. The model must be on ``data``'s device. Returns
    ``{"test_loss": float, "test_acc": float}``. With
    ``distributed`` (a torchrun job), each rank evaluates its part of the test set and the sums are added up over the
    ranks, so every rank returns the figures for the whole test set.
    """
    dist = distributed or SINGLE_PROCESS
    if isinstance(precision, str):
        precision = resolve_precision(precision, data.device)
    was_training = model.training
    model.eval()
    loss_sum, correct = torch.zeros((), device=data.device), torch.zeros((), device=data.device, dtype=torch.long)
    mine = dist.shard(len(data.test_labels))                        # all of the test set in a single process
    for x, y in eval_batches(data.test_images[mine], data.test_labels[mine], batch_size,
                             channels_last=precision.channels_last):
        with torch.autocast(data.device.type, dtype=precision.autocast, enabled=precision.autocast is not None):
            logits = model(x).float()
            if flip:
                logits = (logits + model(x.flip(3)).float()) / 2
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    loss_sum, correct = dist.sum_over_ranks(loss_sum), dist.sum_over_ranks(correct)
    n = len(data.test_labels)
    return {"test_loss": loss_sum.item() / n, "test_acc": correct.item() / n}


def model_identity(model: nn.Module) -> dict:
    """What makes a checkpoint fit a model: its class, its config (when it has one) and its tensor shapes."""
    config = getattr(model, "config", None)
    identity = {"class": type(model).__name__,
                "config": asdict(config) if is_dataclass(config) else None,
                "shapes": {k: list(v.shape) for k, v in model.state_dict().items()}}
    return json.loads(json.dumps(identity))  # tuples -> lists, so a loaded copy compares equal


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None) -> dict:
    """Read a checkpoint written by :func:`fit` (``weights_only=True``: tensors and plain data only).

    With ``model``, refuse a checkpoint of another model (:class:`CheckpointMismatch`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}. Train without resume first (it writes one after every "
                                f"epoch), or point --out at the folder of the run you want to continue.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"The checkpoint {path} cannot be read ({type(error).__name__}: {error}). It may be "
                         f"truncated; start a new run with another --out (this file is left as it is).") from error
    if model is not None:
        mine, theirs = model_identity(model), state.get("identity", {})
        if mine != theirs:
            what = (f"{theirs.get('config')} (class {theirs.get('class')})", f"{mine['config']} (class {mine['class']})")
            if mine["config"] == theirs.get("config"):
                what = ("other tensor shapes", "these")
            raise CheckpointMismatch(f"The checkpoint {path} belongs to another model: it holds {what[0]}, but the "
                                     f"model to train is {what[1]}. Use the same model settings to resume, or "
                                     f"another --out folder for a new run (the checkpoint is left as it is).")
    return state


# ---------------------------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------------------------

def fit(model: nn.Module, data: CIFAR10Data, config: TrainConfig | None = None, *,
        out_dir: str | os.PathLike | None = None, resume: bool = False, overwrite: bool = False,
        callback: Callable[[dict, dict], None] | None = None, progress: bool = True,
        distributed: Distributed | None = None) -> dict:
    """Train ``model`` on ``data`` and return the history (also written to ``out_dir/history.json``).

    Args:
        model: any classifier of (N, 3, 32, 32) images; moved to the training device in place.
        data: from :func:`~resnext_edu.data.load_cifar10`; copied to the training device.
        config: a :class:`TrainConfig` (default: its defaults).
        out_dir: where ``checkpoint.pt`` and ``history.json`` are written after every epoch (None: not written).
        resume: continue the run whose checkpoint is in ``out_dir`` (same model; the epochs already done are kept).
        overwrite: allow a new run to replace an earlier run's files in ``out_dir`` (otherwise refused).
        callback: called as ``callback(record, history)`` after each epoch's checkpoint is safely written, e.g. to
            draw live curves in a notebook; an exception raised there stops the run like an interruption.
        progress: show a tqdm progress bar (loss, accuracy, img/s, time left) and one line per epoch.
        distributed: this process's place in a torchrun job (:func:`~resnext_edu.distributed.from_environment`);
            None: a single process. Each rank trains on its part of every global batch of ``config.batch_size``
            under DistributedDataParallel; rank 0 alone shows progress and writes ``out_dir``; the callback runs
            on every rank (with the all-rank figures) after rank 0 has written the checkpoint.

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the last good checkpoint is kept).
    """
    from tqdm.auto import tqdm
    from .counting import count

    config = config or TrainConfig()
    check_config(config)
    dist = distributed or SINGLE_PROCESS
    device = resolve_device(config.device)
    if dist.world_size > 1:
        if dist.device is None or dist.device.type != device.type:
            raise ValueError(f"config.device {config.device!r} is a {device.type} device, but this rank of the "
                             f"torchrun job was set up for {dist.device}. Pass the same device to both.")
        device = dist.device                            # cuda:LOCAL_RANK, not every rank on cuda:0
        dist.per_rank_batch(config.batch_size)          # the global batch must split evenly over the ranks
    progress = progress and dist.is_main
    precision = resolve_precision(config.precision, device, config.channels_last)
    n_train = len(data.train_labels)
    if config.batch_size > n_train:
        raise ValueError(f"batch_size {config.batch_size:,} is larger than the {n_train:,} training images. Use a "
                         f"batch size of at most {n_train:,} (the paper's is 128), or a larger subset.")
    steps = n_train // config.batch_size                 # full batches per epoch; the remainder is dropped
    out = Path(out_dir) if out_dir is not None else None
    checkpoint, history_file = (out / CHECKPOINT, out / HISTORY) if out else (None, None)
    if resume and out is None:
        raise ValueError("resume needs out_dir (--out): the folder whose checkpoint.pt should be continued.")

    def refuse_to_overwrite() -> None:
        if checkpoint.exists():
            raise FileExistsError(f"{checkpoint} is from an earlier run. Continue it with resume=True (--resume), "
                                  f"pick another out_dir (--out), or pass overwrite=True (--overwrite) to replace it.")
    if not resume and not overwrite and checkpoint is not None:
        dist.from_main(refuse_to_overwrite)             # rank 0 writes, so rank 0's disk is the one that counts

    counts = count(model)                               # params and MACs per 32x32 image (counting.py)
    data = data.to(device)
    model.to(device, memory_format=torch.channels_last if precision.channels_last else torch.contiguous_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov, weight_decay=config.weight_decay)
    total_steps = config.epochs * steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(config.schedule, s, total_steps, steps, config.warmup))
    scaler = torch.amp.GradScaler(device.type, enabled=precision.grad_scaler)

    history = {"format": "resnext-edu training history v1",
               "model": {"name": _model_name(model), "config": model_identity(model)["config"],
                         "params": counts.params, "macs": counts.macs,
                         "units": "params: learnable numbers; macs: multiply-accumulates per 32x32 image"},
               "data": {"source": data.source, "synthetic": data.synthetic, "train_images": n_train,
                        "test_images": len(data.test_labels)},
               "config": asdict(config),
               "precision": {"name": precision.name, "channels_last": precision.channels_last,
                             "grad_scaler": precision.grad_scaler, "reason": precision.reason},
               "provenance": describe(device), "resumed": [], "epochs": []}
    if dist.world_size > 1:
        history["distributed"] = dist.describe(config.batch_size, model)
    start = 0
    if resume:
        state = dist.from_main(lambda: load_checkpoint(checkpoint, model))   # rank 0's file, on every rank
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if device.type == "cuda" and state["rng"]["cuda"]:
            for index, rng in enumerate(state["rng"]["cuda"][:torch.cuda.device_count()]):  # saved on more GPUs?
                torch.cuda.set_rng_state(rng, index)
        changed = {k: (v, getattr(config, k)) for k, v in state["train_config"].items() if getattr(config, k) != v}
        if changed and dist.is_main:
            warnings.warn(f"Resuming {checkpoint} with changed settings {changed} (saved, now); the rest of the run "
                          f"uses the new ones.", stacklevel=2)
        start, history = state["epoch"], state["history"]
        history["config"] = asdict(config)
        history["resumed"].append({"at_epoch": start, "world_size": dist.world_size, "provenance": describe(device)})
        if start >= config.epochs and progress:
            print(f"{checkpoint} already holds {start} epochs of the {config.epochs} asked for; nothing to do.")

    net = dist.wrap(model)                              # DistributedDataParallel for 2+ ranks, else the model
    net = torch.compile(net) if config.compile else net
    # DDP's forward may talk to the other ranks, which evaluation (a different number of batches per rank) must not
    eval_net = net if dist.world_size == 1 else model
    elapsed = history["epochs"][-1]["elapsed_seconds"] if history["epochs"] else 0.0
    bar = tqdm(total=(config.epochs - start) * steps, disable=not progress, unit="step", dynamic_ncols=True)
    try:
        for epoch in range(start, config.epochs):
            bar.set_description(f"epoch {epoch + 1}/{config.epochs}")
            t0 = time.perf_counter()
            record = _train_epoch(net, data, config, precision, optimizer, scheduler, scaler, epoch, steps, device,
                                  bar, checkpoint, dist)
            dist.broadcast_buffers(model)               # rank 0's BatchNorm running averages on every rank
            record.update(evaluate(eval_net, data, precision=precision, batch_size=config.eval_batch_size,
                                   distributed=dist))
            record["seconds"] = time.perf_counter() - t0
            elapsed += record["seconds"]
            record["elapsed_seconds"] = elapsed
            history["epochs"].append(record)
            if out is not None and dist.is_main:
                _save_checkpoint(checkpoint, model, optimizer, scheduler, scaler, epoch + 1, config, history)
                write_json(history_file, history)
            dist.barrier()                              # the checkpoint is written before any rank goes on
            if progress:
                bar.write(f"epoch {epoch + 1}/{config.epochs}: train loss {record['train_loss']:.3f} acc "
                          f"{record['train_acc']:.1%} | test loss {record['test_loss']:.3f} acc {record['test_acc']:.1%}"
                          f" | {record['img_per_s']:,.0f} img/s, {record['seconds']:.1f} s")
            if callback is not None:
                callback(record, history)
    finally:
        bar.close()
    return history


def _model_name(model: nn.Module) -> str:
    from .models import ResNeXt, name_of
    return name_of(model.config) if isinstance(model, ResNeXt) else type(model).__name__


def _train_epoch(net, data, config, precision, optimizer, scheduler, scaler, epoch, steps, device, bar,
                 checkpoint, dist=SINGLE_PROCESS) -> dict:
    """One pass over the training set. Losses stay on the device and are checked every ``sync_every`` steps (every
    step on a CPU, where checking is free; every 25 on a GPU, where it would stall the queue). With several ranks,
    each trains on its part of every global batch, and the losses and hits are added up over the ranks when checked,
    so every rank sees the global figures (and a NaN stops all ranks at the same step)."""
    net.train()
    sync_every = 1 if device.type == "cpu" else 25
    losses, corrects, checked = [], [], 0
    seen_loss, seen_correct = 0.0, 0
    t0 = time.perf_counter()
    batches = train_batches(data.train_images, data.train_labels, config.batch_size, seed=config.seed, epoch=epoch,
                            pad=config.crop_padding, channels_last=precision.channels_last, rank=dist.rank, world_size=dist.world_size)
    for step, (x, y) in enumerate(batches):
        with torch.autocast(device.type, dtype=precision.autocast, enabled=precision.autocast is not None):
            logits = net(x)                                                  # (B, classes)
            loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        losses.append(loss.detach().float())
        corrects.append((logits.detach().argmax(1) == y).sum())
        if (step + 1) % sync_every == 0 or step + 1 == steps:
            new_losses = dist.mean_over_ranks(torch.stack(losses[checked:])).cpu()   # global batch's mean loss
            bad = (~torch.isfinite(new_losses)).nonzero()
            if len(bad):
                _diverged(epoch, checked + bad[0].item(), new_losses[bad[0]].item(), lr, checkpoint, steps)
            seen_loss += new_losses.sum().item()
            seen_correct += dist.sum_over_ranks(torch.stack(corrects[checked:])).sum().item()
            bar.update(step + 1 - checked)
            checked = step + 1
            seconds = time.perf_counter() - t0
            bar.set_postfix(loss=f"{seen_loss / checked:.3f}", acc=f"{seen_correct / (checked * config.batch_size):.1%}",
                            img_s=f"{checked * config.batch_size / seconds:,.0f}", refresh=False)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - t0
    images = steps * config.batch_size
    return {"epoch": epoch + 1, "train_loss": seen_loss / steps, "train_acc": seen_correct / images, "lr": lr,
            "train_seconds": seconds, "img_per_s": images / seconds}


def _diverged(epoch, step, loss, lr, checkpoint, steps) -> None:
    kept = (f"The last good checkpoint is kept unchanged at {checkpoint}." if checkpoint is not None and
            checkpoint.exists() else "Nothing had been saved yet.")
    raise TrainingDiverged(f"The training loss became {loss} at epoch {epoch + 1}, step {step + 1} of {steps} "
                           f"(learning rate {lr:.3g}): the weights have diverged. The usual cause is a learning rate "
                           f"that is too high; try a smaller lr (e.g. {lr / 4:.3g}) or a longer warm-up. {kept}")


def _save_checkpoint(path, model, optimizer, scheduler, scaler, epochs_done, config, history) -> None:
    """Only tensors and plain data, so ``torch.load(..., weights_only=True)`` reads it back."""
    state = {"format": 1, "epoch": epochs_done, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
             "rng": {"torch": torch.get_rng_state(),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
             "data_seed": config.seed,  # each epoch's batches come from epoch_generator(seed, epoch), no state
             "identity": model_identity(model), "train_config": asdict(config), "history": history}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


# ---------------------------------------------------------------------------------------------------------------
# Command line: python -m resnext_edu train ... (wired in cli.py)
# ---------------------------------------------------------------------------------------------------------------

def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument("--model", required=True, help="a model name, e.g. resnext29_4x16d (see `models`)")
    parser.add_argument("--stage-widths", type=int, nargs="+", default=None, help="override the stage widths, "
                        "e.g. 16 32 64 for a lesson-size model")
    parser.add_argument("--stem-width", type=int, default=None, help="override the stem width")
    parser.add_argument("--form", choices=("A", "B", "C"), default=None, help="block form of Fig. 3 (default C)")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    parser.add_argument("--batch-size", type=int, default=d.batch_size,
                        help=f"images per SGD step over all ranks (the global batch; under torchrun each of N ranks "
                             f"takes batch/N), default {d.batch_size}")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate, default {d.lr}")
    parser.add_argument("--lr-scaling", choices=LR_RULES, default="none",
                        help="none (default): --lr as given for the global batch; linear: --lr x batch-size / 128 "
                             "(linear scaling rule, relative to the paper's batch 128)")
    parser.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                        help="step: the paper's lr/10 at 50%% and 75%%; onecycle (default) or cosine: short runs")
    parser.add_argument("--warmup", type=float, default=d.warmup, help=f"warm-up fraction, default {d.warmup}")
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"default {d.weight_decay}")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="e.g. 0.1 (default 0)")
    parser.add_argument("--crop-padding", type=int, default=d.crop_padding,
                        help=f"pixels of zero padding before the random crop, default {d.crop_padding} (the paper's)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images, class-balanced")
    parser.add_argument("--test-subset", type=int, default=None, help="evaluate on the first N test images")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data-dir", default=None, help="image folder with train/<class>/ and test/<class>/ "
                        "(default: the cache in data/, then $RESNEXT_EDU_DATA, then a download)")
    source.add_argument("--dataset", choices=("cifar10", "synthetic"), default="cifar10",
                        help="synthetic: a small made-up set for checking the code, not CIFAR-10")
    parser.add_argument("--precision", choices=PRECISIONS, default=d.precision, help="default auto")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                        help="NHWC layout (default: on with bf16/fp16, off with fp32)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--device", default=d.device, help="auto (default), cpu, cuda, ...")
    parser.add_argument("--out", default=None, help="folder for history.json and checkpoint.pt (default runs/MODEL)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run's files in --out")
    parser.add_argument("--seed", type=int, default=d.seed, help="model initialisation, data order, augmentation")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    group = parser.add_argument_group("under torchrun (torchrun --nproc_per_node=N -m resnext_edu train ...)")
    group.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm: BatchNorm statistics over the global "
                       "batch, not each rank's part (CUDA only)")
    group.add_argument("--dist-timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds a rank waits for the others before giving up, default {DEFAULT_TIMEOUT:g}")


def main_train(args: argparse.Namespace) -> int:
    """Build the model and data from ``args``, train, print the final test accuracy. Returns the exit code.

    Under torchrun every rank runs this; rank 0 prints and writes (:mod:`resnext_edu.distributed`).
    """
    try:
        dist = from_environment(args.device, timeout=args.dist_timeout)   # a single process outside torchrun
    except DistributedSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        return _main_train(args, dist)
    except (ValueError, FileNotFoundError, FileExistsError, TrainingDiverged) as error:
        if dist.world_size == 1:
            raise                                       # cli.main prints it (exit code 2)
        dist.print(f"error: {error}", file=sys.stderr)  # the same on every rank: rank 0 says it once
        return 2
    except RuntimeError as error:
        if dist.world_size == 1:
            raise
        print(f"error on rank {dist.rank} of {dist.world_size}: {type(error).__name__}: {error}\nWhen the ranks "
              f"stopped talking to each other (a time-out, a closed connection), another rank has usually died (look "
              f"for its message above) or hangs. Each rank waits --dist-timeout {dist.timeout:g} s for the others.",
              file=sys.stderr)
        return 1
    finally:
        dist.close()


def _main_train(args: argparse.Namespace, dist: Distributed) -> int:
    from .models import create

    dist.per_rank_batch(args.batch_size)                          # before anything slow: N must divide the batch
    try:
        data = dist.in_turn(lambda: load_cifar10(args.data_dir, dataset=args.dataset, subset=args.subset,
                                                 test_subset=args.test_subset))
    except (ValueError, FileNotFoundError) as error:
        if dist.world_size == 1:
            raise
        print(f"error on rank {dist.rank} of {dist.world_size}: {error}", file=sys.stderr)   # may be one machine's
        return 2
    torch.manual_seed(args.seed)                                   # the model's initial weights
    overrides = {"stage_widths": args.stage_widths, "stem_width": args.stem_width, "form": args.form,
                 "num_classes": len(data.classes)}
    model = create(args.model, **{k: v for k, v in overrides.items() if v is not None})
    if args.sync_bn:
        if dist.world_size == 1:
            print("note: --sync-bn has no effect in a single process (BatchNorm already sees the whole batch).")
        model = sync_batchnorm(model, dist)
    lr = scaled_lr(args.lr, args.batch_size, args.lr_scaling)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=lr, nesterov=args.nesterov,
                         weight_decay=args.weight_decay, schedule=args.schedule, warmup=args.warmup,
                         label_smoothing=args.label_smoothing, crop_padding=args.crop_padding,
                         precision=args.precision, channels_last=args.channels_last, compile=args.compile, seed=args.seed, device=args.device)
    out = Path(args.out if args.out is not None else Path("runs") / args.model)
    dist.print(f"data: {data.source}")
    if dist.world_size > 1:
        dist.print(f"distributed: {dist.world_size} ranks ({dist.backend}, rank 0 on {dist.device}); batch "
                   f"{dist.per_rank_batch(args.batch_size)} per rank x {dist.world_size} ranks = {args.batch_size} "
                   f"global{'; SyncBatchNorm' if args.sync_bn else ''}")
    if dist.world_size > 1 or args.lr_scaling != "none":
        dist.print(describe_lr(args.lr, args.batch_size, args.lr_scaling))
    try:
        history = fit(model, data, config, out_dir=out, resume=args.resume, overwrite=args.overwrite,
                      progress=not args.no_progress, distributed=dist)
    except (FileExistsError, TrainingDiverged) as error:
        dist.print(f"error: {error}", file=sys.stderr)
        return 2
    last = history["epochs"][-1] if history["epochs"] else None
    if last is None:
        return 0
    note = " (SYNTHETIC data, not CIFAR-10)" if data.synthetic else ""
    dist.print(f"final test accuracy: {last['test_acc']:.2%} after {last['epoch']} epochs{note}; "
               f"history in {out / HISTORY}, checkpoint in {out / CHECKPOINT}")
    return 0

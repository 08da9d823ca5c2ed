"""The training loop a learner reads: SGD, a learning-rate schedule, evaluation, resume (lesson 06).

The paper's CIFAR recipe (Xie et al. 2017, Appendix A): SGD with momentum 0.9, weight decay 5e-4, batch 128, lr 0.1
divided by 10 at 50% and 75% of 300 epochs (``schedule="step"``). Lessons train for minutes, not days, so the default
is a short-run "one-cycle" schedule (linear warm-up, linear decay to zero; Smith & Topin 2017).

The pieces around the loop live beside it: the device and the arithmetic ("auto": bf16, fp16 + a gradient scaler or
fp32, whatever the hardware runs fastest) in :mod:`resnext_edu.device`; the checkpoint format in
:mod:`resnext_edu.checkpoints`; the data on the device in :mod:`resnext_edu.data`; ``python -m resnext_edu train`` in
:mod:`resnext_edu.cli`. Under ``torchrun --nproc_per_node=N -m resnext_edu train ...`` this same loop runs on N
processes under DistributedDataParallel, ``batch_size`` being the global batch (:mod:`resnext_edu.distributed`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .checkpoints import (CHECKPOINT, HISTORY, load_checkpoint, new_history, prepare_out_dir, restore,
                          resumed_history, save_checkpoint)
from .checks import check_batch_fits, check_choice, check_fraction, check_int, check_positive_int
from .augment import PAD, eval_batches, side_for_epoch, train_batches
from .data import CIFAR10Data
from .device import PRECISIONS, Precision, pick_device, resolve_precision, synchronize
from .distributed import SINGLE_PROCESS, Distributed
from .files import write_json
from .preflight import check_classes, check_model_and_data

SCHEDULES = ("onecycle", "cosine", "step")
DIVERGED = 10   # a loss above 10 x ln(classes), ten times that of a uniform guess, has diverged (as has NaN or inf)


@dataclass
class TrainConfig:
    """Everything about a training run except the model and the data. Defaults suit a lesson-size run."""

    epochs: int = field(default=10, metadata={"help": "passes over the training set"})
    batch_size: int = field(default=128, metadata={
        "help": "images per SGD step over all ranks (the global batch; under torchrun each of N ranks takes "
                "batch/N); the paper: 128"})
    lr: float = field(default=0.1, metadata={"help": "peak learning rate (the paper: 0.1 at batch 128)"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum (the paper: 0.9)"})
    nesterov: bool = field(default=False, metadata={
        "help": "Nesterov momentum (the authors' train.lua; the paper says only \"momentum\")"})
    weight_decay: float = field(default=5e-4, metadata={
        "help": "L2 penalty on every parameter (the paper's CIFAR value: 5e-4)"})
    schedule: str = field(default="onecycle", metadata={
        "help": "step: the paper's lr/10 at 50% and 75% of the epochs; onecycle or cosine: short runs"})
    warmup: float = field(default=0.2, metadata={
        "help": "fraction of all steps spent raising the lr linearly (onecycle, cosine)"})
    label_smoothing: float = field(default=0.0, metadata={
        "help": "spreads this fraction of each target over all classes, e.g. 0.1 (Szegedy et al. 2016)"})
    crop_padding: int = field(default=PAD, metadata={
        "help": "pixels of zero padding before the random crop (the paper's 4; 0: no shift)"})
    resize_schedule: tuple = field(default=(), metadata={
        "help": "progressive resizing: SIDE:FRACTION pairs trained first (e.g. 16:0.4 24:0.3), then full size"})
    precision: str = field(default="auto", metadata={"help": "auto, fp32, bf16 or fp16 (resnext_edu.device)"})
    channels_last: bool | None = field(default=None, metadata={
        "help": "NHWC memory layout (default: on with bf16/fp16, off with fp32)"})
    compile: bool = field(default=False, metadata={
        "help": "torch.compile the model (slow first epoch, faster later ones)"})
    seed: int = field(default=0, metadata={
        "help": "model initialisation, data order, augmentation: epoch e derives from (seed, e)"})
    device: str = field(default="auto", metadata={
        "help": "auto (CUDA, else Apple MPS, else CPU), cpu, cuda, cuda:1, mps"})
    eval_batch_size: int = field(default=500, metadata={
        "help": "images per evaluation batch (no gradients, so larger is fine)"})
    eval_from: int = field(default=1, metadata={
        "help": "evaluate the test set after epochs EVAL_FROM.. (1: every epoch; the last one always)"})


# The fast recipe for runs of minutes (benchmarks/README.md section 3, attempt 9; lesson 06's short run):
# what it changes from the paper's CIFAR recipe, whose other settings (momentum 0.9, weight decay 5e-4) it keeps.
# The "full" sweep budget trains with all of it but the resize schedule (attempt 7's recipe: sweep/settings.py).
FAST_RECIPE = {"batch_size": 256, "lr": 0.4, "schedule": "onecycle", "warmup": 0.25, "nesterov": True,
               "label_smoothing": 0.1, "crop_padding": 1, "resize_schedule": ((16, 0.4), (24, 0.3))}


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite or far above its start; the message names the epoch, the step and what to try."""


def check_config(config: TrainConfig) -> None:
    check_positive_int("epochs", config.epochs)
    check_positive_int("batch_size", config.batch_size, "128 is the paper's.")
    check_positive_int("eval_batch_size", config.eval_batch_size)
    check_positive_int("eval_from", config.eval_from, "1 evaluates after every epoch; the last epoch always is.")
    check_choice("schedule", config.schedule, SCHEDULES)
    check_choice("precision", config.precision, PRECISIONS)
    if not config.lr > 0:
        raise ValueError(f"lr must be positive, got {config.lr!r}. The paper uses 0.1 at batch size 128.")
    check_fraction("label_smoothing", config.label_smoothing, hint="0.1 is common.")
    check_int("crop_padding", config.crop_padding, low=0, high=16, unit="pixels", hint="The paper pads by 4.")
    check_fraction("warmup", config.warmup, hint="Try 0.2.")
    check_resize_schedule(config.resize_schedule)


def check_resize_schedule(schedule) -> None:
    """``((side, fraction), ...)``: whole sides from 8 to 32 pixels, fractions of the epochs above 0 adding up to at
    most 1 (the rest of the epochs train at full size)."""
    hint = ("Give pairs (side in pixels, fraction of the epochs), e.g. ((16, 0.3), (24, 0.3)): 30% of the epochs "
            "on 16x16 images, 30% on 24x24, the rest at full size; () trains at full size throughout.")
    try:
        pairs = [(side, float(fraction)) for side, fraction in schedule]
    except (TypeError, ValueError):
        raise ValueError(f"resize_schedule must be a sequence of (side, fraction) pairs, got {schedule!r}. {hint}") \
            from None
    for side, fraction in pairs:
        check_int("a resize_schedule side", side, low=8, high=32, unit="pixels", hint=hint)
        if not 0 < fraction <= 1:
            raise ValueError(f"a resize_schedule fraction must be above 0 and at most 1, got {fraction!r}. {hint}")
    if sum(f for _, f in pairs) > 1 + 1e-9:
        raise ValueError(f"resize_schedule's fractions add up to {sum(f for _, f in pairs):g}, more than all the "
                         f"epochs. {hint}")


def image_size(config: TrainConfig, epoch: int, full: int = 32) -> int:
    """The side of the training images in epoch ``epoch`` (0-based) under ``config.resize_schedule``
    (:func:`~resnext_edu.augment.side_for_epoch`; benchmarks/README.md, section 3)."""
    return side_for_epoch(config.resize_schedule, config.epochs, epoch, full)


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


def train_step(net: nn.Module, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
               precision: Precision, label_smoothing: float = 0.0) -> tuple[Tensor, Tensor]:
    """One SGD step on the batch ``(x, y)``: forward under ``precision``'s autocast, cross-entropy, backward through
    the gradient scaler (a no-op unless fp16), the update. Returns the logits ``(B, classes)`` and the loss, both
    still on the device (reading them would make the CPU wait for the GPU)."""
    with precision.autocast_context(x.device.type):
        logits = net(x)                                                      # (B, classes)
        loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return logits, loss


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
        with precision.autocast_context(data.device.type):
            logits = model(x).float()
            if flip:
                logits = (logits + model(x.flip(3)).float()) / 2
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    loss_sum, correct = dist.sum_over_ranks(loss_sum), dist.sum_over_ranks(correct)
    n = len(data.test_labels)
    return {"test_loss": loss_sum.item() / n, "test_acc": correct.item() / n}


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
        TrainingDiverged: the loss became NaN, infinite or more than ``DIVERGED`` x ln(classes) (the last good
            checkpoint is kept).
    """
    config = config or TrainConfig()
    check_config(config)
    check_model_and_data(model, data)
    dist = distributed or SINGLE_PROCESS
    device = pick_device(config.device)
    if dist.world_size > 1:
        if dist.device is None or dist.device.type != device.type:
            raise ValueError(f"config.device {config.device!r} is a {device.type} device, but this rank of the "
                             f"torchrun job was set up for {dist.device}. Pass the same device to both.")
        device = dist.device                            # cuda:LOCAL_RANK, not every rank on cuda:0
        dist.per_rank_batch(config.batch_size)          # the global batch must split evenly over the ranks
    progress = progress and dist.is_main
    precision = resolve_precision(config.precision, device, config.channels_last)
    steps = len(data.train_labels) // check_batch_fits(config.batch_size, len(data.train_labels))  # full batches
    out = Path(out_dir) if out_dir is not None else None
    checkpoint, history_file = (out / CHECKPOINT, out / HISTORY) if out else (None, None)
    if resume and out is None:
        raise ValueError("resume needs out_dir (--out): the folder whose checkpoint.pt should be continued.")
    if out is not None:                                 # rank 0 writes: rank 0's disk is the one that counts
        dist.from_main(lambda: prepare_out_dir(out, resume, overwrite))

    history = new_history(model, data, config, precision, device, dist)
    data = data.to(device)
    model.to(device, memory_format=torch.channels_last if precision.channels_last else torch.contiguous_format)
    check_classes(model, data, precision)               # one image: the model has a score for every class
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=config.nesterov, weight_decay=config.weight_decay)
    total_steps = config.epochs * steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(config.schedule, s, total_steps, steps, config.warmup))
    scaler = torch.amp.GradScaler(device.type, enabled=precision.grad_scaler)
    start = 0
    if resume:
        state = dist.from_main(lambda: load_checkpoint(checkpoint, model))   # rank 0's file, on every rank
        restore(state, model, optimizer, scheduler, scaler, device, config)   # a new lr applies from here on
        start, history = resumed_history(state, config, checkpoint, device, dist)
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
            if epoch + 1 >= min(config.eval_from, config.epochs):    # evaluation leaves the weights as they are
                record.update(evaluate(eval_net, data, precision=precision, batch_size=config.eval_batch_size,
                                       distributed=dist))
            else:                                       # skipped to save its time (benchmark 3): no test figures
                record.update(test_loss=None, test_acc=None)
            record["seconds"] = time.perf_counter() - t0
            elapsed += record["seconds"]
            record["elapsed_seconds"] = elapsed
            history["epochs"].append(record)
            if out is not None and dist.is_main:
                save_checkpoint(checkpoint, model, optimizer, scheduler, scaler, epoch + 1, config, history)
                write_json(history_file, history)
            dist.barrier()                              # the checkpoint is written before any rank goes on
            if progress:
                test = (f"test loss {record['test_loss']:.3f} acc {record['test_acc']:.1%}"
                        if record["test_acc"] is not None else "test set not evaluated")
                bar.write(f"epoch {epoch + 1}/{config.epochs}: train loss {record['train_loss']:.3f} acc "
                          f"{record['train_acc']:.1%} | {test} | {record['img_per_s']:,.0f} img/s, "
                          f"{record['seconds']:.1f} s")
            if callback is not None:
                callback(record, history)
    finally:
        bar.close()
    return history


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
    size = image_size(config, epoch, full=data.train_images.shape[-1])
    batches = train_batches(data.train_images, data.train_labels, config.batch_size, seed=config.seed, epoch=epoch,
                            pad=config.crop_padding, channels_last=precision.channels_last, rank=dist.rank,
                            world_size=dist.world_size, size=size)
    for step, (x, y) in enumerate(batches):
        lr = optimizer.param_groups[0]["lr"]
        logits, loss = train_step(net, x, y, optimizer, scaler, precision, config.label_smoothing)
        scheduler.step()
        losses.append(loss.detach().float())
        corrects.append((logits.detach().argmax(1) == y).sum())
        if (step + 1) % sync_every == 0 or step + 1 == steps:
            new_losses = dist.mean_over_ranks(torch.stack(losses[checked:])).cpu()   # global batch's mean loss
            bad = (~torch.isfinite(new_losses) | (new_losses > DIVERGED * math.log(logits.shape[1]))).nonzero()
            if len(bad):
                _diverged(epoch, checked + bad[0].item(), new_losses[bad[0]].item(), lr, config.lr, checkpoint,
                          steps, DIVERGED * math.log(logits.shape[1]))
            seen_loss += new_losses.sum().item()
            seen_correct += dist.sum_over_ranks(torch.stack(corrects[checked:])).sum().item()
            bar.update(step + 1 - checked)
            checked = step + 1
            seconds = time.perf_counter() - t0
            bar.set_postfix(loss=f"{seen_loss / checked:.3f}", acc=f"{seen_correct / (checked * config.batch_size):.1%}",
                            img_s=f"{checked * config.batch_size / seconds:,.0f}", refresh=False)
    synchronize(device)
    seconds = time.perf_counter() - t0
    images = steps * config.batch_size
    return {"epoch": epoch + 1, "train_loss": seen_loss / steps, "train_acc": seen_correct / images, "lr": lr,
            "train_seconds": seconds, "img_per_s": images / seconds, "train_image_size": size}


def _diverged(epoch, step, loss, lr, peak, checkpoint, steps, limit) -> None:
    why = "" if not math.isfinite(loss) else f", more than {DIVERGED} x ln(classes) = {limit:.1f}"
    kept = (f"The last good checkpoint is kept unchanged at {checkpoint}: continue it with a tenth of the peak lr, "
            f"--resume --lr {peak / 10:.3g} (resume=True with TrainConfig(lr=...)), which applies from its next step;"
            f" divide again if it diverges again." if checkpoint is not None and checkpoint.exists() else
            f"Nothing had been saved yet: start again with a smaller lr (e.g. {peak / 10:.3g}, a tenth of the peak) "
            f"or a longer warm-up.")
    summary = (f"The training loss became {loss:.4g}{why} at epoch {epoch + 1}, step {step + 1} of {steps} (learning "
               f"rate {lr:.3g}): the weights have diverged.")
    error = TrainingDiverged(f"{summary} The usual cause is a learning rate that is too high. {kept}")
    error.summary = summary                             # without the advice: a sweep gives its own
    raise error

"""The training loop a learner reads: SGD, a learning-rate schedule, evaluation, resume (lesson 06).

The settings are a :class:`~resnext_edu.config.TrainConfig` (the paper's CIFAR recipe, Xie et al.
2017, Appendix A, with a short-run schedule); :func:`lr_factor` is the schedule, :func:`train_step`
one SGD step, :func:`evaluate` the test set, :func:`fit` the whole run. Under ``torchrun`` the same
loop runs on N processes, ``batch_size`` being the global batch (:mod:`resnext_edu.distributed`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .augment import eval_batches, side_for_epoch, train_batches
from .checkpoints import CHECKPOINT, new_history, prepare_out_dir, resume_from, save_checkpoint
from .checks import check_batch_fits, check_train_config
from .config import FAST_RECIPE, SCHEDULES, TrainConfig
from .data import CIFAR10Data
from .device import PRECISIONS, Precision, resolve_precision, synchronize
from .distributed import SINGLE_PROCESS, Distributed
from .divergence import DIVERGED, TrainingDiverged, check_divergence
from .preflight import check_classes, check_model_and_data
from .progress import EpochTally, epoch_line, progress_bar

__all__ = ["lr_factor", "train_step", "evaluate", "fit"]  # the loop
__all__ += ["TrainConfig", "FAST_RECIPE", "SCHEDULES"]  # its settings: resnext_edu.config
__all__ += ["DIVERGED", "TrainingDiverged", "check_divergence"]  # its stop: resnext_edu.divergence


def lr_factor(
    schedule: str, step: int, total_steps: int, steps_per_epoch: int, warmup: float
) -> float:
    """The learning rate of SGD step ``step`` (0-based) as a fraction of the peak lr.

    * "step" (the paper): 1 for the first half of the epochs, 0.1 until 75%, then 0.01.
    * "onecycle": rises linearly over the first ``warmup`` fraction of the steps, then falls
      linearly to zero.
    * "cosine": the same warm-up, then half a cosine down to zero (Loshchilov & Hutter 2017).
    """
    if schedule == "step":
        epoch = step // steps_per_epoch
        epochs = total_steps // steps_per_epoch
        if epoch < 0.5 * epochs:
            return 1.0
        return 0.1 if epoch < 0.75 * epochs else 0.01
    warm = max(1, round(warmup * total_steps))
    if step < warm:
        return (step + 1) / warm
    progress = (step - warm) / max(1, total_steps - warm)  # 0 -> 1 after the warm-up
    if schedule == "onecycle":
        return max(0.0, 1.0 - progress)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: Tensor,
    labels: Tensor,
    *,
    scaler: torch.amp.GradScaler | None = None,
    precision: str | Precision = "fp32",
    label_smoothing: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """One SGD step on one batch: what :func:`fit` does with each batch.

    In order: the forward pass and the mean cross-entropy under ``precision``'s autocast (none for
    "fp32"), ``optimizer.zero_grad(set_to_none=True)``, the backward pass, ``optimizer.step()``.
    With a ``scaler`` (fit passes one, active for fp16 only) the loss is scaled before the backward
    pass and the step is ``scaler.step(optimizer)`` then ``scaler.update()``.

    It does not set training mode, move the batch to a device or step a learning-rate schedule
    (fit calls ``scheduler.step()`` after it). Returns the logits ``(B, classes)`` and the loss, on
    the device and not detached (reading them makes the CPU wait for the GPU).
    """
    if isinstance(precision, str):
        precision = resolve_precision(precision, images.device)
    with precision.autocast_context(images.device.type):
        logits = model(images)  # (B, classes)
        loss = F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return logits, loss


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: CIFAR10Data,
    *,
    precision: str | Precision = "fp32",
    batch_size: int = 500,
    distributed: Distributed | None = None,
    flip: bool = False,
) -> dict:
    """Mean cross-entropy and accuracy of ``model`` on ``data``'s test images, in eval mode and
    without augmentation: ``{"test_loss": float, "test_acc": float}``.

    The model must be on ``data``'s device. ``flip=True`` averages each image's logits with those
    of its mirror image (test-time augmentation, at twice the cost). With ``distributed`` each rank
    evaluates its part and the sums are added up, so every rank returns the whole test set's.
    """
    dist = distributed or SINGLE_PROCESS
    if isinstance(precision, str):
        precision = resolve_precision(precision, data.device)
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=data.device)
    correct = torch.zeros((), device=data.device, dtype=torch.long)
    mine = dist.shard(len(data.test_labels))  # all of the test set in a single process
    images, labels = data.test_images[mine], data.test_labels[mine]
    for x, y in eval_batches(images, labels, batch_size, channels_last=precision.channels_last):
        with precision.autocast_context(data.device.type):
            logits = model(x).float()
            if flip:
                logits = (logits + model(x.flip(3)).float()) / 2
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train(was_training)
    n = len(data.test_labels)
    loss_sum, correct = dist.sum_over_ranks(loss_sum), dist.sum_over_ranks(correct)
    return {"test_loss": loss_sum.item() / n, "test_acc": correct.item() / n}


def fit(
    model: nn.Module,
    data: CIFAR10Data,
    config: TrainConfig | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    overwrite: bool = False,
    callback: Callable[[dict, dict], None] | None = None,
    progress: bool = True,
    distributed: Distributed | None = None,
) -> dict:
    """Train ``model`` on ``data``; return the history (also written to ``out_dir/history.json``).

    Args:
        model: any classifier of (N, 3, 32, 32) images; moved to the training device in place.
        data: from :func:`~resnext_edu.data.load_cifar10`; copied to the training device.
        config: a :class:`TrainConfig` (default: its defaults).
        out_dir: where ``checkpoint.pt`` and ``history.json`` are written after every epoch
            (None: nowhere).
        resume: continue the run whose checkpoint is in ``out_dir`` (same model; its epochs stay).
        overwrite: allow a new run to replace an earlier run's files in ``out_dir``.
        callback: called as ``callback(record, history)`` after each epoch's checkpoint is
            written, e.g. to draw live curves; an exception there stops the run like an interrupt.
        progress: show a progress bar (loss, accuracy, img/s, time left) and one line per epoch.
        distributed: this process's place in a torchrun job (None: a single process). Each rank
            trains on its part of every global batch under DistributedDataParallel; rank 0 alone
            shows progress and writes ``out_dir``; the callback runs on every rank once rank 0 has
            written the checkpoint.

    Raises:
        TrainingDiverged: the loss became NaN, infinite or more than ``DIVERGED`` x ln(classes)
            (the last good checkpoint is kept).
    """
    # Settings, device, arithmetic and output folder, all checked before any work
    config = config or TrainConfig()
    check_train_config(config, schedules=SCHEDULES, precisions=PRECISIONS)
    check_model_and_data(model, data)
    dist = distributed or SINGLE_PROCESS
    device = dist.training_device(config.device)
    dist.per_rank_batch(config.batch_size)  # the global batch must split evenly over the ranks
    progress = progress and dist.is_main
    precision = resolve_precision(config.precision, device, config.channels_last)
    steps = len(data.train_labels) // check_batch_fits(config.batch_size, len(data.train_labels))
    out = Path(out_dir) if out_dir is not None else None
    dist.from_main(lambda: prepare_out_dir(out, resume, overwrite))  # rank 0 writes the files
    checkpoint = out / CHECKPOINT if out is not None else None

    # Model and data on the device; SGD with its schedule; the run so far when resuming
    history = new_history(model, data, config, precision, device, dist)
    data = data.to(device)
    layout = torch.channels_last if precision.channels_last else torch.contiguous_format
    model.to(device, memory_format=layout)
    check_classes(model, data, precision)  # one image: the model has a score for every class
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    total_steps = config.epochs * steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(config.schedule, step, total_steps, steps, config.warmup)
    )
    # fp16's gradient scaler; a disabled one (any other precision) leaves loss and step as they are
    scaler = torch.amp.GradScaler(device.type, enabled=precision.grad_scaler)
    state = (model, optimizer, scheduler, scaler)  # what a checkpoint saves, with the history
    start = 0
    if resume:  # weights, optimiser, schedule and random state as saved; a changed lr applies
        start, history = resume_from(checkpoint, *state, config=config, device=device, dist=dist)
        if start >= config.epochs and progress:
            print(f"{checkpoint} holds {start} of {config.epochs} epochs already: nothing to do.")
    net = dist.wrap(model)  # DistributedDataParallel for 2+ ranks, else the model
    net = torch.compile(net) if config.compile else net
    # DDP's forward may talk to the other ranks, which evaluation (batches differ per rank) must not
    eval_net = net if dist.world_size == 1 else model
    bar = progress_bar((config.epochs - start) * steps, show=progress)
    # Losses are read every sync_every steps, over all ranks, so a divergence stops all ranks at one
    # step: every step on a CPU, where reading is free; every 25 on a GPU, whose queue it stalls
    sync_every = 1 if device.type == "cpu" else 25
    elapsed = history["epochs"][-1]["elapsed_seconds"] if history["epochs"] else 0.0
    # What every epoch's batches share (the run's seed, crop padding and layout, this rank's part of
    # each global batch), every step (scaler, precision, label smoothing), every evaluation
    batch_options = dict(
        batch_size=config.batch_size,
        seed=config.seed,
        pad=config.crop_padding,
        channels_last=precision.channels_last,
        rank=dist.rank,
        world_size=dist.world_size,
    )
    step_options = dict(scaler=scaler, precision=precision, label_smoothing=config.label_smoothing)
    eval_options = dict(precision=precision, batch_size=config.eval_batch_size, distributed=dist)

    # The epochs: train, evaluate, save, report
    with bar:  # closed also when the run stops early
        for epoch in range(start, config.epochs):
            bar.set_description(f"epoch {epoch + 1}/{config.epochs}")
            t0 = time.perf_counter()

            # One pass over the training set, in this epoch's order and image size
            net.train()
            images, labels = data.train_images, data.train_labels
            size = side_for_epoch(config.resize_schedule, config.epochs, epoch, images.shape[-1])
            batches = train_batches(images, labels, epoch=epoch, size=size, **batch_options)
            tally = EpochTally(bar, config.batch_size, dist)  # losses and hits, on the device
            for step, (x, y) in enumerate(batches):
                lr = optimizer.param_groups[0]["lr"]
                logits, loss = train_step(net, optimizer, x, y, **step_options)
                scheduler.step()
                tally.add(loss, logits, y)
                if (step + 1) % sync_every == 0 or step + 1 == steps:
                    new = tally.unread_losses()  # the global batches' losses since the last read
                    check_divergence(
                        new,
                        classes=logits.shape[1],
                        epoch=epoch,
                        first_step=tally.checked,
                        steps=steps,
                        lr=lr,
                        peak_lr=config.lr,
                        checkpoint=checkpoint,
                    )
                    tally.count(new)  # adds them up; moves the progress bar
            synchronize(device)
            train_seconds = time.perf_counter() - t0
            dist.broadcast_buffers(model)  # rank 0's BatchNorm running averages on every rank

            # The test set (no change to the weights), unless skipped to save its time
            test = {"test_loss": None, "test_acc": None}
            if epoch + 1 >= min(config.eval_from, config.epochs):
                test = evaluate(eval_net, data, **eval_options)

            # The epoch's record in the history, the checkpoint, the epoch's line
            seconds = time.perf_counter() - t0
            elapsed += seconds
            record = {
                "epoch": epoch + 1,
                **tally.summary(train_seconds),
                "lr": lr,
                "train_image_size": size,
                **test,
                "seconds": seconds,
                "elapsed_seconds": elapsed,
            }
            history["epochs"].append(record)
            if out is not None and dist.is_main:  # checkpoint.pt, and history.json beside it
                save_checkpoint(checkpoint, *state, epoch + 1, config, history)
            dist.barrier()  # the checkpoint is written before any rank goes on
            if progress:
                bar.write(epoch_line(record, config.epochs))
            if callback is not None:
                callback(record, history)
    return history

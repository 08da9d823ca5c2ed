"""One training loop on many GPUs or machines: PyTorch's DistributedDataParallel under torchrun (lesson 06).

Start the same command under ``torchrun`` and it runs on N processes ("ranks"), one per GPU (or several on a CPU)::

    torchrun --nproc_per_node=4 -m resnext_edu train --model resnext29_8x64d --batch-size 128 ...

torchrun starts the processes and tells each where it stands through environment variables (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``); :func:`from_environment` reads them and joins the
process group (NCCL between CUDA GPUs, gloo between CPU processes). A plain ``python -m resnext_edu train`` is the
world-size-1 case of the same code (:data:`SINGLE_PROCESS`): no process group, nothing communicated.

What each rank does, and why the result is the single-process run's:

* Data: every rank holds the whole (small) data set on its device and draws the *same* shuffled order and the same
  crop/flip offsets from (seed, epoch) (:func:`~resnext_edu.augment.train_batches`), so the ranks agree without a word.
  Step k's global batch is positions ``k*B .. (k+1)*B`` of that order, exactly as in a single process; rank r takes
  its consecutive ``B / world_size`` of them. A sample's augmentation depends on its position in the epoch's order
  only, never on the rank, so a 4-rank run sees each sample cropped and flipped as the 1-process run would.
* Gradients: DistributedDataParallel averages the ranks' gradients in the backward pass. Each rank's loss is the mean
  over its B / N images, so the average is the gradient of the mean loss over all B images: the single-process step.
  Only two things differ: the order of floating-point sums (results agree to float tolerance, not bit for bit) and
  BatchNorm, which normalises each rank's B / N images by their own statistics. ``sync_batchnorm`` (``--sync-bn``,
  CUDA only) computes them over the global batch instead. BatchNorm's running averages are rank 0's: DDP copies them
  to the others before each step, and :meth:`Distributed.broadcast_buffers` once more after each epoch's last step,
  so all ranks evaluate and save the same model.
* Learning rate: ``--batch-size`` is the *global* batch, so the number of ranks does not change the optimisation and
  the learning rate is used as given (:func:`scaled_lr`, rule "none"). When you raise the global batch itself,
  ``--lr-scaling linear`` applies the linear scaling rule, lr x B / 128, relative to the paper's batch of 128.
* Side effects: the progress bar, the printed lines, ``history.json`` and ``checkpoint.pt`` come from rank 0 only. A
  resume reads rank 0's checkpoint (on rank 0, shared with the others), so it continues on any number of ranks.
* Failures: the process group has a timeout (``--dist-timeout``, default 300 s). A rank that dies makes torchrun stop
  the others; a rank that hangs, or a node that cannot be reached, ends the others' wait after the timeout with a
  message and a non-zero exit code, instead of a job that hangs until its allocation runs out.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, TypeVar

import torch
import torch.distributed as torch_dist
from torch import Tensor, nn

from .device import pick_device

DEFAULT_TIMEOUT = (
    300.0  # seconds a rank waits for the others (process group set-up and every collective)
)
LR_RULES = ("none", "linear")
REFERENCE_BATCH = (
    128  # the paper's CIFAR batch, at lr 0.1: the reference of the linear scaling rule
)

T = TypeVar("T")


class DistributedSetupError(RuntimeError):
    """The process group could not be formed; the message says what was tried and what to check."""


@dataclass(frozen=True)
class Distributed:
    """Where this process stands in a torchrun job. The defaults (:data:`SINGLE_PROCESS`) are a plain run.

    Every method is a no-op (or the identity) for world size 1, so the training loop has one code path.
    """

    rank: int = 0  # this process's number, 0 .. world_size - 1 (rank 0 does the writing)
    world_size: int = 1  # number of processes training together
    local_rank: int = 0  # this process's number on its machine (its GPU index)
    device: torch.device | None = (
        None  # the device this rank trains on; None: TrainConfig.device decides
    )
    backend: str | None = None  # "nccl" (CUDA) or "gloo" (CPU); None without a process group
    timeout: float = DEFAULT_TIMEOUT  # seconds any collective waits before failing

    @property
    def is_main(self) -> bool:
        """True on rank 0, the one rank that prints and writes files."""
        return self.rank == 0

    def print(self, *args, **kwargs) -> None:
        """``print`` on rank 0 only, so N ranks do not print N copies."""
        if self.is_main:
            print(*args, **kwargs)

    def training_device(self, asked: str | torch.device) -> torch.device:
        """The device this rank trains on: :func:`~resnext_edu.device.pick_device` of ``asked`` in a single
        process; in a torchrun job this rank's own device (``cuda:LOCAL_RANK``), which must be of the asked type."""
        device = pick_device(asked)
        if self.world_size == 1:
            return device
        if self.device is None or self.device.type != device.type:
            raise ValueError(
                f"config.device {asked!r} is a {device.type} device, but this rank of the torchrun "
                f"job was set up for {self.device}. Pass the same device to both."
            )
        return self.device

    # --- data -------------------------------------------------------------------------------------------------

    def per_rank_batch(self, global_batch: int) -> int:
        """Images per rank and step: ``global_batch / world_size``, which must be a whole number."""
        if global_batch % self.world_size:
            fits = [
                b
                for b in (
                    global_batch - global_batch % self.world_size,
                    global_batch - global_batch % self.world_size + self.world_size,
                )
                if b > 0
            ]
            raise ValueError(
                f"The batch size {global_batch} (the global batch, over all ranks) cannot be split "
                f"evenly over {self.world_size} ranks. Use a multiple of {self.world_size}, e.g. "
                f"--batch-size {' or '.join(map(str, fits))}, or another --nproc_per_node."
            )
        return global_batch // self.world_size

    def shard(self, n: int) -> slice:
        """This rank's contiguous part of ``n`` items (sizes differ by at most one); all of them for world size 1."""
        return slice(self.rank * n // self.world_size, (self.rank + 1) * n // self.world_size)

    # --- communication ----------------------------------------------------------------------------------------

    def sum_over_ranks(self, tensor: Tensor) -> Tensor:
        """The element-wise sum of ``tensor`` over all ranks (in place; the tensor itself for world size 1)."""
        if self.world_size > 1:
            torch_dist.all_reduce(tensor, op=torch_dist.ReduceOp.SUM)
        return tensor

    def mean_over_ranks(self, tensor: Tensor) -> Tensor:
        """The element-wise mean of a floating-point ``tensor`` over all ranks (the tensor itself for world size 1)."""
        if self.world_size > 1:
            tensor = self.sum_over_ranks(tensor) / self.world_size
        return tensor

    def broadcast_buffers(self, model: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm's running mean and variance) to every rank, so all hold one model."""
        if self.world_size > 1:
            for buffer in model.buffers():
                torch_dist.broadcast(buffer, src=0)

    def barrier(self) -> None:
        """Wait until every rank has arrived here (at most ``timeout`` seconds)."""
        if self.world_size > 1:
            torch_dist.barrier()

    def from_main(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 and give its result to every rank, e.g. reading a file only rank 0 can see.

        When ``fn`` raises on rank 0, every rank raises the same kind of error with the same message, so all ranks
        stop together instead of waiting for one that has gone. The result is sent pickled: keep it to tensors and
        plain data (a checkpoint is fine).
        """
        if self.world_size == 1:
            return fn()
        message: list = [None]
        error = None
        if self.is_main:
            try:
                message[0] = ("ok", fn())
            except Exception as raised:
                error = raised
                message[0] = ("error", type(raised), str(raised))
        torch_dist.broadcast_object_list(
            message, src=0, device=self.device if self.backend == "nccl" else None
        )
        if error is not None:
            raise error
        if message[0][0] == "error":
            _, kind, text = message[0]
            try:
                error = kind(text)
            except TypeError:  # an exception class that cannot be built from one message
                error = RuntimeError(f"rank 0 failed ({kind.__name__}): {text}")
            raise error
        return message[0][1]

    def in_turn(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on every rank, rank 0 first, then the first rank of every other machine, then the rest.

        For loading data: the first call may download CIFAR-10 and write the tensor cache; the later ones find the
        cache, so no two processes on one machine download into one folder at once.
        """
        if self.world_size == 1:
            return fn()
        result = None
        for turn in (self.rank == 0, self.rank != 0 and self.local_rank == 0, self.local_rank != 0):
            if turn:
                result = fn()
            self.barrier()
        return result

    # --- the model --------------------------------------------------------------------------------------------

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model for training steps: DistributedDataParallel around it (the model itself for world size 1).

        DDP copies rank 0's weights and buffers to every rank now, averages the gradients in every backward pass and
        copies rank 0's buffers (BatchNorm's running averages) to the others before every training forward pass.
        """
        if self.world_size == 1:
            return model
        # A 1x1 convolution's weight gradient may come back with other strides for its size-1 dimensions than the
        # weight (the same memory order); DDP then warns that it copies it. Harmless, and not the learner's doing.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        device_ids = (
            [self.device.index] if self.device is not None and self.device.type == "cuda" else None
        )
        return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)

    def describe(self, global_batch: int, model: nn.Module | None = None) -> dict:
        """The facts of this job for the history: ranks, backend, device, per-rank and global batch, SyncBatchNorm."""
        return {
            "world_size": self.world_size,
            "backend": self.backend,
            "device": str(self.device) if self.device is not None else None,
            "global_batch": global_batch,
            "per_rank_batch": self.per_rank_batch(global_batch),
            "sync_batchnorm": model is not None
            and any(isinstance(m, nn.SyncBatchNorm) for m in model.modules()),
        }

    def close(self) -> None:
        """Leave the process group (at the end of a run, on every rank)."""
        if self.world_size > 1 and torch_dist.is_initialized():
            torch_dist.destroy_process_group()


SINGLE_PROCESS = Distributed()


def _env_int(name: str, low: int = 0, high: int | None = None) -> int:
    """The environment variable ``name`` as a whole number in [low, high] (unset: 1 for WORLD_SIZE), or a ValueError
    naming the variable, its value and what torchrun would have set."""
    value = os.environ.get(name, "1" if name == "WORLD_SIZE" else "")
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        allowed = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ValueError(
            f"The environment variable {name} is {value!r}; it must be a whole number {allowed}. "
            f"torchrun sets it; outside torchrun, unset it (unset {name}) to train in one process."
        )
    return number


def from_environment(device: str = "auto", *, timeout: float = DEFAULT_TIMEOUT) -> Distributed:
    """Join the process group described by torchrun's environment, or :data:`SINGLE_PROCESS` outside torchrun.

    Args:
        device: as :func:`~resnext_edu.device.pick_device` ("auto", "cpu", "cuda"); on CUDA each rank takes GPU
            ``LOCAL_RANK`` (MPS has no process-group backend: use "cpu" on a Mac).
        timeout: seconds to wait for the other ranks, when joining and in every later collective.

    Raises:
        DistributedSetupError: the group could not be formed (the message names the address and what to check).
    """
    world_size = _env_int("WORLD_SIZE", low=1)
    if world_size == 1:
        return SINGLE_PROCESS
    missing = [
        k for k in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
    ]
    if missing:
        raise DistributedSetupError(
            f"WORLD_SIZE is {world_size} but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Start "
            f"distributed runs with torchrun (e.g. torchrun --nproc_per_node=2 -m "
            f"resnext_edu train ...), which sets them all; for one process, unset WORLD_SIZE."
        )
    rank, local_rank = (
        _env_int("RANK", high=world_size - 1),
        _env_int("LOCAL_RANK", high=world_size - 1),
    )
    if not timeout > 0:
        raise ValueError(
            f"The process-group timeout must be a positive number of seconds, got {timeout!r}."
        )
    device = pick_device(device)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DistributedSetupError(
                f"Local rank {local_rank} needs GPU {local_rank}, but this machine shows "
                f"{torch.cuda.device_count()} GPU(s). Start at most that many processes per "
                f"machine (--nproc_per_node), or check CUDA_VISIBLE_DEVICES."
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    address = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    try:
        torch_dist.init_process_group(
            backend,
            timeout=timedelta(seconds=timeout),
            device_id=device if backend == "nccl" else None,
        )
    except Exception as error:
        raise DistributedSetupError(
            f"Rank {rank} of {world_size} could not join the process group at {address} ({backend}) within "
            f"{timeout:g} s: {type(error).__name__}: {error}. Check that every machine can reach that address and "
            f"port (firewall; torchrun's --rdzv-endpoint), that all were started with the same --nnodes and "
            f"--nproc_per_node, or allow more time with --dist-timeout."
        ) from error
    return Distributed(rank, world_size, local_rank, device, backend, float(timeout))


def scaled_lr(lr: float, global_batch: int, rule: str = "none") -> float:
    """The peak learning rate to train a global batch of ``global_batch`` images with.

    * "none" (the default): ``lr`` as given. ``--batch-size`` is the global batch, so running on more ranks does not
      change the SGD steps and needs no other learning rate: 4 ranks x 32 images take the steps of 1 x 128.
    * "linear": ``lr * global_batch / 128``, the linear scaling rule (Goyal et al. 2017, "Accurate, Large Minibatch
      SGD"), relative to the paper's CIFAR recipe of lr 0.1 at batch 128: ``--lr 0.1 --batch-size 512`` trains at
      lr 0.4. For when you raise the global batch itself; large batches also want a warm-up (``--warmup``).
    """
    if rule not in LR_RULES:
        raise ValueError(
            f"The learning-rate scaling rule must be one of {', '.join(LR_RULES)}, got {rule!r}."
        )
    return lr * global_batch / REFERENCE_BATCH if rule == "linear" else lr


def describe_lr(lr: float, global_batch: int, rule: str) -> str:
    """The learning rate and how it was reached, in words (printed at the start of a run)."""
    if rule == "linear":
        return (
            f"lr {scaled_lr(lr, global_batch, rule):g} = {lr:g} x {global_batch} / {REFERENCE_BATCH} "
            f"(linear scaling rule, reference batch {REFERENCE_BATCH})"
        )
    return f"lr {lr:g} for the global batch of {global_batch} (as given: --lr-scaling none)"


def sync_batchnorm(model: nn.Module, distributed: Distributed) -> nn.Module:
    """Replace every BatchNorm by SyncBatchNorm, which normalises by the statistics of the whole global batch.

    With N ranks, plain BatchNorm sees each rank's B / N images only; SyncBatchNorm gathers the statistics from all
    ranks in every forward pass (a little slower). The weights and running averages keep their names, so checkpoints
    load either way. PyTorch implements it for GPUs only; for world size 1 the model is returned unchanged.
    """
    if distributed.world_size == 1:
        return model
    if distributed.device is None or distributed.device.type != "cuda":
        raise ValueError(
            "SyncBatchNorm (--sync-bn) needs CUDA GPUs: PyTorch does not implement it for CPU "
            "processes. Leave out --sync-bn on CPU (each rank then normalises its own part of the "
            "batch, like plain BatchNorm with a smaller batch)."
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)

"""What :func:`resnext_edu.train.fit` shows while it trains: a progress bar with the epoch's running
loss, accuracy and speed, and one line after each epoch (lesson 06).

The losses and correct answers of the steps stay on the device until fit reads them (reading a
number from a GPU makes the CPU wait for it); :class:`EpochTally` keeps them and adds up what was
read.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor
from tqdm.auto import tqdm

from .distributed import Distributed


def progress_bar(steps: int, show: bool) -> tqdm:
    """A bar over ``steps`` SGD steps (hidden where ``show`` is false), closed by ``with bar:``."""
    return tqdm(total=steps, disable=not show, unit="step", dynamic_ncols=True)


class EpochTally:
    """The losses and correct answers of one epoch's steps, and the sums of those read so far.

    Args:
        bar: the run's progress bar; :meth:`count` moves it and shows the running figures.
        batch_size: the global batch (images per step over all ranks).
        distributed: this process's place in the job; the figures are over all ranks.
    """

    def __init__(self, bar: tqdm, batch_size: int, distributed: Distributed):
        self.bar = bar
        self.batch_size = batch_size
        self.dist = distributed
        self.losses, self.hits = [], []  # per step, on the device
        self.checked = 0  # steps whose loss has been read
        self.loss_sum, self.hit_sum = 0.0, 0  # their losses and correct answers
        self.started = time.perf_counter()

    def add(self, loss: Tensor, logits: Tensor, labels: Tensor) -> None:
        """Keep one step's loss and its number of correct answers, on the device."""
        self.losses.append(loss.detach().float())
        self.hits.append((logits.detach().argmax(1) == labels).sum())

    def unread_losses(self) -> Tensor:
        """The loss of each step since the last read, averaged over the ranks (the global batch's
        loss), on the CPU: steps ``checked``, ``checked + 1``, ..."""
        return self.dist.mean_over_ranks(torch.stack(self.losses[self.checked :])).cpu()

    def count(self, losses: Tensor) -> None:
        """Add ``losses`` (from :meth:`unread_losses`) and the same steps' correct answers over all
        ranks to the sums, then move the bar and show the running loss, accuracy and img/s."""
        self.loss_sum += losses.sum().item()
        hits = self.dist.sum_over_ranks(torch.stack(self.hits[self.checked :]))
        self.hit_sum += hits.sum().item()
        self.bar.update(len(losses))
        self.checked += len(losses)
        images = self.checked * self.batch_size
        speed = images / (time.perf_counter() - self.started)
        self.bar.set_postfix(
            loss=f"{self.loss_sum / self.checked:.3f}",
            acc=f"{self.hit_sum / images:.1%}",
            img_s=f"{speed:,.0f}",
            refresh=False,
        )

    def summary(self, train_seconds: float) -> dict:
        """The epoch's training figures once every step is read: mean loss, accuracy (on the
        augmented batches), its training time and speed."""
        images = self.checked * self.batch_size
        return {
            "train_loss": self.loss_sum / self.checked,
            "train_acc": self.hit_sum / images,
            "train_seconds": train_seconds,
            "img_per_s": images / train_seconds,
        }


def epoch_line(record: dict, epochs: int) -> str:
    """The line printed after each epoch, from its record in the history."""
    test = "test set not evaluated"
    if record["test_acc"] is not None:
        test = f"test loss {record['test_loss']:.3f} acc {record['test_acc']:.1%}"
    train = f"train loss {record['train_loss']:.3f} acc {record['train_acc']:.1%}"
    speed = f"{record['img_per_s']:,.0f} img/s, {record['seconds']:.1f} s"
    return f"epoch {record['epoch']}/{epochs}: {train} | {test} | {speed}"

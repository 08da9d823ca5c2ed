"""The stop for a run whose weights have diverged, with a message that says what to try (lesson 06).

:func:`resnext_edu.train.fit` reads its losses every few steps and hands them to
:func:`check_divergence`: a loss that is NaN, infinite or more than ``DIVERGED`` times a uniform
guess's (ln(classes), 2.30 for CIFAR-10) stops the run with :class:`TrainingDiverged` before a
broken epoch is saved, so the last good checkpoint stays as it was.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

DIVERGED = 10  # a loss above 10 x ln(classes), ten times a uniform guess's, has diverged


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite or far above its start. The message names the epoch, the
    step and what to try; ``summary`` says the same without the advice."""


def check_divergence(
    losses: Tensor,
    *,
    classes: int,
    epoch: int,
    first_step: int,
    steps: int,
    lr: float,
    peak_lr: float,
    checkpoint: Path | None,
) -> None:
    """Raise :class:`TrainingDiverged` if one of ``losses`` is NaN, infinite or above ``DIVERGED``
    x ln(``classes``). They are the losses of steps ``first_step``, ``first_step + 1``, ... of
    ``epoch`` (0-based; ``steps`` per epoch), the last taken at learning rate ``lr``. The message
    says to resume ``checkpoint`` (if written) with a tenth of ``peak_lr``, or to start again."""
    limit = DIVERGED * math.log(classes)
    bad = (~torch.isfinite(losses) | (losses > limit)).nonzero()
    if len(bad) == 0:
        return
    step = first_step + bad[0].item()
    loss = losses[bad[0]].item()
    why = f", more than {DIVERGED} x ln(classes) = {limit:.1f}" if math.isfinite(loss) else ""
    summary = (
        f"The training loss became {loss:.4g}{why} at epoch {epoch + 1}, step {step + 1} of "
        f"{steps} (learning rate {lr:.3g}): the weights have diverged."
    )
    if checkpoint is not None and checkpoint.exists():
        advice = (
            f"The last good checkpoint is kept unchanged at {checkpoint}: continue it with a "
            f"tenth of the peak lr, --resume --lr {peak_lr / 10:.3g} (resume=True with "
            f"TrainConfig(lr=...)), which applies from its next step; divide again if it diverges "
            f"again."
        )
    else:
        advice = (
            f"Nothing had been saved yet: start again with a smaller lr (e.g. "
            f"{peak_lr / 10:.3g}, a tenth of the peak) or a longer warm-up."
        )
    error = TrainingDiverged(
        f"{summary} The usual cause is a learning rate that is too high. {advice}"
    )
    error.summary = summary  # without the advice: a sweep gives its own
    raise error

"""What :func:`resnext_edu.train.fit` checks before its first step, so that a mistake costs a second, not an epoch.

The data must be a :class:`~resnext_edu.data.CIFAR10Data`, the model a module, and the model must output at least
one score per class of the data: a 5-class model on 10-class data would otherwise fail deep inside the loss with
an IndexError (or, on a GPU, an assertion far from its cause). Lesson 06.
"""

from __future__ import annotations

import torch
from torch import nn

from .augment import eval_batches
from .data import CIFAR10Data


def check_model_and_data(model, data) -> None:
    """Raise a TypeError unless ``model`` is a torch module and ``data`` a CIFAR10Data (from ``load_cifar10``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, e.g. resnext_edu.models.create('resnext29_4x16d'), got "
            f"{type(model).__name__}."
        )
    if not isinstance(data, CIFAR10Data):
        raise TypeError(
            f"data must be a CIFAR10Data from resnext_edu.data.load_cifar10(...) (or "
            f"dataset='synthetic'), got {type(data).__name__}."
        )


@torch.no_grad()
def check_classes(model: nn.Module, data: CIFAR10Data, precision) -> None:
    """Run one test image through ``model`` (eval mode: no BN statistics change) and refuse a model whose output
    has fewer scores than ``data`` has classes, naming both and the fix."""
    was_training = model.training
    model.eval()
    try:
        x, _ = next(
            eval_batches(
                data.test_images[:1], data.test_labels[:1], 1, channels_last=precision.channels_last
            )
        )
        with precision.autocast_context(data.device.type):
            out = model(x)
    finally:
        model.train(was_training)
    classes = len(data.classes)
    if out.dim() != 2 or out.shape[1] < classes:
        made = "resnext_edu.models.create(name, num_classes=...)"
        raise ValueError(
            f"The model gives {tuple(out.shape)} scores for one image, but the data have {classes} "
            f"classes (labels 0 to {classes - 1}): it needs one score per class, shape (1, {classes}). "
            f"Build it with num_classes={classes} ({made})."
        )

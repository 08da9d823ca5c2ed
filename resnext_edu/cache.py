"""The CIFAR-10 tensor cache (``data/cifar10-uint8.pt``): written once the first source works, checked on reading.

The cache is read with ``torch.load(weights_only=True)``, which unpickles only tensors, numbers and strings; a file
it refuses is never loaded any other way (unpickling a file you did not make can run any code). Every field is
checked before the data reach a model, so a damaged or hand-made cache is named with what to do, never an
IndexError deep in the loss. Used by :func:`resnext_edu.data.load_cifar10` (lessons 01, 05, 06).
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import torch
from torch import Tensor

from .files import atomic_write, portable


class CorruptDataError(ValueError):
    """A cache file or image folder exists but cannot be read as CIFAR-10; the message names the file."""


def read_cache(path: Path) -> tuple[dict, str | None]:
    """The cached data set's fields (those of :class:`~resnext_edu.data.CIFAR10Data`) and the image folder it was
    read from (None: another source), checked field by field: a dict of the expected fields, (N, 3, 32, 32) uint8
    images with (N,) int64 labels in range, every class with training images. Raises :class:`CorruptDataError`
    naming the file and what to do."""

    def corrupt(what: str) -> CorruptDataError:
        return CorruptDataError(
            f"The CIFAR-10 cache {path} {what}. Delete it; it is rebuilt from the next source "
            f"that works."
        )

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # weights_only refused it: never advise weights_only=False
        raise corrupt(
            "holds Python objects that are not tensors, numbers or strings, so torch.load(weights_only="
            "True) refused it; this package never writes such a cache: the file was replaced. Do not load "
            "it with weights_only=False: unpickling a file you did not make can run any code"
        ) from None
    except Exception as error:
        raise corrupt(f"is truncated or corrupt ({type(error).__name__})") from error
    fields = ("train_images", "train_labels", "test_images", "test_labels", "classes", "source")
    if not isinstance(state, dict) or any(k not in state for k in fields):
        raise corrupt(f"is not a CIFAR-10 cache (it lacks some of {', '.join(fields)})")
    classes = state["classes"]
    if not (
        isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes)
    ):
        raise corrupt(f"has a malformed class list {classes!r}")
    for split in ("train", "test"):
        images, labels = state[f"{split}_images"], state[f"{split}_labels"]
        if (
            not (isinstance(images, Tensor) and isinstance(labels, Tensor))
            or images.dtype != torch.uint8
            or images.dim() != 4
            or tuple(images.shape[1:]) != (3, 32, 32)
            or not len(images)
            or labels.dtype != torch.int64
            or tuple(labels.shape) != (len(images),)
        ):
            raise corrupt(
                f"holds {split} images of shape {tuple(getattr(images, 'shape', ()))} "
                f"({getattr(images, 'dtype', type(images).__name__)}) with labels of shape "
                f"{tuple(getattr(labels, 'shape', ()))} ({getattr(labels, 'dtype', type(labels).__name__)}),"
                f" expected (N, 3, 32, 32) uint8 with (N,) int64 labels"
            )
        if labels.min() < 0 or labels.max() >= len(classes):
            raise corrupt(
                f"holds {split} labels from {labels.min()} to {labels.max()}, outside 0 to "
                f"{len(classes) - 1} (its {len(classes)} classes)"
            )
    missing = sorted(set(range(len(classes))) - set(state["train_labels"].tolist()))
    if missing:
        raise corrupt(
            f"has no training image of class(es) {', '.join(classes[i] for i in missing)}"
        )
    folder = state.get("image_folder")
    data = {
        **{k: state[k] for k in fields},
        "synthetic": bool(state.get("synthetic", False)),
        "source": f"{_portable_paths(state['source'])} (cached in {portable(path)})",
    }
    return data, folder if isinstance(folder, str) else None


def _portable_paths(text: str) -> str:
    """``text`` with each absolute path in it shown by :func:`~resnext_edu.files.portable` (a cache written by an
    older version names its image folder by its absolute path; results made from it must not)."""
    return re.sub(r"(?<![\w.])/[^\s(),;]+", lambda m: portable(m.group()), str(text))


def write_cache(path: Path, data, image_folder: str | None = None) -> None:
    """Save ``data`` (a :class:`~resnext_edu.data.CIFAR10Data`) to ``path`` atomically (a killed write leaves the
    old cache whole), with the image folder it was read from."""
    state = {
        k: getattr(data, k)
        for k in (
            "train_images",
            "train_labels",
            "test_images",
            "test_labels",
            "classes",
            "source",
            "synthetic",
        )
    }
    state["image_folder"] = (
        image_folder  # an explicit data_dir uses the cache only if it was read from there
    )
    atomic_write(path, lambda tmp: torch.save(state, tmp))

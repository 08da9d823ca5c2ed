"""The files of a training run: its history, its checkpoint, how it resumes, which model it fits (lesson 06).

:func:`resnext_edu.train.fit` writes ``checkpoint.pt`` (and ``history.json``) into its ``out_dir`` after every
epoch, through :func:`resnext_edu.files.atomic_write`, so an interruption leaves the last whole epoch. A checkpoint
holds tensors and plain data only, so ``torch.load(..., weights_only=True)`` reads it without running any code:

* the model's, optimiser's, schedule's and gradient scaler's ``state_dict``;
* the random-number state (the data order needs none: each epoch's batches derive from (seed, epoch));
* the model's *identity* (class, config, tensor shapes), so resuming with another model is refused
  (:class:`CheckpointMismatch`) instead of loading weights into the wrong architecture;
* the training config and the history so far.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path

import torch
from torch import nn

from .counting import count
from .files import atomic_write
from .models import ResNeXt, name_of
from .provenance import describe

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
FORMAT = 1


class CheckpointMismatch(ValueError):
    """A checkpoint belongs to another model; the message names the file and both models."""


def model_name(model: nn.Module) -> str:
    """The registered family name of a :class:`~resnext_edu.models.ResNeXt` (``resnext29_4x16d``), else its class."""
    return name_of(model.config) if isinstance(model, ResNeXt) else type(model).__name__


def model_identity(model: nn.Module) -> dict:
    """What makes a checkpoint fit a model: its class, its config (when it has one) and its tensor shapes."""
    config = getattr(model, "config", None)
    identity = {"class": type(model).__name__,
                "config": asdict(config) if is_dataclass(config) else None,
                "shapes": {k: list(v.shape) for k, v in model.state_dict().items()}}
    return json.loads(json.dumps(identity))  # tuples -> lists, so a loaded copy compares equal


def new_history(model: nn.Module, data, train_config, precision, device: torch.device, dist) -> dict:
    """The history of a new run: model (with params and MACs per 32x32 image), data, settings, provenance."""
    counts = count(model)
    history = {"format": "resnext-edu training history v1",
               "model": {"name": model_name(model), "config": model_identity(model)["config"],
                         "params": counts.params, "macs": counts.macs,
                         "units": "params: learnable numbers; macs: multiply-accumulates per 32x32 image"},
               "data": {"source": data.source, "synthetic": data.synthetic, "train_images": len(data.train_labels),
                        "test_images": len(data.test_labels)},
               "config": asdict(train_config),
               "precision": {"name": precision.name, "channels_last": precision.channels_last,
                             "grad_scaler": precision.grad_scaler, "reason": precision.reason},
               "provenance": describe(device), "resumed": [], "epochs": []}
    if dist.world_size > 1:
        history["distributed"] = dist.describe(train_config.batch_size, model)
    return history


def save_checkpoint(path: str | os.PathLike, model: nn.Module, optimizer, scheduler, scaler, epochs_done: int,
                    train_config, history: dict) -> None:
    """Write everything a resume needs (module docstring), atomically."""
    state = {"format": FORMAT, "epoch": epochs_done, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
             "rng": {"torch": torch.get_rng_state(),
                     "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
             "data_seed": train_config.seed,  # each epoch's batches come from epoch_generator(seed, epoch), no state
             "identity": model_identity(model), "train_config": asdict(train_config), "history": history}
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None) -> dict:
    """Read a checkpoint written by :func:`~resnext_edu.train.fit` (``weights_only=True``: tensors and plain data).

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


def restore(state: dict, model: nn.Module, optimizer, scheduler, scaler, device: torch.device) -> None:
    """Put a loaded checkpoint's weights, optimiser, schedule, scaler and random state back (in place)."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    if device.type == "cuda" and state["rng"]["cuda"]:
        for index, rng in enumerate(state["rng"]["cuda"][:torch.cuda.device_count()]):  # saved on more GPUs?
            torch.cuda.set_rng_state(rng, index)


def refuse_to_overwrite(checkpoint: Path) -> None:
    """Raise FileExistsError if a new run would replace ``checkpoint`` (an earlier run's work)."""
    if checkpoint.exists():
        raise FileExistsError(f"{checkpoint} is from an earlier run. Continue it with resume=True (--resume), "
                              f"pick another out_dir (--out), or pass overwrite=True (--overwrite) to replace it.")


def resumed_history(state: dict, train_config, checkpoint: Path, device: torch.device, dist) -> tuple[int, dict]:
    """The epochs done and the history of a loaded checkpoint, noting this resume; warns (on rank 0) about any
    training setting that changed since the checkpoint was written (the rest of the run uses the new ones)."""
    saved = state["train_config"]
    changed = {k: (v, getattr(train_config, k)) for k, v in saved.items() if getattr(train_config, k) != v}
    if changed and dist.is_main:
        warnings.warn(f"Resuming {checkpoint} with changed settings {changed} (saved, now); the rest of the run "
                      f"uses the new ones.", stacklevel=3)
    start, history = state["epoch"], state["history"]
    history["config"] = asdict(train_config)
    history["resumed"].append({"at_epoch": start, "world_size": dist.world_size, "provenance": describe(device)})
    return start, history

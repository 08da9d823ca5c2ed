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
import pickle
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path

import torch
from torch import nn

from .counting import count
from .files import atomic_write, check_out_folder, remove_stale_temps, write_json
from .models import ResNeXt, name_of
from .provenance import describe

CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"
FORMAT = 1
# What a resume reads from a checkpoint (save_checkpoint writes them all)
KEYS = (
    "format",
    "epoch",
    "model",
    "optimizer",
    "scheduler",
    "scaler",
    "rng",
    "identity",
    "train_config",
    "history",
)
# Optimiser settings that a resume with new values applies after loading (the schedule, epochs and batch size
# follow the new config anyway: the schedule is recomputed from them at every step)
OPTIMIZER_SETTINGS = {
    "lr": "initial_lr",
    "weight_decay": "weight_decay",
    "momentum": "momentum",
    "nesterov": "nesterov",
}


class CheckpointMismatch(ValueError):
    """A checkpoint belongs to another model; the message names the file and both models."""


class CheckpointDamaged(ValueError):
    """A checkpoint cannot be read or resumed (truncated, planted, another format); ``path`` and ``problem`` say
    which file and what is wrong with it, so a sweep can give its own advice."""

    def __init__(self, path: Path, problem: str, advice: str):
        super().__init__(f"The checkpoint {path} {problem}. {advice}")
        self.path, self.problem = path, problem


def model_name(model: nn.Module) -> str:
    """The registered family name of a :class:`~resnext_edu.models.ResNeXt` (``resnext29_4x16d``), else its class."""
    return name_of(model.config) if isinstance(model, ResNeXt) else type(model).__name__


def model_identity(model: nn.Module) -> dict:
    """What makes a checkpoint fit a model: its class, its config (when it has one) and its tensor shapes."""
    config = getattr(model, "config", None)
    identity = {
        "class": type(model).__name__,
        "config": asdict(config) if is_dataclass(config) else None,
        "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
    }
    return json.loads(json.dumps(identity))  # tuples -> lists, so a loaded copy compares equal


def new_history(
    model: nn.Module, data, train_config, precision, device: torch.device, dist
) -> dict:
    """The history of a new run: model (with params and MACs per 32x32 image), data, settings, provenance."""
    counts = count(model)
    history = {
        "format": "resnext-edu training history v1",
        "model": {
            "name": model_name(model),
            "config": model_identity(model)["config"],
            "params": counts.params,
            "macs": counts.macs,
            "units": "params: learnable numbers; macs: multiply-accumulates per 32x32 image",
        },
        "data": {
            "source": data.source,
            "synthetic": data.synthetic,
            "train_images": len(data.train_labels),
            "test_images": len(data.test_labels),
        },
        "config": asdict(train_config),
        "precision": {
            "name": precision.name,
            "channels_last": precision.channels_last,
            "grad_scaler": precision.grad_scaler,
            "reason": precision.reason,
        },
        "provenance": describe(device),
        "resumed": [],
        "epochs": [],
    }
    if dist.world_size > 1:
        history["distributed"] = dist.describe(train_config.batch_size, model)
    return history


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer,
    scheduler,
    scaler,
    epochs_done: int,
    train_config,
    history: dict,
) -> None:
    """Write everything a resume needs (module docstring) to ``path``, and the history as
    ``history.json`` beside it, each atomically."""
    state = {
        "format": FORMAT,
        "epoch": epochs_done,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
        "data_seed": train_config.seed,  # each epoch's batches come from epoch_generator(seed, epoch), no state
        "identity": model_identity(model),
        "train_config": asdict(train_config),
        "history": history,
    }
    atomic_write(path, lambda tmp: torch.save(state, tmp))
    write_json(Path(path).parent / HISTORY, history)


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None) -> dict:
    """Read a checkpoint written by :func:`~resnext_edu.train.fit` (``weights_only=True``: tensors and plain data).

    With ``model``, refuse a checkpoint of another model (:class:`CheckpointMismatch`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}. Train without resume first (it writes one after every "
            f"epoch), or point --out at the folder of the run you want to continue."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError
    ):  # weights_only refused it: never pass on torch's "weights_only=False"
        raise CheckpointDamaged(
            path,
            "holds Python objects that are not tensors, numbers or strings, so torch.load("
            "weights_only=True) refused it; fit() never writes such a file",
            "Do not load it with "
            "weights_only=False: unpickling a file you did not make can run any code. Delete it "
            "and train again, or resume from a checkpoint this package wrote.",
        ) from None
    except Exception as error:
        raise CheckpointDamaged(
            path,
            f"cannot be read ({type(error).__name__}): it is probably truncated (a write "
            f"killed half-way, a full disk)",
            "Delete it to train that run from the start, or give "
            "another --out (this file is left as it is).",
        ) from error
    missing = [k for k in KEYS if not isinstance(state, dict) or k not in state]
    if missing or state["format"] != FORMAT:
        problem = (
            f"lacks {', '.join(missing)}"
            if missing
            else f"has format {state['format']!r}, and this version of the package reads format {FORMAT}"
        )
        raise CheckpointDamaged(
            path,
            f"{problem}, so it cannot be resumed (it was not written by this package's "
            f"fit(), or by another version)",
            "Train without --resume into another --out, or "
            "delete it (its weights alone load with torch.load(..., weights_only=True)['model']).",
        )
    if model is not None:
        mine, theirs = model_identity(model), state.get("identity", {})
        if mine != theirs:
            what = (
                f"{theirs.get('config')} (class {theirs.get('class')})",
                f"{mine['config']} (class {mine['class']})",
            )
            if mine["config"] == theirs.get("config"):
                what = ("other tensor shapes", "these")
            raise CheckpointMismatch(
                f"The checkpoint {path} belongs to another model: it holds {what[0]}, but the "
                f"model to train is {what[1]}. Use the same model settings to resume, or "
                f"another --out folder for a new run (the checkpoint is left as it is)."
            )
    return state


def restore(
    state: dict,
    model: nn.Module,
    optimizer,
    scheduler,
    scaler,
    device: torch.device,
    train_config=None,
) -> dict:
    """Put a loaded checkpoint's weights, optimiser, schedule, scaler and random state back (in place).

    The optimiser's state holds the settings it was made with; a ``train_config`` whose lr, weight decay or
    momentum differ from the checkpoint's is applied after loading (the schedule's base lr too), so a resume with
    ``--lr`` trains with that lr from its next step. Returns ``{setting: [saved, applied]}`` of what changed."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    changed = (
        {}
        if train_config is None
        else {
            k: [state["train_config"].get(k), getattr(train_config, k)]
            for k in OPTIMIZER_SETTINGS
            if state["train_config"].get(k) != getattr(train_config, k)
        }
    )
    if changed:
        for group in optimizer.param_groups:
            group.update(
                {key: getattr(train_config, name) for name, key in OPTIMIZER_SETTINGS.items()}
            )
        scheduler.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        for group, factor in zip(
            optimizer.param_groups, scheduler.lr_lambdas
        ):  # the lr of the next step
            group["lr"] = group["initial_lr"] * factor(scheduler.last_epoch)
        scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]
    scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    if device.type == "cuda" and state["rng"]["cuda"]:
        for index, rng in enumerate(
            state["rng"]["cuda"][: torch.cuda.device_count()]
        ):  # saved on more GPUs?
            torch.cuda.set_rng_state(rng, index)
    return changed


def prepare_out_dir(out: Path | None, resume: bool, overwrite: bool) -> None:
    """Before any training: refuse an ``out`` that cannot be written (a file, a read-only place), a new run over an
    earlier one's checkpoint and a resume without a folder (``out`` None: nothing is written); remove the temporary
    files a killed write of the checkpoint or history left."""
    if out is None:
        if resume:
            raise ValueError(
                "resume needs out_dir (--out): the folder whose checkpoint.pt should be continued."
            )
        return
    check_out_folder(out, "out_dir (--out)", create=False)
    if not resume and not overwrite:
        refuse_to_overwrite(out / CHECKPOINT)
    remove_stale_temps(
        out / CHECKPOINT, out / HISTORY
    )  # the run's own files: no other process writes them


def refuse_to_overwrite(checkpoint: Path) -> None:
    """Raise FileExistsError if a new run would replace ``checkpoint`` (an earlier run's work)."""
    if checkpoint.exists():
        raise FileExistsError(
            f"{checkpoint} is from an earlier run. Continue it with resume=True (--resume), "
            f"pick another out_dir (--out), or pass overwrite=True (--overwrite) to replace it."
        )


def resumed_history(
    state: dict, train_config, checkpoint: Path, device: torch.device, dist
) -> tuple[int, dict]:
    """The epochs done and the history of a loaded checkpoint, noting this resume and every training setting that
    changed since the checkpoint was written (``[saved, now]``; :func:`restore` has applied them); warns on rank 0."""
    saved = state["train_config"]
    changed = {
        k: [v, getattr(train_config, k)]
        for k, v in saved.items()
        if getattr(train_config, k, v) != v
    }
    if changed and dist.is_main:
        warnings.warn(
            f"Resuming {checkpoint} at epoch {state['epoch']} with changed settings "
            f"{ {k: tuple(v) for k, v in changed.items()} } (saved, now): the rest of the run uses the new "
            f"ones (lr, weight decay and momentum were applied to the loaded optimiser); history.json "
            f"records the change.",
            stacklevel=4,
        )
    start, history = state["epoch"], state["history"]
    history["config"] = asdict(train_config)
    history["resumed"].append(
        {
            "at_epoch": start,
            "world_size": dist.world_size,
            "provenance": describe(device),
            "changed": changed,
        }
    )
    return start, history


def resume_from(
    checkpoint: Path, model, optimizer, scheduler, scaler, *, config, device, dist
) -> tuple[int, dict]:
    """Continue the run saved in ``checkpoint``: rank 0 reads it (:func:`load_checkpoint`), every
    rank puts its state back (:func:`restore`, a changed lr applied); returns the epochs done and
    the history with this resume noted (:func:`resumed_history`)."""
    state = dist.from_main(lambda: load_checkpoint(checkpoint, model))
    restore(state, model, optimizer, scheduler, scaler, device, config)
    return resumed_history(state, config, checkpoint, device, dist)

"""The sweep runner: one result file per (model, seed), written atomically; resumable; shareable (lesson 05).

Layout of an output folder::

    OUT/<run_id>.json         one finished run: config, settings, history, final metrics, provenance
    OUT/sweep-settings.json   the folder's settings, claimed atomically by the first sweep (folder.claim_settings)
    OUT/runs/<run_id>/        the run's working folder: checkpoint.pt + history.json (train.fit), owner.json
    OUT/sweep.log             one line per event: started, resumed, finished, skipped, busy, problem

Re-running the same command skips every run whose result file is there and resumes an interrupted run from its
last checkpoint (the epoch it had finished), so nothing finished is trained twice or lost. Each run is *owned* by
one process while it trains (``owner.json``: pid, host, start, command, created exclusively), so several sweeps
(a class, a Slurm array, GNU parallel on ``--list``'s commands) can write into the same folder: a run that another
live process owns is skipped with a message naming that process, and an owner that has died (same host, no such
process) is taken over, resuming from the checkpoint.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch

from ..data import CIFAR10Data, balanced_subset, load_cifar10, write_json
from ..provenance import code_fingerprint, command_line, describe, git_commit
from .configs import SweepConfig
from .folder import (FOLDER_SETTINGS, RESULT_FORMAT, RUNS, SETTINGS, acquire, check_out_folder, claim_settings,
                     log_event, release, remove_stale_temps, result_path)
from .results import ResultError, load_result
from .schema import check_settings


@dataclass(frozen=True)
class SweepSettings:
    """How every run of a sweep trains: the same for all its models and seeds (stored in every result file)."""

    # The defaults are the shipped lesson sweep's (resnext_edu/results/README.md): sized so that 18 runs fit in
    # about an hour on a busy 2-core CPU. On a GPU, raise subset (None: all 50,000) and epochs.
    epochs: int = 4                   # passes over the training images
    batch_size: int = 64              # images per SGD step (the paper: 128; half, for twice the steps in a short run)
    lr: float = 0.05                  # peak learning rate (the paper: 0.1 at batch 128; scaled linearly to 64)
    schedule: str = "onecycle"        # train.py's schedules; onecycle anneals to lr 0 in the last step
    warmup: float = 0.2               # fraction of the steps with a rising lr
    weight_decay: float = 5e-4        # the paper's CIFAR value
    dataset: str = "cifar10"          # "cifar10" or "synthetic" (for checking code only)
    subset: int | None = 5000         # training images: the first N, class-balanced; None: all 50,000
    test_subset: int | None = 1000    # test images evaluated after every epoch (the learning curves)
    final_test_subset: int | None = 5000  # test images of the final evaluation; None: all 10,000
    precision: str = "auto"           # train.py's precision ("auto": bf16 + channels_last where the CPU has it)

    def __post_init__(self):
        check_settings(self)          # refused here, before a sweep writes anything

    def train_config(self, seed: int, device: str = "auto"):
        from ..train import TrainConfig
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, schedule=self.schedule,
                           warmup=self.warmup, weight_decay=self.weight_decay, precision=self.precision,
                           seed=seed, device=device)


@dataclass(frozen=True)
class Run:
    """One (model, seed) of a sweep."""

    config: SweepConfig
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.config.key}_seed{self.seed}"


def plan(configs: list[SweepConfig], seeds, extra: list[tuple[list[SweepConfig], list[int]]] = ()) -> list[Run]:
    """Every (config, seed) of ``configs`` x ``seeds``, then of each (configs, seeds) in ``extra``.

    Seed by seed (all models with the first seed, then the second, ...), so that a sweep stopped half-way has
    comparable numbers for every model rather than all seeds of a few."""
    runs = [Run(c, s) for s in _check_seeds(seeds) for c in configs]
    for more, more_seeds in extra:
        runs += [Run(c, s) for s in _check_seeds(more_seeds) for c in more]
    return runs


def _check_seeds(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds):
        raise ValueError(f"Seeds are whole numbers >= 0, at least one, e.g. 0 1 2; got {seeds!r}.")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"Each seed once, please: got {seeds}.")
    return seeds


@dataclass
class SweepOutcome:
    """What a call to :func:`run_sweep` did, run ids per category."""

    out_dir: Path
    already_done: list[str] = field(default_factory=list)   # result file was there: skipped
    trained: list[str] = field(default_factory=list)        # trained (or resumed) and finished now
    busy: list[str] = field(default_factory=list)           # owned by another live sweep: left to it
    problems: list[str] = field(default_factory=list)       # messages about unreadable files (runs skipped)

    @property
    def complete(self) -> bool:
        return not self.busy and not self.problems


class SweepConflict(ValueError):
    """The output folder holds runs trained with other settings than the sweep asks for."""


def _settings_identity(settings: SweepSettings) -> dict:
    return asdict(settings)


def _differences(saved: dict, wanted: dict) -> dict:
    return {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}


# ---------------------------------------------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------------------------------------------

def session_provenance() -> dict:
    """What identifies the code of this process, taken when the sweep starts (not when a result is written: other
    commits may land while a long sweep runs)."""
    return {"git": git_commit(), "code_sha256": code_fingerprint(),
            "sweep_started": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def prepare_data(settings: SweepSettings, data_dir=None, data: CIFAR10Data | None = None) -> dict:
    """Load the data once: the training subset, the per-epoch test subset and the final test set."""
    if data is None:
        data = load_cifar10(data_dir, dataset=settings.dataset)
    from dataclasses import replace

    def test_part(n: int | None) -> CIFAR10Data:
        if n is None or n >= len(data.test_labels):
            return data
        keep = balanced_subset(data.test_labels, n, len(data.classes))
        return replace(data, test_images=data.test_images[keep], test_labels=data.test_labels[keep],
                       source=f"{data.source}; first {n:,} test images, class-balanced")

    train = data
    if settings.subset is not None and settings.subset > len(data.train_labels):
        raise ValueError(f"--subset {settings.subset:,} is more than the {len(data.train_labels):,} training images of "
                         f"{data.source}. Use at most {len(data.train_labels):,}, or all.")
    if settings.subset is not None and settings.subset < len(data.train_labels):
        keep = balanced_subset(data.train_labels, settings.subset, len(data.classes))
        train = replace(data, train_images=data.train_images[keep], train_labels=data.train_labels[keep],
                        source=f"{data.source}; first {settings.subset:,} training images, class-balanced")
    per_epoch = test_part(settings.test_subset)
    per_epoch = replace(per_epoch, train_images=train.train_images, train_labels=train.train_labels,
                        source=f"{train.source}" + (f"; per-epoch test: first {settings.test_subset:,} test images"
                                                    if per_epoch is not data else ""))
    return {"train": per_epoch, "final": test_part(settings.final_test_subset)}


def run_sweep(runs: list[Run], settings: SweepSettings, out_dir: str | os.PathLike, *, data_dir=None,
              data: CIFAR10Data | None = None, device: str = "auto", threads: int | None = None,
              command: str | None = None, progress: bool = True,
              on_epoch: Callable[[Run, dict, dict], None] | None = None,
              print_fn: Callable[[str], None] = print) -> SweepOutcome:
    """Train every run of ``runs`` that has no result file in ``out_dir`` yet (module docstring).

    Args:
        runs: from :func:`plan`.
        settings: the training settings shared by all runs.
        out_dir: the sweep's folder (created).
        data_dir, data: where CIFAR-10 comes from (``load_cifar10``), or already-loaded data.
        device: train.py's device ("auto": CUDA when available, else the CPU).
        threads: ``torch.set_num_threads`` for this process (None: leave PyTorch's choice).
        command: the command line stored in each result's provenance (default: this process's command line).
        progress: train.py's progress bar and epoch lines; without it, one short line per epoch.
        on_epoch: called as ``on_epoch(run, record, history)`` after each epoch (live plots in a notebook).

    Raises:
        SweepConflict: some runs in ``out_dir`` were trained with other settings (nothing is trained then).
    """
    out = check_out_folder(out_dir)
    command = command or command_line()
    threads_before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run(runs, settings, out, data_dir, data, device, command, progress, on_epoch, print_fn)
    finally:
        torch.set_num_threads(threads_before)      # a notebook's later cells keep their own setting


def _finished(path: Path, wanted: dict) -> tuple[str, str]:
    """Is ``path`` a valid result trained with ``wanted``? ("done", ""), ("bad", why) or ("other", the differences)."""
    try:
        saved = load_result(path).raw["settings"]
    except ResultError as error:
        return "bad", (f"{path} {error}; run {path.stem} is skipped. Move or delete the file to train that run "
                       f"again.")
    diff = _differences(saved, wanted)
    return ("other" if diff else "done"), ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in diff.items())


def _count_finished(outcome: SweepOutcome, path: Path, wanted: dict) -> None:
    """A result that appeared while this sweep ran (another sweep trained it): done only if its settings agree."""
    status, why = _finished(path, wanted)
    if status == "done":
        outcome.already_done.append(path.stem)
    else:
        outcome.problems.append(why if status == "bad" else f"{path} was trained with other settings ({why}); not "
                                f"counted as done. Move it away to train that run with this sweep's settings.")


def _run(runs, settings, out, data_dir, data, device, command, progress, on_epoch, print_fn) -> SweepOutcome:
    from ..train import fit, evaluate, resolve_device, resolve_precision

    session = session_provenance()
    outcome = SweepOutcome(out)
    wanted = _settings_identity(settings)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("The sweep lists a run twice; give each cardinality and seed once.")

    todo, conflicts = [], []
    for run in runs:                        # check everything before training anything
        path = result_path(out, run)
        if path.exists():
            status, why = _finished(path, wanted)
            if status == "done":
                outcome.already_done.append(run.run_id)
            elif status == "bad":                      # unreadable or malformed: named, skipped, the rest go on
                outcome.problems.append(why)
            else:
                conflicts.append(f"{path.name}: {why}")
            continue
        saved_settings = out / RUNS / run.run_id / SETTINGS
        if saved_settings.exists():
            try:
                saved = json.loads(saved_settings.read_text())
            except (OSError, ValueError):
                saved = None
            diff = _differences(saved, wanted) if isinstance(saved, dict) else {}
            if diff:
                conflicts.append(f"{saved_settings} (interrupted run): " +
                                 ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in diff.items()))
                continue
        todo.append(run)
    if conflicts:
        raise SweepConflict(f"{out} holds runs trained with other settings than this sweep asks for:\n  " +
                            "\n  ".join(conflicts) + "\nUse another --out folder for the new settings, or the "
                            "same settings to continue this sweep. Nothing was trained.")
    prepared = None
    if todo:             # the data decide what the settings can be (--subset, --batch-size): before anything is written
        prepared = prepare_data(settings, data_dir, data)
    diff = claim_settings(out, wanted, command)
    if diff:
        raise SweepConflict(f"{out} belongs to a sweep with other settings ({out / FOLDER_SETTINGS}): " +
                            ", ".join(f"{k} is {a!r} there, {b!r} here" for k, (a, b) in diff.items()) +
                            ". Use another --out folder for the new settings, or the same settings to continue that "
                            "sweep. Nothing was trained.")
    if prepared is not None:
        print_fn(f"data: {prepared['train'].source}")
    for message in outcome.problems:
        print_fn(f"problem: {message}")
        log_event(out, "problem", "", message)
    for run_id in outcome.already_done:
        log_event(out, "skipped", run_id, "(finished earlier)")
    if outcome.already_done:
        print_fn(f"{len(outcome.already_done)} of {len(runs)} runs already finished in {out}: skipped.")

    for index, run in enumerate(todo, 1):
        folder = out / RUNS / run.run_id
        owned, note = acquire(folder, command)
        if not owned:
            outcome.busy.append(run.run_id)
            print_fn(f"[{index}/{len(todo)}] {run.run_id}: another sweep is training it: {note} Skipped.")
            log_event(out, "busy", run.run_id, note)
            continue
        try:
            if result_path(out, run).exists():        # finished by another sweep meanwhile: done if its settings agree
                _count_finished(outcome, result_path(out, run), wanted)
                continue
            removed = remove_stale_temps(folder, result_path(out, run))
            if removed:
                note = (note + "; " if note else "") + (f"removed {len(removed)} temporary file(s) left by a killed "
                                                        f"write: {', '.join(p.name for p in removed)}")
            write_json(folder / SETTINGS, wanted)
            checkpoint = folder / "checkpoint.pt"
            resume = checkpoint.exists()
            c = run.config
            print_fn(f"[{index}/{len(todo)}] {run.run_id}: {'resuming' if resume else 'training'} {c.model_name} "
                     f"(C = {c.cardinality}, d = {c.bottleneck_width}, {c.params:,} params, {c.macs:,} MACs), "
                     f"seed {run.seed}" + (f" [{note}]" if note else ""))
            log_event(out, "resumed" if resume else "started", run.run_id, note)
            _train_one(run, settings, prepared, folder, out, device, command, resume, progress, on_epoch, print_fn,
                       session, fit, evaluate, resolve_device, resolve_precision)
            outcome.trained.append(run.run_id)
        finally:
            release(folder)
    for run_id in list(outcome.busy):                # finished by the other sweep while this one worked
        path = out / f"{run_id}.json"
        if path.exists():
            outcome.busy.remove(run_id)
            _count_finished(outcome, path, wanted)
    return outcome


def _train_one(run, settings, prepared, folder, out, device, command, resume, progress, on_epoch, print_fn,
               session, fit, evaluate, resolve_device, resolve_precision) -> None:
    torch.manual_seed(run.seed)                                  # the initial weights
    model = run.config.create()
    config = settings.train_config(run.seed, device)

    def callback(record: dict, history: dict) -> None:
        if not progress:
            print_fn(f"    epoch {record['epoch']}/{settings.epochs}: train acc {record['train_acc']:.1%}, "
                     f"test acc {record['test_acc']:.1%} ({record['img_per_s']:,.0f} img/s, {record['seconds']:.0f} s)")
        if on_epoch is not None:
            on_epoch(run, record, history)

    started = time.perf_counter()
    history = fit(model, prepared["train"], config, out_dir=folder, resume=resume, overwrite=not resume,
                  callback=callback, progress=progress)
    t0 = time.perf_counter()
    dev = resolve_device(device)
    final_data = prepared["final"].to(dev)
    final = evaluate(model, final_data, precision=resolve_precision(settings.precision, dev),
                     batch_size=config.eval_batch_size)
    final_seconds = time.perf_counter() - t0
    epochs = history["epochs"]
    per_epoch = sorted(e["train_seconds"] for e in epochs)
    speeds = sorted(e["img_per_s"] for e in epochs)
    result = {
        "format": RESULT_FORMAT,
        "run_id": run.run_id,
        "seed": run.seed,
        "config": run.config.as_dict(),
        "settings": _settings_identity(settings),
        "train_config": history["config"],
        "model": history["model"],
        "data": {**history["data"], "final_test_images": len(final_data.test_labels),
                 "final_test_source": prepared["final"].source},
        "precision": history["precision"],
        "final": {"test_acc": final["test_acc"], "test_loss": final["test_loss"],
                  "test_images": len(final_data.test_labels), "epochs": len(epochs),
                  "curve_test_acc": epochs[-1]["test_acc"], "train_acc": epochs[-1]["train_acc"],
                  "train_loss": epochs[-1]["train_loss"],
                  "seconds_per_epoch": per_epoch[len(per_epoch) // 2], "min_seconds_per_epoch": per_epoch[0],
                  "img_per_s": speeds[len(speeds) // 2],
                  "units": "acc: fraction correct; loss: mean cross-entropy (nats); seconds_per_epoch: median "
                           "training time of one epoch (no evaluation), min_seconds_per_epoch: the fastest one "
                           "(least disturbed by other programs); img_per_s: median training images/s"},
        "history": epochs,
        "resumed": history["resumed"],
        "provenance": {**describe(dev), "command": command, "cwd": os.getcwd(), "host": socket.gethostname(),
                       "pid": os.getpid(), "niceness": os.nice(0) if hasattr(os, "nice") else None,
                       "torch_threads": torch.get_num_threads(), "python_executable": sys.executable,
                       "machine": platform.machine(), **session,
                       "wall_seconds": epochs[-1]["elapsed_seconds"] + final_seconds,
                       "session_seconds": time.perf_counter() - started,
                       "notes": "wall_seconds: training + evaluation time of this run, all sessions (resumes) "
                                "together; session_seconds: the last session only; git and code_sha256: the "
                                "checkout's commit and the imported resnext_edu sources when this sweep started"},
    }
    write_json(result_path(out, run), result)
    log_event(out, "finished", run.run_id, f"test_acc={final['test_acc']:.4f} epochs={len(epochs)}")
    print_fn(f"    finished: test accuracy {final['test_acc']:.2%} on {len(final_data.test_labels):,} test images "
             f"-> {result_path(out, run)}")

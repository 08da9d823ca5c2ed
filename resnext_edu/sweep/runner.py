"""The sweep runner: one result file per (model, seed), written atomically; resumable; shareable (lesson 05).

Layout of an output folder::

    OUT/<run_id>.json         one finished run: config, settings, history, final metrics, provenance
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

from ..data import CIFAR10Data
from ..device import pick_device, resolve_precision
from ..files import write_json
from ..provenance import code_fingerprint, command_line, describe, git_commit
from ..train import evaluate, fit
from .folder import RESULT_FORMAT, RUNS, SETTINGS, acquire, log_event, release, result_path
from .settings import Run, SweepSettings, prepare_data



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
        device: as TrainConfig.device ("auto": CUDA, else Apple MPS, else the CPU).
        threads: ``torch.set_num_threads`` for this process (None: leave PyTorch's choice).
        command: the command line stored in each result's provenance (default: this process's command line).
        progress: train.py's progress bar and epoch lines; without it, one short line per epoch.
        on_epoch: called as ``on_epoch(run, record, history)`` after each epoch (live plots in a notebook).

    Raises:
        SweepConflict: some runs in ``out_dir`` were trained with other settings (nothing is trained then).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    command = command or command_line()
    threads_before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    session = _Session(settings, out, device, command, progress, on_epoch, print_fn, session_provenance())
    try:
        return _run(runs, session, data_dir, data)
    finally:
        torch.set_num_threads(threads_before)      # a notebook's later cells keep their own setting


@dataclass(frozen=True)
class _Session:
    """What every run of one :func:`run_sweep` call shares."""

    settings: SweepSettings
    out: Path                                       # the sweep's folder
    device: str                                     # as TrainConfig.device
    command: str                                    # stored in each result's provenance
    progress: bool                                  # train.fit's progress bar
    on_epoch: Callable[[Run, dict, dict], None] | None
    print_fn: Callable[[str], None]
    provenance: dict                                # session_provenance(), taken when the sweep started


def _run(runs: list[Run], session: _Session, data_dir, data) -> SweepOutcome:
    settings, out, print_fn = session.settings, session.out, session.print_fn
    outcome = SweepOutcome(out)
    wanted = _settings_identity(settings)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("The sweep lists a run twice; give each cardinality and seed once.")

    todo, conflicts = [], []
    for run in runs:                        # check everything before training anything
        path = result_path(out, run)
        if path.exists():
            try:
                saved = json.loads(path.read_text())
                if saved.get("format") != RESULT_FORMAT:
                    raise ValueError(f"format is {saved.get('format')!r}, not {RESULT_FORMAT!r}")
            except (ValueError, OSError) as error:
                outcome.problems.append(f"{path} is not a readable result ({error}); run {run.run_id} is skipped. "
                                        f"Move or delete the file to train that run again.")
                continue
            diff = _differences(saved.get("settings", {}), wanted)
            if diff:
                conflicts.append(f"{path.name}: " + ", ".join(f"{k} was {a!r}, now {b!r}"
                                                               for k, (a, b) in diff.items()))
            else:
                outcome.already_done.append(run.run_id)
            continue
        saved_settings = out / RUNS / run.run_id / SETTINGS
        if saved_settings.exists():
            try:
                diff = _differences(json.loads(saved_settings.read_text()), wanted)
            except ValueError:
                diff = {}
            if diff:
                conflicts.append(f"{saved_settings} (interrupted run): " +
                                 ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in diff.items()))
                continue
        todo.append(run)
    if conflicts:
        raise SweepConflict(f"{out} holds runs trained with other settings than this sweep asks for:\n  " +
                            "\n  ".join(conflicts) + "\nUse another --out folder for the new settings, or the "
                            "same settings to continue this sweep. Nothing was trained.")
    for message in outcome.problems:
        print_fn(f"problem: {message}")
        log_event(out, "problem", "", message)
    for run_id in outcome.already_done:
        log_event(out, "skipped", run_id, "(finished earlier)")
    if outcome.already_done:
        print_fn(f"{len(outcome.already_done)} of {len(runs)} runs already finished in {out}: skipped.")

    prepared = None
    for index, run in enumerate(todo, 1):
        folder = out / RUNS / run.run_id
        owned, note = acquire(folder, session.command)
        if not owned:
            outcome.busy.append(run.run_id)
            print_fn(f"[{index}/{len(todo)}] {run.run_id}: another sweep is training it: {note} Skipped.")
            log_event(out, "busy", run.run_id, note)
            continue
        try:
            if result_path(out, run).exists():        # finished by another sweep meanwhile
                outcome.already_done.append(run.run_id)
                continue
            if prepared is None:
                prepared = prepare_data(settings, data_dir, data)
                print_fn(f"data: {prepared['train'].source}")
            write_json(folder / SETTINGS, wanted)
            checkpoint = folder / "checkpoint.pt"
            resume = checkpoint.exists()
            c = run.config
            print_fn(f"[{index}/{len(todo)}] {run.run_id}: {'resuming' if resume else 'training'} {c.model_name} "
                     f"(C = {c.cardinality}, d = {c.base_width}, {c.params:,} params, {c.macs:,} MACs), "
                     f"seed {run.seed}" + (f" [{note}]" if note else ""))
            log_event(out, "resumed" if resume else "started", run.run_id, note)
            _train_one(run, session, prepared, folder, resume)
            outcome.trained.append(run.run_id)
        finally:
            release(folder)
    for run_id in list(outcome.busy):                # finished by the other sweep while this one worked
        if (out / f"{run_id}.json").exists():
            outcome.busy.remove(run_id)
            outcome.already_done.append(run_id)
    return outcome


def _train_one(run: Run, session: _Session, prepared: dict, folder: Path, resume: bool) -> None:
    """Train (or resume) one run in ``folder``, evaluate it on the final test set, write its result file."""
    settings, out, print_fn, on_epoch = session.settings, session.out, session.print_fn, session.on_epoch
    torch.manual_seed(run.seed)                                  # the initial weights
    model = run.config.create()
    config = settings.train_config(run.seed, session.device)

    def callback(record: dict, history: dict) -> None:
        if not session.progress:
            print_fn(f"    epoch {record['epoch']}/{settings.epochs}: train acc {record['train_acc']:.1%}, "
                     f"test acc {record['test_acc']:.1%} ({record['img_per_s']:,.0f} img/s, {record['seconds']:.0f} s)")
        if on_epoch is not None:
            on_epoch(run, record, history)

    started = time.perf_counter()
    history = fit(model, prepared["train"], config, out_dir=folder, resume=resume, overwrite=not resume,
                  callback=callback, progress=session.progress)
    t0 = time.perf_counter()
    dev = pick_device(session.device)
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
        "provenance": {**describe(dev), "command": session.command, "cwd": os.getcwd(), "host": socket.gethostname(),
                       "pid": os.getpid(), "niceness": os.nice(0) if hasattr(os, "nice") else None,
                       "torch_threads": torch.get_num_threads(), "python_executable": sys.executable,
                       "machine": platform.machine(), **session.provenance,
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

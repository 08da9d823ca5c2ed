"""The sweep runner: one result file per (model, seed), written atomically; resumable; shareable (lesson 05).

Layout of an output folder::

    OUT/<run_id>.json         one finished run: config, settings, history, final metrics, provenance
    OUT/sweep-settings.json   the folder's settings, claimed atomically by the first sweep (folder.claim_settings)
    OUT/runs/<run_id>/        the run's working folder: checkpoint.pt + history.json (train.fit), owner.json
    OUT/sweep.log             one line per event: started, resumed, finished, skipped, busy, diverged, damaged, problem

Re-running the same command skips every run whose result file is there and resumes an interrupted run from its
last checkpoint (the epoch it had finished), so nothing finished is trained twice or lost. Each run is *owned* by
one process while it trains (``owner.json``: pid, host, start, command, created exclusively), so several sweeps
(a class, a Slurm array, GNU parallel on ``--list``'s commands) can write into the same folder: a run that another
live process owns is skipped with a message naming that process, and an owner that has died (same host, no such
process) is taken over, resuming from the checkpoint.
"""

from __future__ import annotations

import os
import platform
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch

from ..data import CIFAR10Data
from ..device import pick_device, resolve_precision
from ..files import check_out_folder, remove_stale_temps, write_json
from ..provenance import code_fingerprint, command_line, describe, git_commit
from ..checkpoints import CheckpointDamaged, CheckpointMismatch
from ..train import TrainingDiverged, evaluate, fit
from .folder import (FOLDER_SETTINGS, RESULT_FORMAT, RUNS, SETTINGS, acquire, claim_settings,
                     log_event, release, result_path)
from .inventory import SweepConflict, SweepOutcome, count_finished, settings_identity, take_stock
from .settings import Run, SweepSettings, prepare_data


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
    pick_device(device)                            # a device this machine lacks: refused before anything is written
    out = check_out_folder(out_dir)
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
    wanted = settings_identity(settings)
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("The sweep lists a run twice; give each cardinality and seed once.")

    todo = take_stock(runs, out, wanted, outcome)
    prepared = None
    if todo:             # the data decide what the settings can be (--subset, --batch-size): before anything is written
        prepared = prepare_data(settings, data_dir, data)
    diff = claim_settings(out, wanted, session.command)
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
        owned, note = acquire(folder, session.command)
        if not owned:
            outcome.busy.append(run.run_id)
            print_fn(f"[{index}/{len(todo)}] {run.run_id}: another sweep is training it: {note} Skipped.")
            log_event(out, "busy", run.run_id, note)
            continue
        try:
            if result_path(out, run).exists():        # finished by another sweep meanwhile: done if its settings agree
                count_finished(outcome, result_path(out, run), wanted)
                continue
            removed = remove_stale_temps(result_path(out, run), folders=[folder])
            if removed:
                note = (note + "; " if note else "") + (f"removed {len(removed)} temporary file(s) left by a killed "
                                                        f"write: {', '.join(p.name for p in removed)}")
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
        except (TrainingDiverged, CheckpointDamaged, CheckpointMismatch) as error:   # this run only: the rest go on
            _failed(outcome, session, run, folder, error)
        finally:
            release(folder)
    for run_id in list(outcome.busy):                # finished by the other sweep while this one worked
        path = out / f"{run_id}.json"
        if path.exists():
            outcome.busy.remove(run_id)
            count_finished(outcome, path, wanted)
    return outcome


def _failed(outcome: SweepOutcome, session: _Session, run: Run, folder: Path, error: Exception) -> None:
    """Record a run that diverged or whose checkpoint is damaged (sweep.log, the outcome), naming what to delete."""
    if isinstance(error, TrainingDiverged):
        outcome.diverged.append(run.run_id)
        kept = (f"Its last good checkpoint is kept in {folder}." if (folder / "checkpoint.pt").exists() else
                "It had no finished epoch.")
        event, message = "diverged", (f"run {run.run_id} diverged: {error.summary} {kept} Every run of a sweep shares "
                                      f"its lr: sweep again with a smaller --lr into another --out, or delete {folder} "
                                      f"to train this run again.")
    else:
        outcome.damaged.append(run.run_id)
        problem = getattr(error, "problem", str(error))
        event, message = "damaged", (f"run {run.run_id}: its checkpoint {folder / 'checkpoint.pt'} {problem}. Delete "
                                     f"{folder} to train this run from the start (the other runs are not affected).")
    outcome.problems.append(message)
    session.print_fn(f"    problem: {message}")
    log_event(session.out, event, run.run_id, message)


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
        "settings": settings_identity(settings),
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
        "provenance": {**describe(dev), "command": session.command, "host": socket.gethostname(),
                       "pid": os.getpid(), "niceness": os.nice(0) if hasattr(os, "nice") else None,
                       "torch_threads": torch.get_num_threads(),
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

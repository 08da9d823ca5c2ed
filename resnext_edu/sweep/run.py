"""Running a sweep: its settings, and every (model, seed) trained into a result file of its own
(lesson 05).

A sweep's folder::

    OUT/<run_id>.json        one finished run, written whole (resnext_edu.files.write_json)
    OUT/sweep-settings.json  the settings of every run in the folder, written by the first sweep
    OUT/runs/<run_id>/       the run's lock, and checkpoint.pt and history.json while it trains

* A run whose result file exists is finished: it is not trained again. An interrupted one resumes
  from its checkpoint, the last epoch it finished.
* A run trains under an OS file lock (``filelock``), taken without waiting, so several sweeps may
  share a folder (a class, a Slurm array, GNU parallel over ``--list``'s commands): a run another
  process holds is skipped and named. The kernel drops a lock when its process dies, so a killed
  sweep leaves nothing to clean up.
* The first sweep creates ``sweep-settings.json`` exclusively (open mode ``"x"``); every other one
  compares its settings with it and is refused before it trains when they differ, also when two
  start at the same moment."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from ..checkpoints import CheckpointDamaged, CheckpointMismatch
from ..checks import check_choice, check_int, check_train_config
from ..data import CIFAR10Data, balanced_subset, load_cifar10
from ..device import PRECISIONS, pick_device, resolve_precision
from ..files import check_out_folder, remove_stale_temps, write_json
from ..options import check_types, flag, given, to_argv
from ..provenance import code_fingerprint, command_line, describe, git_commit
from ..train import SCHEDULES, TrainConfig, TrainingDiverged, evaluate, fit
from .configs import DEFAULT_TABLE4_CARDINALITIES, Run
from .results import RESULT_FORMAT, SETTINGS_FILE

RUNS = "runs"  # OUT/runs/<run_id>/: a run's lock and its files while it trains
SETTINGS_FORMAT = "resnext-edu sweep settings v1"
NOT_SETTINGS = ("seed", "device")  # TrainConfig fields that differ by run or by machine
DATASETS = {"cifar10": 50_000, "synthetic": 2_000}  # training images of each data set
UNITS = (
    "acc: fraction correct; loss: mean cross-entropy (nats); seconds_per_epoch: median "
    "training time of one epoch (no evaluation), min_seconds_per_epoch: the fastest one (least "
    "disturbed by other programs); img_per_s: median training images/s"
)

# What each budget trains with unless told otherwise: every setting written out, so that a changed
# default of TrainConfig does not change a budget's sweep. "lesson" is the shipped lesson sweep's
# (resnext_edu/results/ README.md: 18 runs in about an hour on a busy 2-core CPU); "full" is the
# fast recipe of benchmarks/README.md, section 3, without progressive resizing, on all images, as
# the shipped full sweep ran (lesson 05).
LESSON = {
    "epochs": 4,
    "batch_size": 64,
    "lr": 0.05,
    "momentum": 0.9,
    "nesterov": False,
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "warmup": 0.2,
    "label_smoothing": 0.0,
    "crop_padding": 4,
    "resize_schedule": (),
    "precision": "auto",
    "channels_last": None,
    "compile": False,
    "eval_batch_size": 500,
    "eval_from": 1,
    "dataset": "cifar10",
    "subset": 5000,
    "test_subset": 1000,
    "final_test_subset": 5000,
}
FULL = {
    **LESSON,
    "epochs": 10,
    "batch_size": 256,
    "lr": 0.4,
    "warmup": 0.25,
    "nesterov": True,
    "label_smoothing": 0.1,
    "crop_padding": 1,
    "subset": None,
    "test_subset": None,
    "final_test_subset": None,
}
RECIPES = {"lesson": LESSON, "full": FULL}


@dataclass(frozen=True)
class SweepSettings:
    """How every run of a sweep trains: a TrainConfig (each run sets its own seed) and the data."""

    train: TrainConfig = field(default_factory=TrainConfig)
    dataset: str = field(
        default="cifar10",
        metadata={"help": "cifar10, or synthetic: a small made-up set for checking the code"},
    )
    subset: int | None = field(
        default=None, metadata={"help": "training images, the first N class-balanced (all: 50,000)"}
    )
    test_subset: int | None = field(
        default=None,
        metadata={"help": "test images evaluated after every epoch, for the curves (all: 10,000)"},
    )
    final_test_subset: int | None = field(
        default=None, metadata={"help": "test images of the final evaluation (all: 10,000)"}
    )

    def __post_init__(self):
        check_settings(self)

    @classmethod
    def for_budget(
        cls, budget: str = "lesson", config_class=TrainConfig, **changes
    ) -> SweepSettings:
        """A budget's settings (:data:`RECIPES`; other budgets: the lesson's), with ``changes``."""
        values = {k: _tuples(v) for k, v in {**RECIPES.get(budget, LESSON), **changes}.items()}
        data = {f.name for f in fields(cls)} - {"train"}
        train = config_class(**{k: v for k, v in values.items() if k not in data})
        return cls(train, **{k: v for k, v in values.items() if k in data})

    def config(self, seed: int) -> TrainConfig:
        """The TrainConfig of the run with this seed."""
        return replace(self.train, seed=seed)

    def identity(self) -> dict:
        """What every run of a folder shares, as JSON stores it: every field of the TrainConfig but
        :data:`NOT_SETTINGS`, and the data. Stored in each result file and in
        ``sweep-settings.json``."""
        values = {f.name: getattr(self.train, f.name) for f in fields(self.train)}
        values.update({f.name: getattr(self, f.name) for f in fields(self)})
        for name in (*NOT_SETTINGS, "train"):
            del values[name]
        return json.loads(json.dumps(values))


def _tuples(value):
    """Lists (as JSON stores a tuple) as tuples, nested ones too."""
    return tuple(map(_tuples, value)) if isinstance(value, list) else value


def settings_from_args(args, budget: str, config_class=TrainConfig) -> SweepSettings:
    """The budget's settings, changed by every option given on the command line (``add_options``
    without defaults leaves the others out of ``args``)."""
    changes = {
        **given(args, config_class, skip=("seed",)),
        **given(args, SweepSettings, skip=("train",)),
    }
    return SweepSettings.for_budget(budget, config_class, **changes)


def sweep_argv(
    budget: str,
    cardinalities,
    seeds,
    settings: SweepSettings,
    out,
    *,
    table4: bool = False,
    table4_cardinalities=DEFAULT_TABLE4_CARDINALITIES,
    table4_seeds=None,
) -> list[str]:
    """The command line (as a list) that runs this sweep: the budget, and each setting that differs
    from the budget's (:data:`RECIPES`). What ``--list`` prints and lesson 05 shows."""
    argv = ["python", "-m", "resnext_edu", "sweep", "--budget", budget]
    argv += ["--cardinalities", *map(str, cardinalities), "--seeds", *map(str, seeds)]
    if table4:
        argv += ["--table4", "--table4-cardinalities", *map(str, table4_cardinalities)]
        if table4_seeds is not None:
            argv += ["--table4-seeds", *map(str, table4_seeds)]
    base = SweepSettings.for_budget(budget, type(settings.train))
    argv += to_argv(settings.train, skip=("seed",), unless_equal=base.train)
    argv += to_argv(settings, skip=("train",), unless_equal=base)
    return argv + ["--out", str(out)]


def check_settings(settings: SweepSettings) -> None:
    """Refuse settings no sweep can train with, before it writes anything (ValueError naming the
    option)."""
    check_types(settings)
    check_types(settings.train)
    check_train_config(settings.train, schedules=SCHEDULES, precisions=PRECISIONS)
    check_choice("--dataset", settings.dataset, DATASETS)
    for name in ("subset", "test_subset", "final_test_subset"):
        if getattr(settings, name) is not None:
            check_int(flag(name), getattr(settings, name), low=1, unit="images", hint="Or all.")
    _check_subset(settings.subset, DATASETS[settings.dataset], settings.dataset)
    images = settings.subset or DATASETS[settings.dataset]
    if settings.train.batch_size > images:
        raise ValueError(
            f"--batch-size {settings.train.batch_size:,} is larger than the {images:,} training "
            f"images, so an epoch would have no full batch. Use at most {images:,}, or a larger "
            f"--subset."
        )


def _check_subset(subset: int | None, images: int, of: str) -> None:
    if subset is not None and subset > images:
        raise ValueError(
            f"--subset {subset:,} is more than the {images:,} training images of {of}. Use at "
            f"most {images:,}, or all."
        )


def prepare_data(settings: SweepSettings, data_dir=None, data: CIFAR10Data | None = None) -> dict:
    """Load the data once: the training subset with the per-epoch test subset ("train"), and the
    final test set ("final"); each subset the first N class-balanced images."""
    data = data if data is not None else load_cifar10(data_dir, dataset=settings.dataset)
    _check_subset(settings.subset, len(data.train_labels), data.source)

    def part(of: CIFAR10Data, n: int | None, split: str, words: str) -> CIFAR10Data:
        images, labels = getattr(of, f"{split}_images"), getattr(of, f"{split}_labels")
        if n is None or n >= len(labels):
            return of
        keep = balanced_subset(labels, n, len(of.classes))
        return replace(
            of,
            **{f"{split}_images": images[keep], f"{split}_labels": labels[keep]},
            source=f"{of.source}; first {n:,} {words} images, class-balanced",
        )

    train = part(data, settings.subset, "train", "training")
    train = part(train, settings.test_subset, "test", "per-epoch test")
    return {"train": train, "final": part(data, settings.final_test_subset, "test", "test")}


class SweepConflict(ValueError):
    """The folder belongs to a sweep with other settings."""


def claim_folder(out: Path, settings: dict) -> None:
    """Record ``settings`` as the folder's, unless a sweep did so first: then they must be the same.

    The file is created exclusively, so of two sweeps starting together one writes it and the other
    compares."""
    path = out / SETTINGS_FILE
    try:
        with open(path, "x") as f:
            json.dump({"format": SETTINGS_FORMAT, "settings": settings}, f, indent=1)
        return
    except FileExistsError:
        pass
    for _ in range(50):  # the first sweep may be writing it this very moment
        try:
            recorded = json.loads(path.read_text())["settings"]
            break
        except (OSError, ValueError, KeyError, TypeError):
            time.sleep(0.1)
    else:
        raise ValueError(
            f"{path} records this folder's settings but cannot be read. If the folder holds no "
            f"results you want to keep, delete {path.name}; else restore it, or use another --out."
        )
    differ = [
        f"{k} is {recorded.get(k, 'missing')!r} there, {settings.get(k, 'missing')!r} here"
        for k in {**recorded, **settings}
        if recorded.get(k, "missing") != settings.get(k, "missing")
    ]
    if differ:
        raise SweepConflict(
            f"{out} belongs to a sweep with other settings ({path}): {', '.join(differ)}. Use "
            f"another --out folder for the new settings, or the same settings to continue that "
            f"sweep. Nothing was trained."
        )


@dataclass(frozen=True)
class RunOptions:
    """Where a sweep's data come from and how it reports; none of it changes what a run learns."""

    data_dir: str | os.PathLike | None = None  # a CIFAR-10 image folder (load_cifar10)
    data: CIFAR10Data | None = None  # or data already loaded
    threads: int | None = None  # torch.set_num_threads while the sweep runs; None: as it is
    command: str | None = None  # stored in each result (default: this process's command line)
    progress: bool = True  # train.fit's progress bar; else one short line per epoch
    on_epoch: Callable[[Run, dict, dict], None] | None = None  # (run, record, history): live plots
    print_fn: Callable[[str], None] = print


@dataclass
class SweepOutcome:
    """What a call to :func:`run_sweep` did: run ids per category, and the problems in words."""

    out_dir: Path
    already_done: list[str] = field(default_factory=list)  # a result file was there: skipped
    trained: list[str] = field(default_factory=list)  # trained (or resumed) and finished now
    busy: list[str] = field(default_factory=list)  # locked by another process: left to it
    diverged: list[str] = field(default_factory=list)  # stopped by train.fit's divergence check
    damaged: list[str] = field(default_factory=list)  # its checkpoint could not be resumed
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.busy or self.problems)


def result_path(out: Path, run: Run) -> Path:
    return Path(out) / f"{run.run_id}.json"


def run_sweep(
    runs: list[Run], settings: SweepSettings, out_dir, options: RunOptions = RunOptions()
) -> SweepOutcome:
    """Train every run of ``runs`` that has no result file in ``out_dir`` yet (the module docstring
    says how).

    Raises SweepConflict (nothing trained) when the folder belongs to a sweep with other
    settings."""
    pick_device(settings.train.device)  # a device this machine lacks: refused before any writing
    out = check_out_folder(out_dir)
    if len({r.run_id for r in runs}) != len(runs):
        raise ValueError("The sweep lists a run twice; give each cardinality and seed once.")
    outcome = SweepOutcome(out)
    todo = [r for r in runs if not result_path(out, r).exists()]
    outcome.already_done = [r.run_id for r in runs if r not in todo]
    prepared = prepare_data(settings, options.data_dir, options.data) if todo else None
    claim_folder(out, settings.identity())
    if outcome.already_done:
        done = len(outcome.already_done)
        options.print_fn(f"{done} of {len(runs)} runs already finished in {out}: skipped.")
    if prepared is not None:
        options.print_fn(f"data: {prepared['train'].source}")
    provenance = {
        "git": git_commit(),
        "code_sha256": code_fingerprint(),
        "sweep_started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": options.command or command_line(),
    }
    threads = torch.get_num_threads()
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    try:
        for index, run in enumerate(todo, 1):
            name = f"[{index}/{len(todo)}] {run.run_id}"
            _locked_run(run, name, settings, options, out, prepared, outcome, provenance)
    finally:
        torch.set_num_threads(threads)  # a notebook's later cells keep their own setting
    for run in runs:  # a busy run the other process finished meanwhile
        if run.run_id in outcome.busy and result_path(out, run).exists():
            outcome.busy.remove(run.run_id)
            outcome.already_done.append(run.run_id)
    return outcome


def _locked_run(run, name, settings, options, out, prepared, outcome, provenance) -> None:
    """Train one run under its lock, unless another process holds the lock or finished the run;
    a divergence or a damaged checkpoint becomes a problem of the outcome, and the sweep goes on."""
    folder = out / RUNS / run.run_id
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / "lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        outcome.busy.append(run.run_id)
        options.print_fn(f"{name}: another process is training it: skipped.")
        return
    problem = None
    try:
        if result_path(out, run).exists():  # finished by another process since this sweep started
            outcome.already_done.append(run.run_id)
            return
        remove_stale_temps(result_path(out, run), folders=[folder])  # what a killed write left
        resume = (folder / "checkpoint.pt").exists()
        c = run.config
        options.print_fn(
            f"{name}: {'resuming' if resume else 'training'} {c.model_name} (C = {c.cardinality}, "
            f"d = {c.base_width}, {c.params:,} params, {c.macs:,} MACs), seed {run.seed}"
        )
        result = _train_one(run, settings, options, folder, resume, prepared, provenance)
        write_json(result_path(out, run), result)
        outcome.trained.append(run.run_id)
        options.print_fn(
            f"    finished: test accuracy {result['final']['test_acc']:.2%} on "
            f"{result['final']['test_images']:,} test images -> {result_path(out, run)}"
        )
    except TrainingDiverged as error:
        outcome.diverged.append(run.run_id)
        kept = f"Its last good checkpoint is kept in {folder}. " if any(folder.glob("*.pt")) else ""
        problem = (
            f"run {run.run_id} diverged: {getattr(error, 'summary', error)} {kept}Every run of a "
            f"sweep shares its lr: sweep again with a smaller --lr into another --out, or delete "
            f"{folder} to train this run again."
        )
    except (CheckpointDamaged, CheckpointMismatch) as error:
        outcome.damaged.append(run.run_id)
        problem = (
            f"run {run.run_id}: its checkpoint {folder / 'checkpoint.pt'} "
            f"{getattr(error, 'problem', error)}. Delete {folder} to train this run from the start "
            f"(the other runs are not affected)."
        )
    finally:
        lock.release()
    if problem is not None:
        outcome.problems.append(problem)
        options.print_fn(f"    problem: {problem}")


def _train_one(run, settings, options, folder, resume, prepared, provenance) -> dict:
    """Train (or resume) one run in ``folder``, evaluate it on the final test set; return its
    result file's contents."""
    torch.manual_seed(run.seed)  # the initial weights
    model = run.config.create()
    config = settings.config(run.seed)

    def callback(record: dict, history: dict) -> None:
        if not options.progress:
            test = "-" if record["test_acc"] is None else f"{record['test_acc']:.1%}"
            options.print_fn(
                f"    {run.run_id} epoch {record['epoch']}/{config.epochs}: train acc "
                f"{record['train_acc']:.1%}, test acc {test} ({record['img_per_s']:,.0f} img/s)"
            )
        if options.on_epoch is not None:
            options.on_epoch(run, record, history)

    started = time.perf_counter()
    history = fit(
        model,
        prepared["train"],
        config,
        out_dir=folder,
        resume=resume,
        overwrite=not resume,
        callback=callback,
        progress=options.progress,
    )
    t0 = time.perf_counter()
    device = pick_device(config.device)
    final_data = prepared["final"].to(device)
    precision = resolve_precision(config.precision, device)
    final = evaluate(model, final_data, precision=precision, batch_size=config.eval_batch_size)
    epochs = history["epochs"]
    seconds = sorted(e["train_seconds"] for e in epochs)
    speeds = sorted(e["img_per_s"] for e in epochs)
    images = len(final_data.test_labels)
    return {
        "format": RESULT_FORMAT,
        "run_id": run.run_id,
        "seed": run.seed,
        "config": run.config.as_dict(),
        "settings": settings.identity(),
        "train_config": history["config"],
        "model": history["model"],
        "data": {
            **history["data"],
            "final_test_images": images,
            "final_test_source": prepared["final"].source,
        },
        "precision": history["precision"],
        "final": {
            **final,
            "test_images": images,
            "epochs": len(epochs),
            "curve_test_acc": epochs[-1]["test_acc"],
            "train_acc": epochs[-1]["train_acc"],
            "train_loss": epochs[-1]["train_loss"],
            "seconds_per_epoch": seconds[len(seconds) // 2],
            "min_seconds_per_epoch": seconds[0],
            "img_per_s": speeds[len(speeds) // 2],
            "units": UNITS,
        },
        "history": epochs,
        "resumed": history["resumed"],
        "provenance": {
            **describe(device),
            **provenance,
            "pid": os.getpid(),
            "torch_threads": torch.get_num_threads(),
            "wall_seconds": epochs[-1]["elapsed_seconds"] + time.perf_counter() - t0,
            "session_seconds": time.perf_counter() - started,
            "notes": "wall_seconds: training + evaluation time of this run, all sessions (resumes) "
            "together; session_seconds: the last session only; git and code_sha256: the "
            "checkout's commit and the imported resnext_edu sources when this sweep started",
        },
    }

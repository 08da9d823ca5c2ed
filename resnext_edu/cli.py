"""The command line: ``python -m resnext_edu {models,count,train,sweep,sweep-report} ...`` (and
``--version``; lessons 04-06).

``train`` builds a model and the data from its arguments and calls :func:`resnext_edu.train.fit`;
under torchrun every rank runs it, and rank 0 prints and writes (:mod:`resnext_edu.distributed`).
``sweep`` trains a complexity-matched sweep (:mod:`resnext_edu.sweep.run`), ``sweep-report``
tabulates and plots it. The training options of ``train`` and ``sweep`` are the fields of
:class:`~resnext_edu.train.TrainConfig` (:mod:`resnext_edu.options`).

Bad input ends with one line on stderr saying what was wrong and what to try, and exit code 2 (no
traceback); so does a file the system refuses (permission denied, a file where a folder belongs, a
full disk: any OSError)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import torch

from . import __version__, counting, models, options, sweep
from .checkpoints import CHECKPOINT, HISTORY
from .config import TrainConfig
from .counting import G, M
from .data import load_cifar10
from .device import pick_device
from .distributed import (
    DEFAULT_TIMEOUT,
    LR_RULES,
    Distributed,
    DistributedSetupError,
    describe_lr,
    from_environment,
    scaled_lr,
    sync_batchnorm,
)
from .divergence import TrainingDiverged
from .sweep.configs import DEFAULT_CARDINALITIES, DEFAULT_TABLE4_CARDINALITIES
from .train import fit


def _cmd_models(args: argparse.Namespace) -> int:
    print("Registered models (any resnext29_<C>x<d>d is accepted too):")
    for name in models.list_models(args.filter):
        config = models.config_for(name)
        print(
            f"  {name:<20} {config.template:<8} C={config.cardinality:<3} d={config.base_width:<3} "
            f"depth={config.depth}"
        )
    return 0


def _cmd_count(args: argparse.Namespace) -> int:
    overrides = {
        "stage_widths": args.stage_widths,
        "stem_width": args.stem_width,
        "num_classes": args.num_classes,
    }
    with torch.device("meta"):  # shapes only: any size is counted without memory
        model = models.create(args.model, **{k: v for k, v in overrides.items() if v is not None})
    counts = counting.count(model, args.input_size)
    counts.model = args.model
    if args.json:
        print(json.dumps(counts.as_dict(by_stage=args.by_stage)))
        return 0
    print(
        f"{args.model} at {counts.input_size}x{counts.input_size} input, "
        f"{model.config.num_classes} classes"
    )
    print(f"  params: {counts.params:>15,}  ({counts.params / M:.2f} M)")
    print(f"  MACs:   {counts.macs:>15,}  ({counts.macs / G:.3f} G multiply-accumulates per image)")
    print(f"  FLOPs:  {counts.flops:>15,}  ({counts.flops / G:.3f} G = 2 x MACs)")
    if args.by_stage:
        print(f"\n  {'stage':<8}{'params':>14}{'MACs':>16}")
        for row in counts.by_stage():
            print(f"  {row['stage']:<8}{row['params']:>14,}{row['macs']:>16,}")
    return 0


def _add_train_arguments(parser: argparse.ArgumentParser, config=TrainConfig) -> None:
    parser.add_argument(
        "--model", required=True, help="a model name, e.g. resnext29_4x16d (see `models`)"
    )
    parser.add_argument(
        "--stage-widths",
        type=int,
        nargs="+",
        default=None,
        help="override the stage widths, e.g. 16 32 64 for a lesson-size model",
    )
    parser.add_argument("--stem-width", type=int, default=None, help="override the stem width")
    parser.add_argument(
        "--form", choices=("A", "B", "C"), default=None, help="block form of Fig. 3 (default C)"
    )
    group = parser.add_argument_group("training (every field of TrainConfig)")
    options.add_options(group, config, defaults=config())
    parser.add_argument(
        "--lr-scaling",
        choices=LR_RULES,
        default="none",
        help="none (default): --lr as given for the global batch; linear: --lr x batch-size / 128 "
        "(linear scaling rule, relative to the paper's batch 128)",
    )
    parser.add_argument(
        "--subset", type=int, default=None, help="train on the first N images, class-balanced"
    )
    parser.add_argument(
        "--test-subset", type=int, default=None, help="evaluate on the first N test images"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data-dir",
        default=None,
        help="image folder with train/<class>/ and test/<class>/ "
        "(default: the cache in data/, then $RESNEXT_EDU_DATA, then a download)",
    )
    source.add_argument(
        "--dataset",
        choices=("cifar10", "synthetic"),
        default="cifar10",
        help="synthetic: a small made-up set for checking the code, not CIFAR-10",
    )
    parser.add_argument(
        "--out", default=None, help="folder for history.json and checkpoint.pt (default runs/MODEL)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its checkpoint"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run's files in --out"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar or per-epoch lines"
    )
    group = parser.add_argument_group(
        "under torchrun (torchrun --nproc_per_node=N -m resnext_edu train ...)"
    )
    group.add_argument(
        "--sync-bn",
        action="store_true",
        help="SyncBatchNorm: BatchNorm statistics over the global "
        "batch, not each rank's part (CUDA only)",
    )
    group.add_argument(
        "--dist-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds a rank waits for the others before giving up, default {DEFAULT_TIMEOUT:g}",
    )
    parser.set_defaults(config_class=config)


def _cmd_train(args: argparse.Namespace) -> int:
    """Build the model and data from ``args``, train, print the final test accuracy. Returns the
    exit code.

    Under torchrun every rank runs this; rank 0 prints and writes (:mod:`resnext_edu.distributed`).
    """
    try:
        dist = from_environment(
            args.device, timeout=args.dist_timeout
        )  # a single process outside torchrun
    except DistributedSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        return _main_train(args, dist)
    except (ValueError, FileNotFoundError, FileExistsError, TrainingDiverged) as error:
        if dist.world_size == 1:
            raise  # cli.main prints it (exit code 2)
        dist.print(
            f"error: {error}", file=sys.stderr
        )  # the same on every rank: rank 0 says it once
        return 2
    except RuntimeError as error:
        if dist.world_size == 1:
            raise
        print(
            f"error on rank {dist.rank} of {dist.world_size}: {type(error).__name__}: "
            f"{error}\nWhen the ranks "
            "stopped talking to each other (a time-out, a closed connection), another rank has "
            "usually died (look "
            f"for its message above) or hangs. Each rank waits --dist-timeout {dist.timeout:g} "
            "s for the others.",
            file=sys.stderr,
        )
        return 1
    finally:
        dist.close()


def _main_train(args: argparse.Namespace, dist: Distributed) -> int:
    dist.per_rank_batch(args.batch_size)  # before anything slow: N must divide the batch
    pick_device(args.device)  # before anything slow: the device is there
    try:
        data = dist.in_turn(
            lambda: load_cifar10(
                args.data_dir,
                dataset=args.dataset,
                subset=args.subset,
                test_subset=args.test_subset,
            )
        )
    except (ValueError, FileNotFoundError) as error:
        if dist.world_size == 1:
            raise
        print(
            f"error on rank {dist.rank} of {dist.world_size}: {error}", file=sys.stderr
        )  # may be one machine's
        return 2
    torch.manual_seed(args.seed)  # the model's initial weights
    overrides = {
        "stage_widths": args.stage_widths,
        "stem_width": args.stem_width,
        "form": args.form,
        "num_classes": len(data.classes),
    }
    model = models.create(args.model, **{k: v for k, v in overrides.items() if v is not None})
    if args.sync_bn:
        if dist.world_size == 1:
            print(
                "note: --sync-bn has no effect in a single process (BatchNorm already sees the "
                "whole batch)."
            )
        model = sync_batchnorm(model, dist)
    config = train_config_from_args(args)
    out = Path(args.out if args.out is not None else Path("runs") / args.model)
    dist.print(f"data: {data.source}")
    if dist.world_size > 1:
        dist.print(
            f"distributed: {dist.world_size} ranks ({dist.backend}, rank 0 on {dist.device}); "
            "batch "
            f"{dist.per_rank_batch(args.batch_size)} per rank x {dist.world_size} ranks = "
            f"{args.batch_size} "
            f"global{'; SyncBatchNorm' if args.sync_bn else ''}"
        )
    if dist.world_size > 1 or args.lr_scaling != "none":
        dist.print(describe_lr(args.lr, args.batch_size, args.lr_scaling))
    try:
        history = fit(
            model,
            data,
            config,
            out_dir=out,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            distributed=dist,
        )
    except (FileExistsError, TrainingDiverged) as error:
        dist.print(f"error: {error}", file=sys.stderr)
        return 2
    last = history["epochs"][-1] if history["epochs"] else None
    if last is None:
        return 0
    note = " (SYNTHETIC data, not CIFAR-10)" if data.synthetic else ""
    dist.print(
        f"final test accuracy: {last['test_acc']:.2%} after {last['epoch']} epochs{note}; "
        f"history in {out / HISTORY}, checkpoint in {out / CHECKPOINT}"
    )
    return 0


def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of ``train``'s options, with --lr scaled by --lr-scaling."""
    config = args.config_class(**options.given(args, args.config_class))
    return replace(config, lr=scaled_lr(args.lr, args.batch_size, args.lr_scaling))


def _add_sweep_arguments(parser: argparse.ArgumentParser, config=TrainConfig) -> None:
    parser.add_argument(
        "--budget",
        choices=tuple(sweep.BUDGETS),
        default="lesson",
        help="complexity budget: "
        + "; ".join(f"{b.name}: {b.about}" for b in sweep.BUDGETS.values()),
    )
    parser.add_argument(
        "--cardinalities",
        type=int,
        nargs="+",
        default=list(DEFAULT_CARDINALITIES),
        help="C values; d comes from the width solver (default 1 2 4 8 16 32)",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds per model (default 0 1 2)"
    )
    parser.add_argument(
        "--table4",
        action="store_true",
        help="also the 2x-complexity models of Table 4: deeper, wider, more cardinality",
    )
    parser.add_argument(
        "--table4-cardinalities",
        type=int,
        nargs="+",
        default=list(DEFAULT_TABLE4_CARDINALITIES),
        help="cardinalities at 2x complexity (default 2 64, the paper's 2x64d and 64x4d)",
    )
    parser.add_argument(
        "--table4-seeds",
        type=int,
        nargs="+",
        default=None,
        help="seeds of the 2x models (default: the first of --seeds)",
    )

    def shown(name):  # the budgets' defaults, in the help
        budgets = {b: sweep.SweepSettings.for_budget(b, config) for b in ("lesson", "full")}
        values = {
            b: getattr(s.train if hasattr(s.train, name) else s, name) for b, s in budgets.items()
        }
        return ", ".join(f"{b}: {options.ALL if v is None else v}" for b, v in values.items())

    group = parser.add_argument_group("training, the same for every run (default: the budget's)")
    options.add_options(group, config, skip=("seed",), shown=shown)
    options.add_options(group, sweep.SweepSettings, skip=("train",), shown=shown)
    parser.add_argument(
        "--data-dir", default=None, help="CIFAR-10 image folder (train/<class>/, test/<class>/)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: PyTorch's choice; 1 is faster on a busy 2-core machine)",
    )
    parser.add_argument(
        "--out", default=None, help="the sweep's folder (default runs/sweep-BUDGET)"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="print one shell command per run (for GNU parallel, a Slurm array, ...) and exit",
    )
    parser.add_argument(
        "--only", nargs="+", default=None, metavar="RUN_ID", help="train only these runs"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="one short line per epoch, no progress bar"
    )
    parser.set_defaults(config_class=config)


def _single_line(option: str, value) -> None:
    """Refuse a line break (or another control character) in an argument ``--list`` prints: a
    scheduler that reads the list line by line would run the part after the break as a command of
    its own."""
    if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in str(value)):
        raise ValueError(
            f"{option} {str(value)!r} contains a line break or another control character; give it "
            f"without one (rename the folder)."
        )


def _cmd_sweep(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out is not None else Path("runs") / f"sweep-{args.budget}"
    for option in ("--out", "--data-dir", "--device"):
        _single_line(option, getattr(args, option[2:].replace("-", "_"), None))
    if args.threads is not None and args.threads < 1:
        raise ValueError(
            f"--threads must be a whole number >= 1, got {args.threads}; 1 is often fastest on a "
            "busy "
            f"2-core machine, or leave it out for PyTorch's choice."
        )
    settings = sweep.settings_from_args(args, args.budget, args.config_class)
    if args.data_dir is not None and settings.dataset == "synthetic":
        raise ValueError(
            "--data-dir names a CIFAR-10 folder; --dataset synthetic needs none. Give one of them."
        )
    configs = sweep.cardinality_configs(args.budget, args.cardinalities)
    extra = []
    if args.table4:
        seeds = args.table4_seeds if args.table4_seeds is not None else args.seeds[:1]
        extra.append((sweep.table4_configs(args.budget, args.table4_cardinalities), seeds))
    runs = sweep.plan(configs, args.seeds, extra)
    if args.only:
        known = {r.run_id: r for r in runs}
        unknown = [r for r in args.only if r not in known]
        if unknown:
            raise ValueError(
                f"--only names run(s) this sweep does not have: {', '.join(unknown)}. "
                f"Its runs: {', '.join(known)}."
            )
        runs = [known[r] for r in args.only]
    if args.list:
        base = sweep.sweep_argv(
            args.budget,
            args.cardinalities,
            args.seeds,
            settings,
            str(out),
            table4=args.table4,
            table4_cardinalities=args.table4_cardinalities,
            table4_seeds=args.table4_seeds,
        )
        base += [
            word
            for option in ("--data-dir", "--threads")
            if getattr(args, option[2:].replace("-", "_")) is not None
            for word in (option, str(getattr(args, option[2:].replace("-", "_"))))
        ]
        for word in base:
            _single_line("an argument", word)
        for run in runs:
            print(shlex.join(base + ["--no-progress", "--only", run.run_id]))
        return 0
    print(
        f"Sweep into {out}: {len(runs)} runs, budget {args.budget!r}, {settings.train.epochs} "
        "epochs each"
    )
    print(sweep.config_table(list(dict.fromkeys(r.config for r in runs))) + "\n")
    outcome = sweep.run_sweep(
        runs,
        settings,
        out,
        sweep.RunOptions(
            data_dir=args.data_dir, threads=args.threads, progress=not args.no_progress
        ),
    )
    done = len(outcome.already_done) + len(outcome.trained)
    print(
        f"\n{done} of {len(runs)} runs have result files in {out} ({len(outcome.trained)} trained "
        "now, "
        f"{len(outcome.already_done)} finished before)."
    )
    if outcome.busy:
        print(
            f"{len(outcome.busy)} run(s) are being trained by other processes: "
            f"{', '.join(outcome.busy)}. "
            f"Re-run this command after they finish to check that everything is there.",
            file=sys.stderr,
        )
    for message in outcome.problems:
        print(f"problem: {message}", file=sys.stderr)
    print(f"Report: python -m resnext_edu sweep-report {shlex.quote(str(out))}")
    return 0 if outcome.complete else 3


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="+", help="sweep folders (or result files) to gather")
    parser.add_argument(
        "--plots", default=None, help="folder for the PNG plots (default: FIRST_FOLDER/report)"
    )
    parser.add_argument("--no-plots", action="store_true", help="only the tables")
    parser.add_argument(
        "--metric", default="test_acc", help="final metric of the table (default test_acc)"
    )


def _cmd_sweep_report(args: argparse.Namespace) -> int:
    plots = None if args.no_plots else args.plots or Path(args.folders[0]) / "report"
    return sweep.write_report(args.folders, plots=plots, metric=args.metric)


def build_parser(config=TrainConfig) -> argparse.ArgumentParser:
    """The parser of every command; ``train`` and ``sweep`` take an option per field of
    ``config``."""
    parser = argparse.ArgumentParser(
        prog="python -m resnext_edu",
        description="resnext-edu: ResNeXt models, counting, training and sweeps.",
    )
    parser.add_argument("--version", action="version", version=f"resnext-edu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("--filter", nargs="*", default=[], help="shell-style patterns, e.g. 'resnext*'")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("count", help="parameters and MACs of a model")
    p.add_argument("model", help="a model name, e.g. resnext29_8x64d (see `models`)")
    p.add_argument(
        "--input-size",
        type=int,
        default=None,
        help="image height = width (default 32 CIFAR, 224 ImageNet)",
    )
    p.add_argument(
        "--stage-widths", type=int, nargs="+", default=None, help="override the stage widths"
    )
    p.add_argument("--stem-width", type=int, default=None, help="override the stem width")
    p.add_argument("--num-classes", type=int, default=None, help="override the number of classes")
    p.add_argument("--by-stage", action="store_true", help="also show the counts per stage")
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (model, input_size, params, macs, flops)",
    )
    p.set_defaults(func=_cmd_count)

    p = sub.add_parser(
        "train", help="train a model on CIFAR-10 (or the synthetic set); torchrun-aware"
    )
    _add_train_arguments(p, config)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("sweep", help="train a complexity-matched cardinality sweep (resumable)")
    _add_sweep_arguments(p, config)
    p.set_defaults(func=_cmd_sweep)
    p = sub.add_parser(
        "sweep-report", help="gather a sweep folder's results into a table and plots"
    )
    _add_report_arguments(p)
    p.set_defaults(func=_cmd_sweep_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (
        ValueError,
        TypeError,
        OSError,
        TrainingDiverged,
    ) as error:  # OSError: permission denied, disk full, ...
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

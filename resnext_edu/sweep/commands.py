"""``python -m resnext_edu sweep ...`` and ``python -m resnext_edu sweep-report DIR`` (wired in cli.py)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..device import PRECISIONS
from ..train import SCHEDULES
from .configs import (BUDGETS, DEFAULT_CARDINALITIES, DEFAULT_TABLE4_CARDINALITIES, cardinality_configs,
                      config_table, table4_configs)
from .report import write_report
from .results import Gathered, summarize, summary_table
from .runner import run_sweep
from .settings import RECIPES, SweepSettings, plan


def _optional_int(text: str) -> int | None:
    return None if text.lower() in ("all", "none") else int(text)


def _shown(value) -> str:
    return "all" if value is None else str(value)


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", choices=tuple(BUDGETS), default="lesson",
                        help="complexity budget: " + "; ".join(f"{b.name}: {b.about}" for b in BUDGETS.values()))
    parser.add_argument("--cardinalities", type=int, nargs="+", default=list(DEFAULT_CARDINALITIES),
                        help="C values; d comes from the width solver (default 1 2 4 8 16 32)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds per model (default 0 1 2)")
    parser.add_argument("--table4", action="store_true",
                        help="also the 2x-complexity models of Table 4: deeper, wider, more cardinality")
    parser.add_argument("--table4-cardinalities", type=int, nargs="+", default=list(DEFAULT_TABLE4_CARDINALITIES),
                        help="cardinalities at 2x complexity (default 2 64, the paper's 2x64d and 64x4d)")
    parser.add_argument("--table4-seeds", type=int, nargs="+", default=None,
                        help="seeds of the 2x models (default: the first of --seeds)")
    # The training settings default to the budget's (SweepSettings.for_budget): absent from args unless given.
    def setting(flag, help_text, **kwargs):
        name = flag[2:].replace("-", "_")
        defaults = ", ".join(f"{b}: {_shown(getattr(SweepSettings.for_budget(b), name))}" for b in ("lesson", *RECIPES))
        parser.add_argument(flag, default=argparse.SUPPRESS, help=f"{help_text} (default {defaults})", **kwargs)

    setting("--epochs", "passes over the training images", type=int)
    setting("--batch-size", "images per SGD step", type=int)
    setting("--lr", "peak learning rate", type=float)
    setting("--schedule", "learning-rate schedule", choices=SCHEDULES)
    setting("--warmup", "warm-up fraction of the steps", type=float)
    setting("--weight-decay", "L2 penalty", type=float)
    setting("--nesterov", "Nesterov momentum", action=argparse.BooleanOptionalAction)
    setting("--label-smoothing", "label smoothing", type=float)
    setting("--crop-padding", "pixels of padding for the random crops", type=int)
    setting("--subset", "training images, class-balanced ('all': 50,000)", type=_optional_int)
    setting("--test-subset", "test images evaluated after every epoch, for the curves ('all': 10,000)",
            type=_optional_int)
    setting("--final-test-subset", "test images of the final evaluation ('all': 10,000)", type=_optional_int)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data-dir", default=None, help="CIFAR-10 image folder (train/<class>/, test/<class>/)")
    source.add_argument("--dataset", choices=("cifar10", "synthetic"), default=argparse.SUPPRESS,
                        help="synthetic: a small made-up set for checking the code, not CIFAR-10")
    parser.add_argument("--precision", choices=PRECISIONS, default=argparse.SUPPRESS, help="default auto")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda, ...")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: PyTorch's choice; 1 is faster on a busy 2-core machine)")
    parser.add_argument("--out", default=None, help="the sweep's folder (default runs/sweep-BUDGET)")
    parser.add_argument("--list", action="store_true",
                        help="print one shell command per run (for GNU parallel, a Slurm array, ...) and exit")
    parser.add_argument("--only", nargs="+", default=None, metavar="RUN_ID", help="train only these runs")
    parser.add_argument("--no-progress", action="store_true", help="one short line per epoch, no progress bar")


def settings_from_args(args: argparse.Namespace) -> SweepSettings:
    """The budget's settings (:meth:`SweepSettings.for_budget`), changed by every setting given on the command line."""
    given = {name: getattr(args, name) for name in SweepSettings.__dataclass_fields__ if hasattr(args, name)}
    return SweepSettings.for_budget(args.budget, **given)


def runs_from_args(args: argparse.Namespace):
    configs = cardinality_configs(args.budget, args.cardinalities)
    extra = []
    if args.table4:
        seeds = args.table4_seeds if args.table4_seeds is not None else args.seeds[:1]
        extra.append((table4_configs(args.budget, args.table4_cardinalities), seeds))
    return plan(configs, args.seeds, extra)


def sweep_argv(budget: str, cardinalities, seeds, settings: SweepSettings, out: str, *, table4: bool = False,
               table4_cardinalities=DEFAULT_TABLE4_CARDINALITIES, table4_seeds=None) -> list[str]:
    """The command line (as a list) that runs this sweep: what ``--list`` prints and lesson 05 shows."""
    def opt(value):
        return "all" if value is None else str(value)
    argv = ["python", "-m", "resnext_edu", "sweep", "--budget", budget,
            "--cardinalities", *map(str, cardinalities), "--seeds", *map(str, seeds)]
    if table4:
        argv += ["--table4", "--table4-cardinalities", *map(str, table4_cardinalities)]
        if table4_seeds is not None:
            argv += ["--table4-seeds", *map(str, table4_seeds)]
    argv += ["--epochs", str(settings.epochs), "--batch-size", str(settings.batch_size), "--lr", str(settings.lr),
             "--schedule", settings.schedule, "--warmup", str(settings.warmup),
             "--weight-decay", str(settings.weight_decay), "--subset", opt(settings.subset),
             "--test-subset", opt(settings.test_subset), "--final-test-subset", opt(settings.final_test_subset),
             "--precision", settings.precision]
    if budget in RECIPES or (settings.nesterov, settings.label_smoothing, settings.crop_padding) != (False, 0.0, 4):
        argv += ["--nesterov" if settings.nesterov else "--no-nesterov", "--label-smoothing",
                 str(settings.label_smoothing), "--crop-padding", str(settings.crop_padding)]
    if settings.dataset != "cifar10":
        argv += ["--dataset", settings.dataset]
    return argv + ["--out", str(out)]


RECIPE_FIELDS = ("epochs", "batch_size", "lr", "nesterov", "label_smoothing", "crop_padding", "subset", "test_subset",
                 "final_test_subset")


def sweep_status(found: Gathered, budget: str, metric: str = "test_error", seeds=(0, 1),
                 out: str | None = None) -> str:
    """What a learner needs before reading a sweep's results (lesson 05, section 4): its models, its recipe, then
    its table and the command that made it, or, with no result files yet, "not shipped yet" and the command that
    makes them (:func:`sweep_argv`, default seeds ``seeds``, into ``out``: default runs/sweep-BUDGET)."""
    configs = cardinality_configs(budget)
    recipe = found.results[0].raw["settings"] if found.results else vars(SweepSettings.for_budget(budget))
    lines = [config_table(configs), "", "recipe: " + ", ".join(f"{k} {_shown(recipe.get(k))}" for k in RECIPE_FIELDS)
             + "\n  (subset: training images; test_subset: test images after every epoch; all: every image)"]
    if not found.results:
        argv = sweep_argv(budget, [c.cardinality for c in configs], seeds, SweepSettings.for_budget(budget),
                          out or f"runs/sweep-{budget}")
        lines += ["", f"The {budget} sweep is not shipped yet. This command makes it (resumable; one result file per "
                      f"run):", quoted_command(argv)]
    else:
        data = found.results[0].raw["data"]
        lines += ["", summary_table(summarize(found.results, metric), metric), "",
                  f"data: {data['train_images']:,} training images; {data['test_images']:,} test images after every "
                  f"epoch, {data['final_test_images']:,} at the end",
                  "command: " + found.results[0].raw["provenance"]["command"]]
    lines += [f"skipped: {problem}" for problem in found.problems]
    return "\n".join(lines)


def _single_line(option: str, value) -> None:
    """Refuse a line break (or another control character) in an option that ``--list`` prints into a shell command:
    a scheduler that reads the list line by line would run the part after the break as a command of its own."""
    if value is not None and any(ord(ch) < 32 or ord(ch) == 127 for ch in str(value)):
        raise ValueError(f"{option} {str(value)!r} contains a line break or another control character; give it "
                         f"without one (rename the folder).")


def quoted_command(argv: list[str]) -> str:
    """One shell line that runs ``argv``: every argument quoted (``shlex.quote``), so spaces, quotes and ``$(...)`` in
    a path stay inside their argument; ``shlex.split`` of the line gives ``argv`` back."""
    for arg in argv:
        _single_line("an argument", arg)
    return " ".join(shlex.quote(arg) for arg in argv)


def main_sweep(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out is not None else Path("runs") / f"sweep-{args.budget}"
    for option in ("--out", "--data-dir", "--device"):
        _single_line(option, getattr(args, option[2:].replace("-", "_")))
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be a whole number >= 1, got {args.threads}; 1 is often fastest on a busy "
                         f"2-core machine, or leave it out for PyTorch's choice.")
    settings = settings_from_args(args)
    runs = runs_from_args(args)
    if args.only:
        known = {r.run_id: r for r in runs}
        unknown = [r for r in args.only if r not in known]
        if unknown:
            raise ValueError(f"--only names run(s) this sweep does not have: {', '.join(unknown)}. "
                             f"Its runs: {', '.join(known)}.")
        runs = [known[r] for r in args.only]
    if args.list:
        base = sweep_argv(args.budget, args.cardinalities, args.seeds, settings, str(out), table4=args.table4,
                          table4_cardinalities=args.table4_cardinalities, table4_seeds=args.table4_seeds)
        for extra in ("--data-dir", "--device", "--threads"):
            value = getattr(args, extra[2:].replace("-", "_"))
            if value is not None and not (extra == "--device" and value == "auto"):
                base += [extra, str(value)]
        for run in runs:
            print(quoted_command(base + ["--no-progress", "--only", run.run_id]))
        return 0
    configs = list(dict.fromkeys(r.config for r in runs))
    print(f"Sweep into {out}: {len(runs)} runs ({len(configs)} models x seeds), budget {args.budget!r}, "
          f"{settings.epochs} epochs each")
    print(config_table(configs))
    print()
    outcome = run_sweep(runs, settings, out, data_dir=args.data_dir, device=args.device, threads=args.threads,
                        progress=not args.no_progress)
    done = len(outcome.already_done) + len(outcome.trained)
    print(f"\n{done} of {len(runs)} runs have result files in {out} ({len(outcome.trained)} trained now, "
          f"{len(outcome.already_done)} finished before).")
    if outcome.busy:
        print(f"{len(outcome.busy)} run(s) are being trained by other sweeps: {', '.join(outcome.busy)}. Re-run this "
              f"command after they finish to check that everything is there.", file=sys.stderr)
    for message in outcome.problems:
        print(f"problem: {message}", file=sys.stderr)
    print(f"Report: python -m resnext_edu sweep-report {out}")
    return 0 if outcome.complete else 3


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="+", help="sweep folders (or result files) to gather")
    parser.add_argument("--plots", default=None, help="folder for the PNG plots (default: FIRST_FOLDER/report)")
    parser.add_argument("--no-plots", action="store_true", help="only the table")
    parser.add_argument("--metric", default="test_acc", help="final metric of the table (default test_acc)")


def main_report(args: argparse.Namespace) -> int:
    return write_report(args.folders, plots=None if args.no_plots else (args.plots or
                                                                         Path(args.folders[0]) / "report"),
                        metric=args.metric)

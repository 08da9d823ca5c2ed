"""The command line: ``python -m resnext_edu {models,count,train,sweep,sweep-report} ...`` (and ``--version``; lessons 04-06).

``train`` builds a model and the data from its arguments and calls :func:`resnext_edu.train.fit`; under torchrun
every rank runs it, and rank 0 prints and writes (:mod:`resnext_edu.distributed`). ``sweep`` and ``sweep-report``
are :mod:`resnext_edu.sweep.commands`.

Bad input ends with one line on stderr saying what was wrong and what to try, and exit code 2 (no traceback); so
does a file the system refuses (permission denied, a file where a folder belongs, a full disk: any OSError).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import __version__, counting, models, sweep
from .checkpoints import CHECKPOINT, HISTORY
from .counting import G, M
from .data import load_cifar10
from .device import PRECISIONS, pick_device
from .distributed import (DEFAULT_TIMEOUT, LR_RULES, Distributed, DistributedSetupError, describe_lr,
                          from_environment, scaled_lr, sync_batchnorm)
from .train import SCHEDULES, TrainConfig, TrainingDiverged, fit


def _cmd_models(args: argparse.Namespace) -> int:
    print("Registered models (any resnext29_<C>x<d>d is accepted too):")
    for name in models.list_models(args.filter):
        config = models.config_for(name)
        print(f"  {name:<20} {config.template:<8} C={config.cardinality:<3} d={config.base_width:<3} "
              f"depth={config.depth}")
    return 0


def _cmd_count(args: argparse.Namespace) -> int:
    overrides = {"stage_widths": args.stage_widths, "stem_width": args.stem_width, "num_classes": args.num_classes}
    with torch.device("meta"):                      # shapes only: any size is counted without memory
        model = models.create(args.model, **{k: v for k, v in overrides.items() if v is not None})
    counts = counting.count(model, args.input_size)
    counts.model = args.model
    if args.json:
        print(json.dumps(counts.as_dict(by_stage=args.by_stage)))
        return 0
    print(f"{args.model} at {counts.input_size}x{counts.input_size} input, {model.config.num_classes} classes")
    print(f"  params: {counts.params:>15,}  ({counts.params / M:.2f} M)")
    print(f"  MACs:   {counts.macs:>15,}  ({counts.macs / G:.3f} G multiply-accumulates per image)")
    print(f"  FLOPs:  {counts.flops:>15,}  ({counts.flops / G:.3f} G = 2 x MACs)")
    if args.by_stage:
        print(f"\n  {'stage':<8}{'params':>14}{'MACs':>16}")
        for row in counts.by_stage():
            print(f"  {row['stage']:<8}{row['params']:>14,}{row['macs']:>16,}")
    return 0


def _add_train_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument("--model", required=True, help="a model name, e.g. resnext29_4x16d (see `models`)")
    parser.add_argument("--stage-widths", type=int, nargs="+", default=None, help="override the stage widths, "
                        "e.g. 16 32 64 for a lesson-size model")
    parser.add_argument("--stem-width", type=int, default=None, help="override the stem width")
    parser.add_argument("--form", choices=("A", "B", "C"), default=None, help="block form of Fig. 3 (default C)")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    parser.add_argument("--batch-size", type=int, default=d.batch_size,
                        help=f"images per SGD step over all ranks (the global batch; under torchrun each of N ranks "
                             f"takes batch/N), default {d.batch_size}")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate, default {d.lr}")
    parser.add_argument("--lr-scaling", choices=LR_RULES, default="none",
                        help="none (default): --lr as given for the global batch; linear: --lr x batch-size / 128 "
                             "(linear scaling rule, relative to the paper's batch 128)")
    parser.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                        help="step: the paper's lr/10 at 50%% and 75%%; onecycle (default) or cosine: short runs")
    parser.add_argument("--warmup", type=float, default=d.warmup, help=f"warm-up fraction, default {d.warmup}")
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"default {d.weight_decay}")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="e.g. 0.1 (default 0)")
    parser.add_argument("--crop-padding", type=int, default=d.crop_padding,
                        help=f"pixels of zero padding before the random crop, default {d.crop_padding} (the paper's)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images, class-balanced")
    parser.add_argument("--test-subset", type=int, default=None, help="evaluate on the first N test images")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data-dir", default=None, help="image folder with train/<class>/ and test/<class>/ "
                        "(default: the cache in data/, then $RESNEXT_EDU_DATA, then a download)")
    source.add_argument("--dataset", choices=("cifar10", "synthetic"), default="cifar10",
                        help="synthetic: a small made-up set for checking the code, not CIFAR-10")
    parser.add_argument("--precision", choices=PRECISIONS, default=d.precision, help="default auto")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                        help="NHWC layout (default: on with bf16/fp16, off with fp32)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--device", default=d.device, help="auto (default: CUDA, else Apple MPS, else CPU), cpu, cuda, cuda:1, mps")
    parser.add_argument("--out", default=None, help="folder for history.json and checkpoint.pt (default runs/MODEL)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run's files in --out")
    parser.add_argument("--seed", type=int, default=d.seed, help="model initialisation, data order, augmentation")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    group = parser.add_argument_group("under torchrun (torchrun --nproc_per_node=N -m resnext_edu train ...)")
    group.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm: BatchNorm statistics over the global "
                       "batch, not each rank's part (CUDA only)")
    group.add_argument("--dist-timeout", type=float, default=DEFAULT_TIMEOUT,
                       help=f"seconds a rank waits for the others before giving up, default {DEFAULT_TIMEOUT:g}")


def _cmd_train(args: argparse.Namespace) -> int:
    """Build the model and data from ``args``, train, print the final test accuracy. Returns the exit code.

    Under torchrun every rank runs this; rank 0 prints and writes (:mod:`resnext_edu.distributed`).
    """
    try:
        dist = from_environment(args.device, timeout=args.dist_timeout)   # a single process outside torchrun
    except DistributedSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        return _main_train(args, dist)
    except (ValueError, FileNotFoundError, FileExistsError, TrainingDiverged) as error:
        if dist.world_size == 1:
            raise                                       # cli.main prints it (exit code 2)
        dist.print(f"error: {error}", file=sys.stderr)  # the same on every rank: rank 0 says it once
        return 2
    except RuntimeError as error:
        if dist.world_size == 1:
            raise
        print(f"error on rank {dist.rank} of {dist.world_size}: {type(error).__name__}: {error}\nWhen the ranks "
              f"stopped talking to each other (a time-out, a closed connection), another rank has usually died (look "
              f"for its message above) or hangs. Each rank waits --dist-timeout {dist.timeout:g} s for the others.",
              file=sys.stderr)
        return 1
    finally:
        dist.close()


def _main_train(args: argparse.Namespace, dist: Distributed) -> int:
    dist.per_rank_batch(args.batch_size)                          # before anything slow: N must divide the batch
    pick_device(args.device)                                      # before anything slow: the device is there
    try:
        data = dist.in_turn(lambda: load_cifar10(args.data_dir, dataset=args.dataset, subset=args.subset,
                                                 test_subset=args.test_subset))
    except (ValueError, FileNotFoundError) as error:
        if dist.world_size == 1:
            raise
        print(f"error on rank {dist.rank} of {dist.world_size}: {error}", file=sys.stderr)   # may be one machine's
        return 2
    torch.manual_seed(args.seed)                                   # the model's initial weights
    overrides = {"stage_widths": args.stage_widths, "stem_width": args.stem_width, "form": args.form,
                 "num_classes": len(data.classes)}
    model = models.create(args.model, **{k: v for k, v in overrides.items() if v is not None})
    if args.sync_bn:
        if dist.world_size == 1:
            print("note: --sync-bn has no effect in a single process (BatchNorm already sees the whole batch).")
        model = sync_batchnorm(model, dist)
    lr = scaled_lr(args.lr, args.batch_size, args.lr_scaling)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=lr, nesterov=args.nesterov,
                         weight_decay=args.weight_decay, schedule=args.schedule, warmup=args.warmup,
                         label_smoothing=args.label_smoothing, crop_padding=args.crop_padding,
                         precision=args.precision, channels_last=args.channels_last, compile=args.compile,
                         seed=args.seed, device=args.device)
    out = Path(args.out if args.out is not None else Path("runs") / args.model)
    dist.print(f"data: {data.source}")
    if dist.world_size > 1:
        dist.print(f"distributed: {dist.world_size} ranks ({dist.backend}, rank 0 on {dist.device}); batch "
                   f"{dist.per_rank_batch(args.batch_size)} per rank x {dist.world_size} ranks = {args.batch_size} "
                   f"global{'; SyncBatchNorm' if args.sync_bn else ''}")
    if dist.world_size > 1 or args.lr_scaling != "none":
        dist.print(describe_lr(args.lr, args.batch_size, args.lr_scaling))
    try:
        history = fit(model, data, config, out_dir=out, resume=args.resume, overwrite=args.overwrite,
                      progress=not args.no_progress, distributed=dist)
    except (FileExistsError, TrainingDiverged) as error:
        dist.print(f"error: {error}", file=sys.stderr)
        return 2
    last = history["epochs"][-1] if history["epochs"] else None
    if last is None:
        return 0
    note = " (SYNTHETIC data, not CIFAR-10)" if data.synthetic else ""
    dist.print(f"final test accuracy: {last['test_acc']:.2%} after {last['epoch']} epochs{note}; "
               f"history in {out / HISTORY}, checkpoint in {out / CHECKPOINT}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m resnext_edu",
                                     description="resnext-edu: ResNeXt models, counting, training and sweeps.")
    parser.add_argument("--version", action="version", version=f"resnext-edu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("models", help="list the registered models")
    p.add_argument("--filter", nargs="*", default=[], help="shell-style patterns, e.g. 'resnext*'")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("count", help="parameters and MACs of a model")
    p.add_argument("model", help="a model name, e.g. resnext29_8x64d (see `models`)")
    p.add_argument("--input-size", type=int, default=None, help="image height = width (default 32 CIFAR, 224 ImageNet)")
    p.add_argument("--stage-widths", type=int, nargs="+", default=None, help="override the stage widths")
    p.add_argument("--stem-width", type=int, default=None, help="override the stem width")
    p.add_argument("--num-classes", type=int, default=None, help="override the number of classes")
    p.add_argument("--by-stage", action="store_true", help="also show the counts per stage")
    p.add_argument("--json", action="store_true", help="print one JSON object (model, input_size, params, macs, flops)")
    p.set_defaults(func=_cmd_count)

    p = sub.add_parser("train", help="train a model on CIFAR-10 (or the synthetic set); torchrun-aware")
    _add_train_arguments(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("sweep", help="train a complexity-matched cardinality sweep (resumable)")
    sweep.add_sweep_arguments(p)
    p.set_defaults(func=sweep.main_sweep)
    p = sub.add_parser("sweep-report", help="gather a sweep folder's results into a table and plots")
    sweep.add_report_arguments(p)
    p.set_defaults(func=sweep.main_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, TrainingDiverged) as error:   # OSError: permission denied, disk full, ...
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

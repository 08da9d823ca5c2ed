"""The command line: ``python -m resnext_edu {models,count,train,sweep,sweep-report} ...`` (and ``--version``).

Bad input ends with one line on stderr saying what was wrong and what to try, and exit code 2 (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys

from . import __version__, counting, models
from .counting import G, M


def _cmd_models(args: argparse.Namespace) -> int:
    print("Registered models (any resnext29_<C>x<d>d is accepted too):")
    for name in models.list_models(args.filter):
        config = models.config_for(name)
        print(f"  {name:<20} {config.template:<8} C={config.cardinality:<3} d={config.bottleneck_width:<3} "
              f"depth={config.depth}")
    return 0


def _cmd_count(args: argparse.Namespace) -> int:
    overrides = {"stage_widths": args.stage_widths, "stem_width": args.stem_width, "num_classes": args.num_classes}
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

    from . import sweep, train   # imported here so that `count` and `models` start fast

    p = sub.add_parser("train", help="train a model on CIFAR-10 (or the synthetic set); torchrun-aware")
    train.add_train_arguments(p)
    p.set_defaults(func=train.main_train)

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
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

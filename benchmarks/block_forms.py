"""Benchmark 2: the three forms of Fig. 3 compute the same function at different speeds (lesson 03).

One CIFAR-size block (stage 1 of the CIFAR template: 256 channels in and out, 32x32 maps) at Table 2's complexity
(C = 8, d = 14 and C = 32, d = 4; ~70k conv weights each), forward + backward, in fp32 NCHW and in bf16 autocast
with channels_last. The forms are made from one another with ``blocks.convert``, so they hold the same weights.
Median of several steps (``resnext_edu.timing``); the forms are measured interleaved, round after round.

    .venv/bin/python benchmarks/block_forms.py [--batch-size 32] [--rounds 5] [--threads N]

Prints a table and writes benchmarks/results/block_forms.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from resnext_edu.blocks import ResNeXtBlock, convert  # noqa: E402
from resnext_edu.data import atomic_write  # noqa: E402
from resnext_edu.provenance import describe  # noqa: E402
from resnext_edu.timing import time_module  # noqa: E402

SETTINGS = ((8, 14), (32, 4))                    # (C, d) from Table 2
PRECISIONS = (("fp32", False, False), ("bf16", True, True))   # (name, bf16 autocast, channels_last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=32, help="feature-map height = width (32: CIFAR stage 1)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; each times every case once")
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per case per round")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "block_forms.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch_size, 256, args.size, args.size)
    cases = []
    for C, d in SETTINGS:
        block_c = ResNeXtBlock(256, 256, cardinality=C, bottleneck_width=d, form="C")
        for form in "ABC":
            block = convert(block_c, form)
            for name, bf16, cl in PRECISIONS:
                cases.append({"C": C, "d": d, "form": form, "precision": name, "channels_last": cl,
                              "block": block, "bf16": bf16, "samples_ms": []})
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for case in cases:
            t = time_module(case["block"], x, mode="forward+backward", repeats=args.repeats,
                            warmup=2 if r == 0 else 1, bf16=case["bf16"], channels_last=case["channels_last"])
            case["samples_ms"] += t.samples_ms
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    rows = []
    print(f"\nforward+backward of one block, 256 -> 256 channels, {args.size}x{args.size} maps, batch "
          f"{args.batch_size}; median ms per step (img/s)")
    print(f"{'C x d':<8}{'form':<6}{'fp32 NCHW':>22}{'bf16 channels_last':>24}")
    for C, d in SETTINGS:
        for form in "ABC":
            row = {"C": C, "d": d, "form": form}
            cells = []
            for name, _, _ in PRECISIONS:
                case = next(c for c in cases if (c["C"], c["d"], c["form"], c["precision"]) == (C, d, form, name))
                ms = statistics.median(case["samples_ms"])
                row[name] = {"median_ms": ms, "img_per_s": args.batch_size / ms * 1e3,
                             "channels_last": case["channels_last"], "samples_ms": case["samples_ms"]}
                cells.append(f"{ms:9.1f} ms ({args.batch_size / ms * 1e3:6.0f})")
            rows.append(row)
            print(f"{C}x{d}d{'':<{8 - len(f'{C}x{d}d')}}{form:<6}{cells[0]:>22}{cells[1]:>24}")
    result = {"benchmark": "block forms A/B/C, forward+backward", "unit": "milliseconds per step (median)",
              "block": {"in_channels": 256, "out_channels": 256, "map_size": args.size,
                        "batch_size": args.batch_size, "settings_C_d": SETTINGS},
              "rounds": args.rounds, "repeats_per_round": args.repeats, "rows": rows,
              "load_average_before_after": [load_before, os.getloadavg()],
              "note": "other programs may have been running on this machine (see load averages)",
              "command": "python benchmarks/block_forms.py " + " ".join(sys.argv[1:]),
              "provenance": describe("cpu")}
    atomic_write(args.out, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

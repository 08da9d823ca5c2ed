"""Benchmark 2: the three forms of Fig. 3 compute the same function at different speeds (lesson 03).

One CIFAR-size block (stage 1 of the CIFAR template: 256 channels in and out, 32x32 maps) at Table 2's complexity
(C = 8, d = 14 and C = 32, d = 4; ~70k conv weights each), forward + backward, in fp32 NCHW and in bf16 autocast
with channels_last. The forms are made from one another with ``blocks.convert``, so they hold the same weights.
The forms are measured interleaved, round after round; each step records its wall-clock time and the CPU time of
the process (all threads). Reported: medians. On an idle machine the wall time is the figure; on a shared one
(other programs running) the CPU time, which the others do not inflate, is the steadier figure.

    .venv/bin/python benchmarks/block_forms.py [--batch-size 32] [--rounds 5] [--threads N]

Prints a table and writes benchmarks/results/block_forms.json.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before torch loads OpenMP: see benchmarks/README.md
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from record import write_result  # noqa: E402 (benchmarks/record.py)
from resnext_edu.blocks import ResNeXtBlock, convert  # noqa: E402

SETTINGS = ((8, 14), (32, 4))  # (C, d) from Table 2
PRECISIONS = (("fp32", False, False), ("bf16", True, True))  # (name, bf16 autocast, channels_last)


def step_seconds(case: dict, x: torch.Tensor) -> tuple[float, float]:
    """One forward + backward (gradient of ``out.sum()``) of the case's block: (wall seconds, CPU seconds)."""
    block = case.setdefault("prepared", copy.deepcopy(case["block"]).train())
    if case["channels_last"]:
        block, x = (
            block.to(memory_format=torch.channels_last),
            x.contiguous(memory_format=torch.channels_last),
        )
    wall, cpu = time.perf_counter(), time.process_time()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=case["bf16"]):
        out = block(x)
    out.float().sum().backward()
    block.zero_grad(set_to_none=True)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--size", type=int, default=32, help="feature-map height = width (32: CIFAR stage 1)"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds; each times every case once"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per case per round")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's choice)"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "block_forms.json")
    )
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
                cases.append(
                    {
                        "C": C,
                        "d": d,
                        "form": form,
                        "precision": name,
                        "channels_last": cl,
                        "block": block,
                        "bf16": bf16,
                        "samples_ms": [],
                    }
                )
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for case in cases:
            for i in range(
                args.repeats + (1 if r == 0 else 0)
            ):  # one untimed warm-up step in round 1
                wall, cpu = step_seconds(case, x)
                if r > 0 or i > 0:
                    case["samples_ms"].append(wall * 1e3)
                    case.setdefault("cpu_ms", []).append(cpu * 1e3)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    rows = []
    print(
        f"\nforward+backward of one block, 256 -> 256 channels, {args.size}x{args.size} maps, batch "
        f"{args.batch_size}; median wall ms / CPU ms per step"
    )
    print(f"{'C x d':<8}{'form':<6}{'fp32 NCHW':>22}{'bf16 channels_last':>24}")
    for C, d in SETTINGS:
        for form in "ABC":
            row = {"C": C, "d": d, "form": form}
            cells = []
            for name, _, _ in PRECISIONS:
                case = next(
                    c
                    for c in cases
                    if (c["C"], c["d"], c["form"], c["precision"]) == (C, d, form, name)
                )
                ms, cpu = statistics.median(case["samples_ms"]), statistics.median(case["cpu_ms"])
                row[name] = {
                    "median_ms": ms,
                    "img_per_s": args.batch_size / ms * 1e3,
                    "median_cpu_ms": cpu,
                    "channels_last": case["channels_last"],
                    "samples_ms": case["samples_ms"],
                    "cpu_ms": case["cpu_ms"],
                }
                cells.append(f"{ms:8.1f} / {cpu:8.1f}")
            rows.append(row)
            print(f"{C}x{d}d{'':<{8 - len(f'{C}x{d}d')}}{form:<6}{cells[0]:>22}{cells[1]:>24}")
    result = {
        "benchmark": "block forms A/B/C, forward+backward",
        "unit": "milliseconds per step (median): wall clock and process CPU time",
        "block": {
            "in_channels": 256,
            "out_channels": 256,
            "map_size": args.size,
            "batch_size": args.batch_size,
            "settings_C_d": SETTINGS,
        },
        "rounds": args.rounds,
        "repeats_per_round": args.repeats,
        "rows": rows,
        "load_average_before_after": [load_before, os.getloadavg()],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "torch_threads": torch.get_num_threads(),
        "note": "other programs may have been running on this machine (see load averages)",
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

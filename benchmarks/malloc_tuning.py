"""Benchmark 4: training throughput with glibc's default malloc settings and with a raised mmap threshold (Linux).

glibc serves every allocation above its mmap threshold (dynamic, 32 MB at most) with fresh pages from the kernel and
gives them back when freed. A training step at batch 256 allocates activations of 16-64 MB again and again, so each
step pays for page faults and for the kernel zeroing those pages ("sys" CPU time). ``GLIBC_TUNABLES`` with a 1 GB
mmap threshold (and a 4 GB trim threshold) keeps them in the heap for reuse. glibc reads the variable only when a
process starts, so each measurement is a fresh process: the two settings alternate, round after round, in one run.

Each worker process trains the benchmark-3 model (ResNeXt-20 4x32d at stage widths 16/32/64) on batches from the
package's own on-device pipeline (random uint8 images; pixel values do not change the time), in the precision
"auto" picks, and reports images per second over the timed steps plus its user and system CPU seconds.

    .venv/bin/python benchmarks/malloc_tuning.py [--rounds 4] [--steps 12] [--batch-size 256]

Prints a table and writes benchmarks/results/malloc_tuning.json. Only meaningful on Linux with glibc.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TUNED = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"
ROOT = Path(__file__).resolve().parent.parent


def worker(steps: int, batch_size: int, warmup: int) -> dict:
    """Time ``steps`` training steps after ``warmup`` untimed ones; runs in a fresh process."""
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, str(ROOT))
    from resnext_edu.augment import train_batches
    from resnext_edu.device import resolve_precision
    from resnext_edu.models import create

    torch.manual_seed(0)
    precision = resolve_precision("auto", torch.device("cpu"))
    model = create("resnext20_4x32d", stage_widths=(16, 32, 64), stem_width=16)
    model.to(
        memory_format=torch.channels_last if precision.channels_last else torch.contiguous_format
    )
    optimizer = torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    n = batch_size * (steps + warmup)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (n,))
    batches = train_batches(images, labels, batch_size, channels_last=precision.channels_last)
    for i, (x, y) in enumerate(batches):
        if i == warmup:
            start, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        with torch.autocast(
            "cpu", dtype=precision.autocast, enabled=precision.autocast is not None
        ):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds, end = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return {
        "img_per_s": steps * batch_size / seconds,
        "seconds": seconds,
        "user_cpu_s": end.ru_utime - usage.ru_utime,
        "sys_cpu_s": end.ru_stime - usage.ru_stime,
        "precision": precision.name,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
    }


def measure(tuned: bool, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/README.md
    if tuned:
        env["GLIBC_TUNABLES"] = TUNED
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--warmup",
        str(args.warmup),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(
            f"worker failed ({'tuned' if tuned else 'default'} malloc):\n{done.stderr[-2000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds; each measures both settings once"
    )
    parser.add_argument(
        "--steps", type=int, default=12, help="timed training steps per measurement"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "malloc_tuning.json")
    )
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.steps, args.batch_size, args.warmup)))
        return
    if not sys.platform.startswith("linux"):
        raise SystemExit("GLIBC_TUNABLES is glibc's (Linux); nothing to measure on this system.")

    sys.path.insert(0, str(ROOT))
    from record import write_result

    samples = {"default": [], "tuned": []}
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)  # alternate which goes first
        for tuned in order:
            result = measure(tuned, args)
            samples["tuned" if tuned else "default"].append(result)
            print(
                f"round {r + 1}: {'tuned  ' if tuned else 'default'} {result['img_per_s']:6.1f} img/s, "
                f"sys CPU {result['sys_cpu_s']:5.2f} s, user CPU {result['user_cpu_s']:5.2f} s",
                flush=True,
            )
    summary = {
        name: {
            key: statistics.median(s[key] for s in runs)
            for key in ("img_per_s", "user_cpu_s", "sys_cpu_s")
        }
        for name, runs in samples.items()
    }
    ratio = summary["tuned"]["img_per_s"] / summary["default"]["img_per_s"]
    print(
        f"\n{'malloc':8} {'img/s':>8} {'user CPU s':>11} {'sys CPU s':>10}   (medians of {args.rounds})"
    )
    for name, s in summary.items():
        print(f"{name:8} {s['img_per_s']:8.1f} {s['user_cpu_s']:11.2f} {s['sys_cpu_s']:10.2f}")
    print(f"tuned / default: {ratio:.3f}x the images per second")
    result = {
        "benchmark": "training throughput, glibc malloc default vs raised mmap threshold",
        "model": "resnext20_4x32d at stage widths 16/32/64",
        "batch_size": args.batch_size,
        "steps": args.steps,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "tuned_setting": TUNED,
        "median": summary,
        "ratio_img_per_s": ratio,
        "samples": samples,
        "load_average_after": os.getloadavg(),
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

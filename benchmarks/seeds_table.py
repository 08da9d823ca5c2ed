"""Benchmark 3 over seeds: the table of benchmarks/README.md, section 3, read from the runs' result files.

    .venv/bin/python benchmarks/seeds_table.py benchmarks/results/time_to_accuracy_progressive_seed*.json

One row per file (seed, final test accuracy, with flip TTA, minutes to the last epoch, when the target was reached,
the load average seen, the median training img/s at full size, and the time to the last epoch in units of the run's
own median 32x32 epoch (evaluation included): a cost that does not depend on how fast the machine was that day), then
the median and the worst over the files. Every run needs at least one epoch at full size.
Standard library only: the figures are the files' own, nothing is measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def row(result: dict) -> dict:
    """The figures of one time-to-accuracy result file (benchmarks/time_to_accuracy.py)."""
    curve = result["curve"]
    epochs = curve[1:]
    full = [p["img_per_s"] for p in epochs if p.get("train_image_size", 32) == 32]
    by_side = {}  # minutes of each epoch (evaluation included) by training side
    for a, b in zip(curve, curve[1:]):
        by_side.setdefault(b.get("train_image_size", 32), []).append(b["minutes"] - a["minutes"])
    full_epoch_minutes = statistics.median(by_side[32])
    loads = [p["load_average"][0] for p in epochs]
    flip = result.get("final_test_acc_flip_tta") or {}
    return {
        "seed": result["config"]["seed"],
        "final": result["final_test_acc"],
        "flip": flip.get("test_acc"),
        "last_epoch_minutes": epochs[-1]["minutes"],
        "reached_minutes": result["reached_at_minutes"],
        "load": (min(loads), max(loads)),
        "img_per_s_32": statistics.median(full),
        "in_full_epochs": epochs[-1]["minutes"] / full_epoch_minutes,
        "relative_epoch": {
            side: statistics.median(m) / full_epoch_minutes
            for side, m in by_side.items()
            if side != 32
        },
    }


def summary(rows: list[dict]) -> dict:
    """Median and worst final accuracy, median and slowest time to the last epoch, over the rows."""
    finals = [r["final"] for r in rows]
    times = [r["last_epoch_minutes"] for r in rows]
    return {
        "median": statistics.median(finals),
        "worst": min(finals),
        "best": max(finals),
        "median_minutes": statistics.median(times),
        "slowest_minutes": max(times),
    }


def markdown(paths: list[Path]) -> str:
    rows = [dict(row(json.loads(p.read_text())), file=p.name) for p in paths]
    lines = [
        "| seed (result file) | final test accuracy | with flip TTA | time to last epoch | reached target at "
        "| load average during the run | median img/s at 32x32 | time in 32x32 epochs |",
        "|---" * 8 + "|",
    ]
    for r in sorted(rows, key=lambda r: r["seed"]):
        flip = f"{r['flip']:.2%}" if r["flip"] is not None else "-"
        reached = (
            f"{r['reached_minutes']:.1f} min" if r["reached_minutes"] is not None else "not reached"
        )
        lines.append(
            f"| {r['seed']} (`{r['file']}`) | {r['final']:.2%} | {flip} | {r['last_epoch_minutes']:.1f} min "
            f"| {reached} | {r['load'][0]:.1f}-{r['load'][1]:.1f} | {r['img_per_s_32']:.0f} "
            f"| {r['in_full_epochs']:.1f} |"
        )
    s = summary(rows)
    lines += [
        "",
        f"median {s['median']:.2%}, worst {s['worst']:.2%}, best {s['best']:.2%} over {len(rows)} seed{'s' if len(rows) > 1 else ''}; "
        f"last epoch at median {s['median_minutes']:.1f} min, slowest {s['slowest_minutes']:.1f} min",
    ]
    fractions = {}  # training side -> that epoch's fraction of a 32x32 one, per run
    for r in rows:
        for side, fraction in r["relative_epoch"].items():
            fractions.setdefault(side, []).append(fraction)
    if fractions:
        spans = [
            f"{side}x{side} {min(f):.2f}-{max(f):.2f}" for side, f in sorted(fractions.items())
        ]
        lines.append(
            "an epoch's time by training image side, as a fraction of the same run's 32x32 epoch: "
            + ", ".join(spans)
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "files", nargs="+", type=Path, help="result files of benchmarks/time_to_accuracy.py"
    )
    print(markdown(parser.parse_args().files))


if __name__ == "__main__":
    main()

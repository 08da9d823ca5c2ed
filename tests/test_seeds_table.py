"""benchmarks/seeds_table.py: the figures of benchmark 3's seeds table, against values worked out by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def result(
    seed: int,
    accs: list[float],
    minutes: list[float],
    sides: list[int],
    speeds: list[float],
    flip: float,
):
    """A time_to_accuracy.py result file in miniature: a start point, then one point per epoch."""
    curve = [{"minutes": 0.03, "epoch": 0, "test_acc": None, "load_average": [0.1, 0.0, 0.0]}]
    curve += [
        {
            "minutes": m,
            "epoch": e,
            "test_acc": a,
            "img_per_s": s,
            "train_image_size": side,
            "load_average": [1.0 + e / 10, 1.0, 1.0],
        }
        for e, (a, m, side, s) in enumerate(zip(accs, minutes, sides, speeds), 1)
    ]
    reached = next((m for a, m in zip(accs, minutes) if a >= 0.85), None)
    return {
        "config": {"seed": seed},
        "curve": curve,
        "final_test_acc": accs[-1],
        "reached_at_minutes": reached,
        "final_test_acc_flip_tta": {"minutes": minutes[-1] + 0.1, "test_acc": flip},
    }


def test_table_of_three_seeds(tmp_path):
    files = {
        "a.json": result(
            2, [0.5, 0.84, 0.851], [1.0, 2.0, 3.5], [16, 32, 32], [1500, 600, 500], 0.86
        ),
        "b.json": result(
            0, [0.6, 0.80, 0.83], [1.0, 2.5, 4.0], [16, 32, 32], [1400, 700, 650], 0.84
        ),
        "c.json": result(
            1, [0.6, 0.86, 0.87], [1.2, 2.2, 3.0], [32, 32, 32], [400, 500, 600], 0.88
        ),
    }
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content))
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "seeds_table.py"),
            *sorted(str(p) for p in tmp_path.glob("*.json")),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    # rows in seed order; seed 0 never reached 85%; img/s at 32x32 only: medians (600+500)/2, (700+650)/2, 500;
    # 32x32 epochs took (1.5, 1.5), (1.17, 1.0, 0.8), (1.0, 1.5) minutes since the point before: medians 1.5, 1.0,
    # 1.25, so the runs took 4.0 / 1.5, 3.0 / 1.0 and 3.5 / 1.25 such epochs
    assert (
        lines[2]
        == "| 0 (`b.json`) | 83.00% | 84.00% | 4.0 min | not reached | 1.1-1.3 | 675 | 2.7 |"
    )
    assert (
        lines[3] == "| 1 (`c.json`) | 87.00% | 88.00% | 3.0 min | 2.2 min | 1.1-1.3 | 500 | 3.0 |"
    )
    assert (
        lines[4] == "| 2 (`a.json`) | 85.10% | 86.00% | 3.5 min | 3.5 min | 1.1-1.3 | 550 | 2.8 |"
    )
    # median of 83.0 / 87.0 / 85.1 is 85.1, worst 83.0; median of 4.0 / 3.0 / 3.5 minutes is 3.5, slowest 4.0
    assert lines[-2] == (
        "median 85.10%, worst 83.00%, best 87.00% over 3 seeds; "
        "last epoch at median 3.5 min, slowest 4.0 min"
    )
    # the 16x16 epochs took 1.0 - 0.03 minutes: 0.97 / 1.25 and 0.97 / 1.5 of their runs' 32x32 epochs
    assert lines[-1] == (
        "an epoch's time by training image side, as a fraction of the same run's 32x32 epoch: "
        "16x16 0.65-0.78"
    )

"""benchmarks/gpu_check.py on a machine without a GPU: it refuses with one line, and its parts run (``--cpu-smoke``).

The figures of a CUDA run are the script's job on a GPU machine (benchmarks/README.md); here only the plumbing is
checked: every part runs and records what it should, on the CPU at toy sizes, with gloo where a GPU uses NCCL.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "gpu_check.py"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run")
def test_refuses_without_cuda_in_one_line():
    done = run()
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "needs a CUDA GPU" in done.stderr, done.stderr


@pytest.mark.slow
def test_every_part_runs_on_the_cpu_at_toy_sizes(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = run("--cpu-smoke", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["gpu"] == "cpu-smoke" and result["provenance"]["device"].startswith("cpu")
    assert set(result["precision_picks"]) == {"auto", "fp32", "bf16", "fp16"}
    assert "refused" in result["precision_picks"]["fp16"]  # fp16's grad scaler is CUDA's
    assert [r["precision"] for r in result["training"]] == ["fp32", "bf16"]
    for record in result["training"]:
        assert (
            record["finite"]
            and math.isfinite(record["final_train_loss"])
            and record["img_per_s"] > 0
        )
    assert result["pipeline"]["ratio"] > 0 and len(result["pipeline"]["img_per_s"]["tutorial"]) == 1
    torchrun = result["torchrun"]
    assert (torchrun["exit_code"], torchrun["backend"], torchrun["world_size"]) == (0, "gloo", 2), (
        torchrun
    )
    assert "lessons" not in result and "compiled" not in result  # CUDA only

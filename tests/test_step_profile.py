"""benchmarks/step_profile.py (6) and speed_experiments.py (7) at toy size: their figures add up and mean what they say.

The profile's categories are checked against the model itself: the number of convolutions of each kind, of
BatchNorms, of ReLU calls and residual adds a step must run is counted here from the modules and the block's
forward (written out below), independently of the profiler, and must equal what the script found in the trace.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "benchmarks"


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def smoke_result(script: str, tmp_path: Path) -> dict:
    """Run a benchmark script at toy size (``--smoke``) and read its result file, which must name its command as
    typed from the repository and no folder of this machine."""
    out = tmp_path / script.replace(".py", ".json")
    done = run(script, "--smoke", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert shlex.split(result["command"])[1:4] == [f"benchmarks/{script}", "--smoke", "--out"]
    assert str(tmp_path) not in out.read_text() and str(REPO) not in out.read_text()
    return result


def import_script(name: str):
    """Import a benchmark script as a module (its re-exec and cache set-up run only as __main__)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


def expected_calls(model: nn.Module) -> dict:
    """Calls per training step, from the modules: each conv and BN runs once forward and once backward; the stem has
    one ReLU and every block three (after bn1, bn2 and the residual add: blocks.ResNeXtBlock.forward/_finish); every
    block adds its shortcut once forward, and its input, which feeds both the block's conv1 and its shortcut, gets
    its two gradients summed once backward."""
    from resnext_edu.blocks import ResNeXtBlock

    convs = {"1x1 conv": 0, "grouped 3x3 conv": 0, "dense 3x3 conv": 0}
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            kind = (
                "1x1 conv"
                if m.kernel_size == (1, 1)
                else "grouped 3x3 conv"
                if m.groups > 1
                else "dense 3x3 conv"
            )
            convs[kind] += 1
    bns = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    blocks = sum(isinstance(m, ResNeXtBlock) for m in model.modules())
    out = {
        "BatchNorm fwd": bns,
        "BatchNorm bwd": bns,
        "ReLU fwd": 1 + 3 * blocks,
        "ReLU bwd": 1 + 3 * blocks,
        "residual add": 2 * blocks,
    }
    for kind, n in convs.items():
        out[f"{kind} fwd"] = out[f"{kind} bwd"] = n
    return out


@pytest.mark.slow
def test_profile_categories_add_up_to_the_step_and_count_the_models_layers(tmp_path):
    result = smoke_result("step_profile.py", tmp_path)
    profile = import_script("step_profile")
    assert list(result["categories"]) == list(profile.CATEGORIES)
    r = result["models"]["smoke"]
    assert list(r["categories"]) == list(profile.CATEGORIES)

    # every step's self times, category by category, add up to the step: to its outermost events exactly (no time
    # counted twice or lost) and to the wall clock around it within a few percent (the profiler saw the whole step)
    for i, wall in enumerate(r["profiled_wall_ms_each_step"]):
        summed = sum(c["ms_each_step"][i] for c in r["categories"].values())
        assert summed == pytest.approx(r["outermost_event_ms_each_step"][i], rel=1e-6)
        assert summed == pytest.approx(wall, rel=0.05, abs=1.0)

    # the key operations found in the trace are the model's layers, each once per pass
    model = profile.build("smoke")
    calls = {c: v["calls"] for c, v in r["categories"].items() if c in profile.COUNTED}
    assert calls == expected_calls(model)

    # the three CIFAR stages appear as map sizes, and the convolutions' time is split over them
    assert {"32x32", "16x16", "8x8"} <= set(r["by_map"])
    conv = r["categories"]["1x1 conv bwd"]["by_map"]
    assert all(conv[s] > 0 for s in ("32x32", "16x16", "8x8"))


def test_grouped_convs_nchw_keeps_the_function_and_runs_the_grouped_conv_in_nchw():
    experiments = import_script("speed_experiments")
    profile = import_script("step_profile")
    torch.manual_seed(0)
    model = profile.build("smoke").to(memory_format=torch.channels_last)
    reference = profile.build("smoke").to(memory_format=torch.channels_last)
    reference.load_state_dict(model.state_dict())
    wrapped = experiments.grouped_convs_nchw(model)
    assert (
        wrapped == sum(isinstance(m, nn.Conv2d) and m.groups > 1 for m in reference.modules()) == 3
    )

    seen = []
    for m in model.modules():
        if isinstance(m, experiments.NCHWConv):
            m.conv.register_forward_hook(
                lambda mod, inp, out: seen.append(
                    (inp[0].is_contiguous(), mod.weight.is_contiguous(), out.is_contiguous())
                )
            )
            m.register_forward_hook(
                lambda mod, inp, out: seen.append(
                    out.is_contiguous(memory_format=torch.channels_last)
                )
            )
    x = torch.randn(4, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(
        model(x), reference(x), rtol=1e-4, atol=1e-5
    )  # fp32: the same function
    assert (
        seen == [(True, True, True), True] * 3
    )  # NCHW inside the wrapper, channels_last out of it


@pytest.mark.slow
def test_speed_experiments_measure_every_variant_against_the_baseline_in_each_round(tmp_path):
    result = smoke_result("speed_experiments.py", tmp_path)
    summary, variants = result["summary"], result["variants"]
    assert list(summary) == [
        "baseline",
        "grouped_nchw",
        "nchw",
        "sum_pool",
        "batch512",
        "blocks_1_1_3",
    ]
    assert summary["baseline"]["ratios_each_round"] == [1.0] * result["rounds"]
    for name, s in summary.items():
        assert len(s["ratios_each_round"]) == result["rounds"] and s["img_per_s"] > 0
        ratios = [
            v / b
            for v, b in zip(s["img_per_s_each_round"], summary["baseline"]["img_per_s_each_round"])
        ]
        assert s["ratios_each_round"] == pytest.approx(ratios)
    # same initial weights, same batch: every variant computes the baseline's logits up to bf16 rounding
    for name in ("grouped_nchw", "nchw", "sum_pool", "batch512"):
        v = variants[name]
        assert v["logits_max_abs_diff_vs_baseline"] <= 0.05 * v["logits_scale"], (name, v)
    assert (
        variants["blocks_1_1_3"]["logits_max_abs_diff_vs_baseline"] is None
    )  # another model: not compared
    assert variants["batch512"]["batch_size"] == 32 and variants["batch512"]["lr"] == pytest.approx(
        0.8
    )
    assert (
        variants["nchw"]["channels_last"] is False
        and variants["grouped_nchw"]["grouped_convs_wrapped"] == 3
    )

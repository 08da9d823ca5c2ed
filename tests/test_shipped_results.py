"""The result files that ship with the package (resnext_edu/results/): they parse, their models are complexity-matched
(checked by a brute-force search over d and hand-written counts, not the project's solver), and their provenance is
complete."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import torch

from reference_figures import brute_force_base_width, cifar_macs_by_hand, params_of
from resnext_edu import models
from resnext_edu.sweep import SHIPPED, SweepConfig, gather
from resnext_edu.sweep.configs import BUDGETS

FILES = sorted(p for p in SHIPPED.rglob("*.json"))


def test_the_lesson_sweep_is_shipped_complete():
    found = gather(SHIPPED / "lesson", source="shipped")
    assert not found.problems, found.problems
    seeds = Counter(r.config.cardinality for r in found.results if r.config.scale == 1)
    assert set(seeds) >= {1, 2, 4, 8, 16, 32}, seeds
    assert all(n >= 3 for n in seeds.values()), seeds
    assert len({r.key for r in found.results}) == 1, (
        "one set of training settings per budget folder"
    )
    assert (SHIPPED / "README.md").exists()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(SHIPPED).as_posix())
def test_each_shipped_file(path):
    found = gather(path, source="shipped")
    assert not found.problems, found.problems
    (result,) = found.results
    raw = result.raw
    config = SweepConfig.from_dict(raw["config"])
    # the config is complexity-matched, checked without the project's solver or counter: params summed over the
    # model's tensors, d and depth from a search over every candidate, MACs written out by hand
    overrides = config.overrides()
    depth = BUDGETS[config.budget].depth  # the budget's depth: 29 (lesson), 20 (full)
    target = config.scale * params_of(f"resnet{depth}", **overrides)
    assert config.target_params == target
    if config.axis == "deeper":
        depths = [
            n for n in range(11, 2 * config.depth, 9) if n != 101
        ]  # 101 names the ImageNet ResNet
        assert config.depth == min(
            depths, key=lambda n: abs(params_of(f"resnet{n}", **overrides) - target)
        )
    else:
        assert config.depth == depth
        assert config.base_width == brute_force_base_width(
            config.cardinality, target, depth=depth, **overrides
        )
    assert config.macs == cifar_macs_by_hand(
        config.cardinality, config.base_width, config.stage_widths, config.stem_width, config.depth
    )
    assert path.parent.name == config.budget and path.name == f"{raw['run_id']}.json"
    # an independent count: the model named in the file, built and counted here
    with torch.device("meta"):
        model = models.create(
            f"resnext{config.depth}_{config.cardinality}x{config.base_width}d", **config.overrides()
        )
    assert sum(p.numel() for p in model.parameters()) == config.params == raw["model"]["params"]
    # training really ran as the settings say, on real CIFAR-10
    settings = raw["settings"]
    assert [e["epoch"] for e in raw["history"]] == list(range(1, settings["epochs"] + 1))
    assert raw["data"]["synthetic"] is False and raw["data"]["source"].startswith("CIFAR-10")
    assert raw["data"]["train_images"] == (settings["subset"] or 50000)
    assert raw["final"]["test_images"] == (settings["final_test_subset"] or 10000)
    assert 0.1 < raw["final"]["test_acc"] < 1
    # provenance: command, commit, hardware, torch, date, wall time
    prov = raw["provenance"]
    missing = [
        k for k in ("command", "git", "device", "torch", "date", "wall_seconds") if not prov.get(k)
    ]
    assert not missing, missing
    assert (
        prov["command"].startswith("python -m resnext_edu sweep ") and "--out " in prov["command"]
    )
    assert len(prov["git"]["commit"]) == 40 and prov["wall_seconds"] > 0
    assert prov["device"].startswith(("cpu:", "cuda:")) and prov["torch"].split(".")[0].isdigit()
    for key in ("train.py", "data.py", "models.py", "sweep/runner.py"):
        assert len(prov["code_sha256"][key]) == 16


ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[\w.-]+/)+[\w.-]*")


@pytest.mark.parametrize(
    "path",
    [p for p in FILES if p.parent.name != "lesson"],
    ids=lambda p: p.relative_to(SHIPPED).as_posix(),
)
def test_a_shipped_file_names_no_absolute_path(path):
    """Issue 12: a shipped result names no folder of the machine that made it. (The lesson sweep's files were
    written before that rule: their provenance names the build machine's checkout, /work/main, as is.)"""
    found = ABSOLUTE_PATH.findall(path.read_text())
    assert not found, found


def test_the_full_sweep_trains_every_model_alike_on_all_the_data():
    """The full-data budget (issue 12): all 50,000 training images, every test image, at least 10 epochs, one set
    of settings for every file (a folder may still be filling: completeness is the report's business)."""
    found = gather(SHIPPED / "full", source="shipped")
    if not found.results:
        pytest.skip("no full-data sweep results shipped yet")
    assert not found.problems, found.problems
    assert len({r.key for r in found.results}) == 1
    for r in found.results:
        settings, data = r.raw["settings"], r.raw["data"]
        assert (
            settings["epochs"] >= 10
            and data["train_images"] == 50_000
            and data["test_images"] == 10_000
        )
        assert (
            r.raw["final"]["test_images"] == 10_000 and len(r.raw["history"]) == settings["epochs"]
        )


def test_commands_name_their_budget_folder():
    """Every run of a budget folder was made by a sweep command for that budget (the 1x sweep, or the same sweep
    with --table4 added: finished runs are skipped, so only the 2x models train)."""
    for path in FILES:
        raw = json.loads(path.read_text())
        assert f"--budget {path.parent.name} " in raw["provenance"]["command"], path

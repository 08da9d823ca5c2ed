"""Training under torchrun: 2 CPU processes with gloo, against the single-process loop (resnext_edu/distributed.py).

The first tests need no processes: how a global batch is cut into the ranks' parts, the learning-rate rule, the
error messages. The others start ``torchrun --nproc_per_node=2 --standalone`` in a subprocess (bounded in time) on
tiny models and small synthetic sets, one intra-op thread per process. This file is also the worker script torchrun
runs in some of them (``python tests/test_distributed.py MODE ...``, at the bottom), so a test can look inside each
rank: which files it wrote and its final weights.

Cost on a busy 2-core machine: each torchrun start imports torch in three processes (about 15 s).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from resnext_edu import distributed as D
from resnext_edu.augment import train_batches
from resnext_edu.data import load_cifar10
from resnext_edu.train import TrainConfig, fit

REPO = Path(__file__).resolve().parent.parent
TINY_RESNEXT = "--model resnext11_2x32d --stage-widths 8 16 32 --stem-width 8".split()
LAUNCH_TIMEOUT = (
    300  # seconds for one torchrun job, start-up included; a hang fails the test, not the run
)


# --- the parts that need no second process -------------------------------------------------------------------------


def test_the_ranks_parts_of_a_step_are_the_single_process_batch_cut_in_pieces():
    data = load_cifar10(dataset="synthetic", subset=200, test_subset=10)
    args = (data.train_images, data.train_labels, 48)
    single = list(train_batches(*args, seed=3, epoch=2))  # augmented: crops and flips
    for world in (2, 4):
        parts = [
            list(train_batches(*args, seed=3, epoch=2, rank=r, world_size=world))
            for r in range(world)
        ]
        assert all(len(p) == len(single) == 200 // 48 for p in parts)
        for step, (x, y) in enumerate(single):
            assert torch.equal(torch.cat([p[step][0] for p in parts]), x)
            assert torch.equal(torch.cat([p[step][1] for p in parts]), y)
    with pytest.raises(ValueError, match="cannot be split evenly over 5 ranks"):
        next(train_batches(*args, rank=0, world_size=5))


def test_evaluation_shards_cover_the_test_set_once():
    for n, world in ((500, 3), (7, 4), (10, 1)):
        covered = [i for r in range(world) for i in range(n)[D.Distributed(r, world).shard(n)]]
        assert covered == list(range(n))


def test_learning_rate_rules():
    assert D.scaled_lr(0.1, 512) == 0.1  # default: as given, any world size
    assert D.scaled_lr(0.1, 512, "linear") == pytest.approx(0.4)  # 0.1 x 512 / 128
    assert D.scaled_lr(0.1, 128, "linear") == pytest.approx(0.1)  # the paper's batch: unchanged
    assert "0.4 = 0.1 x 512 / 128" in D.describe_lr(0.1, 512, "linear")
    with pytest.raises(ValueError, match="none, linear"):
        D.scaled_lr(0.1, 128, "sqrt")


def test_a_batch_that_does_not_split_evenly_is_refused_with_the_nearest_choices():
    with pytest.raises(
        ValueError, match=r"128 .* cannot be split evenly over 3 ranks.*--batch-size 126 or 129"
    ):
        D.Distributed(rank=1, world_size=3).per_rank_batch(128)
    assert D.Distributed(rank=1, world_size=4).per_rank_batch(128) == 32


def test_outside_torchrun_everything_is_the_single_process_case(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single = D.from_environment("cpu")
    assert single is D.SINGLE_PROCESS and single.is_main and single.world_size == 1
    t, model = torch.ones(3), nn.Linear(2, 2)
    assert (
        single.sum_over_ranks(t) is t
        and single.mean_over_ranks(t) is t
        and single.wrap(model) is model
    )
    assert single.from_main(lambda: 5) == 5 and single.in_turn(lambda: 6) == 6
    assert D.sync_batchnorm(model, single) is model


def test_half_a_torchrun_environment_names_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
        D.DistributedSetupError, match="LOCAL_RANK, MASTER_ADDR, MASTER_PORT are not set.*torchrun"
    ):
        D.from_environment("cpu")


def test_sync_batchnorm_on_cpu_ranks_says_it_needs_gpus():
    with pytest.raises(ValueError, match="needs CUDA GPUs"):
        D.sync_batchnorm(
            nn.BatchNorm2d(4), D.Distributed(0, 2, device=torch.device("cpu"), backend="gloo")
        )


# --- torchrun with 2 processes ------------------------------------------------------------------------------------


def bn_free_net(seed: int = 0) -> nn.Module:
    """A tiny CNN without BatchNorm: 2 ranks x 32 images then compute exactly the gradient of 1 x 64."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def small_data():
    return load_cifar10(dataset="synthetic", subset=512, test_subset=100)


# 2 epochs of 8 steps of 64 images; crops and flips as in every run
CONFIG = TrainConfig(epochs=2, batch_size=64, lr=0.05, precision="fp32", device="cpu", seed=0)


class StopAfterFirstEpoch(Exception):
    pass


def stop_after_first_epoch(record, history):
    raise StopAfterFirstEpoch


def torchrun(args: list[str], *, timeout: float = LAUNCH_TIMEOUT) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node=2 --standalone ARGS`` from the repository root; fails the test after ``timeout``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",
        *args,
    ]
    try:
        return subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"torchrun did not finish within {timeout} s (a hang?): {' '.join(command)}\n"
            f"stdout: {error.stdout}\nstderr: {error.stderr}"
        )


def worker(mode: str, dump: Path, *args: str) -> list[str]:
    return [str(Path(__file__).resolve()), mode, str(dump), *args]


def same_weights(a: dict, b: dict, **tolerance) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if tolerance:
            torch.testing.assert_close(a[name], b[name], **tolerance, msg=lambda m: f"{name}: {m}")
        else:
            assert torch.equal(a[name], b[name]), name


pytestmark = pytest.mark.usefixtures("one_thread")  # the shared fixture (conftest.py)


@pytest.mark.slow
def test_two_ranks_take_the_single_process_steps_and_a_resume_on_one_rank_continues(tmp_path):
    out, dump = tmp_path / "out", tmp_path / "dump"
    done = torchrun(worker("fit", dump, str(out)))
    assert done.returncode == 0, done.stderr
    rank0, rank1 = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    same_weights(rank0, rank1)  # the two ranks hold one model
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json"]

    # the same run in this process, batch 64 at once: the same weights after epoch 1, to float tolerance
    data, after_first = small_data(), {}
    straight = bn_free_net()
    single = fit(
        straight,
        data,
        CONFIG,
        progress=False,
        callback=lambda r, h: after_first.setdefault(
            r["epoch"], {k: v.clone() for k, v in straight.state_dict().items()}
        ),
    )
    same_weights(rank0, after_first[1], rtol=1e-4, atol=1e-5)
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    same_weights(saved["model"], rank0)  # rank 0's checkpoint is that model
    two = json.loads((out / "history.json").read_text())
    assert two["distributed"] == {
        "world_size": 2,
        "backend": "gloo",
        "device": "cpu",
        "global_batch": 64,
        "per_rank_batch": 32,
        "sync_batchnorm": False,
    }
    first = two["epochs"][0]  # figures over both ranks, not one
    assert first["train_loss"] == pytest.approx(single["epochs"][0]["train_loss"], rel=1e-4)
    assert first["train_acc"] == single["epochs"][0]["train_acc"]
    assert first["test_acc"] == single["epochs"][0]["test_acc"]
    assert first["test_loss"] == pytest.approx(single["epochs"][0]["test_loss"], rel=1e-4)

    # resume the 2-rank checkpoint in 1 process (other initial weights: all must come from the checkpoint)
    resumed = bn_free_net(seed=123)
    history = fit(resumed, data, CONFIG, out_dir=out, resume=True, progress=False)
    assert [r["epoch"] for r in history["epochs"]] == [1, 2]
    assert history["resumed"][0]["at_epoch"] == 1 and history["resumed"][0]["world_size"] == 1
    same_weights(resumed.state_dict(), straight.state_dict(), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_command_line_under_torchrun_rank0_writes_ranks_agree_and_it_learns(tmp_path, capsys):
    out, dump = tmp_path / "out", tmp_path / "dump"
    args = [
        "train",
        *TINY_RESNEXT,
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--lr",
        "0.1",
        "--dataset",
        "synthetic",
        "--precision",
        "fp32",
        "--device",
        "cpu",
        "--out",
        str(out),
        "--dist-timeout",
        "60",
    ]
    done = torchrun(worker("cli", dump, *args, "--no-progress"))
    assert done.returncode == 0, done.stderr
    assert "batch 32 per rank x 2 ranks = 64 global" in done.stdout
    assert "lr 0.1 for the global batch of 64" in done.stdout
    assert done.stdout.count("final test accuracy") == 1  # rank 0 prints, rank 1 does not
    logs = [json.loads((dump / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [log["rc"] for log in logs] == [0, 0]
    assert logs[1]["writes"] == []  # rank 1 wrote nothing
    assert {Path(p).name for p in logs[0]["writes"]} == {"checkpoint.pt", "history.json"}
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json"]
    rank0, rank1 = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    same_weights(rank0, rank1)  # weights and BatchNorm running averages alike
    same_weights(torch.load(out / "checkpoint.pt", weights_only=True)["model"], rank0)
    history = json.loads((out / "history.json").read_text())
    assert history["epochs"][0]["test_acc"] > 0.25  # chance: 0.10
    assert history["distributed"]["per_rank_batch"] == 32

    # continue the 2-rank run for one more epoch in one plain process
    from resnext_edu.cli import main

    with pytest.warns(UserWarning, match="changed settings"):  # epochs: 1 -> 2
        assert (
            main(
                args[: args.index("--epochs")]
                + ["--epochs", "2"]
                + args[args.index("--epochs") + 2 :]
                + ["--resume", "--no-progress"]
            )
            == 0
        )
    assert "final test accuracy" in capsys.readouterr().out
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == [1, 2]
    assert history["resumed"][0]["at_epoch"] == 1 and history["resumed"][0]["world_size"] == 1


@pytest.mark.slow
def test_a_batch_the_ranks_cannot_share_ends_with_a_clear_message(tmp_path):
    out = tmp_path / "out"
    done = torchrun(
        [
            "-m",
            "resnext_edu",
            "train",
            *TINY_RESNEXT,
            "--batch-size",
            "33",
            "--dataset",
            "synthetic",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--no-progress",
        ],
        timeout=240,
    )
    assert done.returncode != 0
    assert (
        done.stderr.count(
            "The batch size 33 (the global batch, over all ranks) cannot be split evenly over 2 "
            "ranks. Use a multiple of 2, e.g. --batch-size 32 or 34"
        )
        == 1
    )  # said once, by rank 0
    assert not out.exists()


@pytest.mark.slow
def test_a_rank_that_hangs_ends_the_job_after_the_timeout(tmp_path):
    out, dump = tmp_path / "out", tmp_path / "dump"
    done = torchrun(
        worker(
            "stall",
            dump,
            "train",
            *TINY_RESNEXT,
            "--dataset",
            "synthetic",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--no-progress",
            "--dist-timeout",
            "5",
        ),
        timeout=240,
    )  # < rank 1's sleep
    assert done.returncode != 0
    assert "error on rank 0 of 2" in done.stderr and "Timed out" in done.stderr
    assert "--dist-timeout 5 s" in done.stderr
    assert not out.exists()


# --- the worker script torchrun starts (python tests/test_distributed.py MODE DUMP ARGS...) -----------------------


def _worker(mode: str, dump: str, *args: str) -> int:
    """fit: train ``bn_free_net`` for the first of CONFIG's epochs into ``args[0]``; cli: ``python -m resnext_edu
    ARGS``, logging every file written; stall: the same, but rank 1 hangs while loading data. Each rank leaves
    ``DUMP/rank<r>.pt`` (final weights) and, for cli, ``DUMP/rank<r>.json`` (exit code and files written)."""
    dump = Path(dump)
    dump.mkdir(parents=True, exist_ok=True)
    rank = int(os.environ["RANK"])
    if mode == "fit":
        dist = D.from_environment("cpu", timeout=60)
        model = bn_free_net()
        try:
            fit(
                model,
                small_data(),
                CONFIG,
                out_dir=args[0],
                callback=stop_after_first_epoch,
                progress=False,
                distributed=dist,
            )
        except StopAfterFirstEpoch:
            pass
        torch.save(model.state_dict(), dump / f"rank{rank}.pt")
        dist.close()
        return 0

    from resnext_edu import checkpoints, cli, files

    writes, models = [], []
    atomic_write, real_fit, real_load = files.atomic_write, cli.fit, cli.load_cifar10

    def logged_write(path, write):
        writes.append(str(path))
        atomic_write(path, write)

    def keep_model(model, *a, **k):
        models.append(model)
        return real_fit(model, *a, **k)

    def stall(*a, **k):
        time.sleep(3600)
        return real_load(*a, **k)

    import resnext_edu.data as data_module

    # every file goes through atomic_write: checkpoints (checkpoints.py), JSON (files.write_json), the data cache
    checkpoints.atomic_write, files.atomic_write, data_module.atomic_write = (
        logged_write,
        logged_write,
        logged_write,
    )
    cli.fit = keep_model
    if mode == "stall" and rank == 1:
        cli.load_cifar10 = stall
    rc = cli.main(list(args))
    (dump / f"rank{rank}.json").write_text(json.dumps({"rc": rc, "writes": writes}))
    if models:
        torch.save(models[0].state_dict(), dump / f"rank{rank}.pt")
    return rc


if __name__ == "__main__":
    sys.exit(_worker(*sys.argv[1:]))

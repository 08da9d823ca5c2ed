"""Bad input, one table: each case is what a careless or unlucky user does, the error it must end in (an exception
type for the API and the widgets, exit code 2 without a traceback for the command line) and the words the message
must contain, naming what was wrong (issue 16). Where the input could have left something behind (a sweep folder's
settings), the case also checks that nothing was written."""

from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from resnext_edu import blocks, cli, counting, models  # noqa: E402
from resnext_edu import data as D  # noqa: E402
from resnext_edu.checkpoints import CHECKPOINT  # noqa: E402
from resnext_edu.sweep import (  # noqa: E402
    RESULT_FORMAT,
    RunOptions,
    SweepConflict,
    SweepSettings,
    cardinality_configs,
)
from resnext_edu.sweep.results import SETTINGS_FILE, ResultError, load_result  # noqa: E402
from resnext_edu.sweep.run import claim_folder  # noqa: E402
from resnext_edu.train import TrainConfig, fit  # noqa: E402
from resnext_edu.widgets.cardinality_dashboard import CardinalityDashboard  # noqa: E402

SYNTH = [
    "--budget",
    "tiny",
    "--cardinalities",
    "1",
    "--seeds",
    "0",
    "--dataset",
    "synthetic",
    "--subset",
    "64",
    "--batch-size",
    "32",
    "--epochs",
    "1",
    "--test-subset",
    "50",
    "--final-test-subset",
    "50",
]


@dataclass
class Case:
    id: str
    run: (
        Callable[[Path], object] | list[str]
    )  # a callable of tmp_path, or argv of `python -m resnext_edu`
    error: type[BaseException] | int  # the exception, or the CLI's exit code (2)
    words: list[str]  # each must appear in the message (the exception's, or stderr)
    absent: list[str] = field(default_factory=list)  # words the message must not contain
    after: Callable[[Path], None] | None = None  # checks that nothing was left behind
    env: dict = field(default_factory=dict)  # environment variables set for the case


# --- helpers that build the bad things --------------------------------------------------------------------------


def dashboard(**changes):
    def run(tmp):
        board = CardinalityDashboard(device="cpu", repeats=1)
        for name, value in changes.items():
            board.controls[name].value = value

    return run


def good_result(seed: int = 0) -> dict:
    """A result file as the runner writes it (the fields readers use), for the tiny budget's C = 1 model."""
    config = cardinality_configs("tiny", (1,))[0]
    epoch = {
        "epoch": 1,
        "test_acc": 0.5,
        "test_loss": 1.5,
        "train_acc": 0.4,
        "train_loss": 1.7,
        "train_seconds": 2.0,
    }
    return {
        "format": RESULT_FORMAT,
        "run_id": f"{config.key}_seed{seed}",
        "seed": seed,
        "config": config.as_dict(),
        "settings": SweepSettings.for_budget("tiny", epochs=1, subset=500).identity(),
        "data": {},
        "provenance": {},
        "final": {
            "test_acc": 0.5,
            "test_loss": 1.5,
            "train_acc": 0.4,
            "train_loss": 1.7,
            "seconds_per_epoch": 2.0,
            "epochs": 1,
        },
        "history": [epoch],
    }


def edited(edit: Callable[[dict], None]) -> dict:
    raw = good_result()
    edit(raw)
    return raw


def report_of(raw: dict):
    """`sweep-report` over a folder whose only result file is ``raw``: exit 2, the file named with its fault."""

    def run(tmp):
        (tmp / "sweep").mkdir()
        (tmp / "sweep" / "hand-edited.json").write_text(json.dumps(raw))
        return ["sweep-report", str(tmp / "sweep"), "--no-plots"]

    return run


def load_of(raw: dict):
    def run(tmp):
        (tmp / "r.json").write_text(json.dumps(raw))
        load_result(tmp / "r.json")

    return run


def sweep(*extra: str, out: str = "sweep"):
    return lambda tmp: ["sweep", *SYNTH, *extra, "--out", str(tmp / out)]


def nothing_written(tmp: Path) -> None:
    assert not (tmp / "sweep" / SETTINGS_FILE).exists() and not list((tmp / "sweep").glob("*.json"))


def a_file(tmp: Path, name: str = "file") -> Path:
    (tmp / name).write_text("not a folder")
    return tmp / name


def read_only(tmp):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere: a read-only folder cannot be made")
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o555)
    return ["sweep", *SYNTH, "--out", str(tmp / "ro" / "sweep")]


def claimed(tmp):
    """A folder a sweep with 2 epochs has claimed; this one asks for 1."""
    (tmp / "sweep").mkdir()
    claim_folder(tmp / "sweep", {**SETTINGS_1.identity(), "epochs": 2})
    return ["sweep", *SYNTH, "--out", str(tmp / "sweep")]


SETTINGS_1 = SweepSettings.for_budget(
    "tiny",
    epochs=1,
    batch_size=32,
    subset=64,
    test_subset=50,
    final_test_subset=50,
    dataset="synthetic",
)


def settings_1(**changes) -> SweepSettings:
    """SETTINGS_1 with some training settings changed."""
    return SweepSettings.for_budget("tiny", **{**SETTINGS_1.identity(), **changes})


def cache_with(**changes):
    """A CIFAR-10 cache (the only source) with some fields replaced: load_cifar10 must name the file and the fault."""

    def run(tmp):
        state = {
            "train_images": torch.zeros(20, 3, 32, 32, dtype=torch.uint8),
            "train_labels": torch.arange(20) % 10,
            "test_images": torch.zeros(10, 3, 32, 32, dtype=torch.uint8),
            "test_labels": torch.arange(10),
            "classes": list(D.CLASSES),
            "source": "made for a test",
            "synthetic": False,
        }
        state.update(changes)
        (tmp / "cache").mkdir()
        torch.save(
            state if "whole" not in changes else changes["whole"], tmp / "cache" / D.CACHE_NAME
        )
        os.environ.pop(D.ENV_VAR, None)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            D.load_cifar10(cache_dir=tmp / "cache", download=False)

    return run


class Planted:
    """What an attacker's pickle would hold (here harmless): an object that is no tensor."""

    def __reduce__(self):
        return (print, ("this ran while unpickling",))


def planted_cache(tmp):
    (tmp / "cache").mkdir()
    with open(tmp / "cache" / D.CACHE_NAME, "wb") as f:
        pickle.dump({"train_images": Planted()}, f)
    os.environ.pop(D.ENV_VAR, None)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        D.load_cifar10(cache_dir=tmp / "cache", download=False)


def explicit_folder_missing_beside_a_cache(tmp):
    cache_with()(tmp)  # a good cache exists ...
    D.load_cifar10(
        tmp / "no-such-folder", cache_dir=tmp / "cache", download=False
    )  # ... the typo still counts


# --- phase 2: models, counting, training, checkpoints -------------------------------------------------------------

TINY = dict(stage_widths=(8, 16, 32), stem_width=8)
TRAIN = "train --model resnext11_2x32d --stage-widths 8 16 32 --stem-width 8".split()
TRAIN += "--dataset synthetic --subset 64 --test-subset 20 --batch-size 32 --epochs 1".split()
TRAIN += "--no-progress --device cpu --precision fp32".split()
CPU = TrainConfig(epochs=1, batch_size=32, device="cpu", precision="fp32")


def tiny_data():
    return D.load_cifar10(dataset="synthetic", subset=64, test_subset=20)


def fit_with(model=None, data="tiny", **kwargs):
    return lambda tmp: fit(
        models.create("resnext11_2x32d", **TINY) if model is None else model,
        tiny_data() if data == "tiny" else data,
        CPU,
        progress=False,
        **kwargs,
    )


def train(*extra: str, out: str = "run"):
    return lambda tmp: [*TRAIN, *extra, "--out", str(tmp / out)]


def nothing_trained(tmp: Path) -> None:
    assert not list(tmp.rglob(CHECKPOINT)) and not list(tmp.rglob("history.json")), (
        "something was trained"
    )


def checkpoint_then(change: Callable[[Path], None]):
    """A run of one epoch in tmp/run, its checkpoint then changed; `train --resume` must refuse it by name."""

    def run(tmp):
        fit(
            models.create("resnext11_2x32d", **TINY),
            tiny_data(),
            CPU,
            out_dir=tmp / "run",
            progress=False,
        )
        change(tmp / "run" / CHECKPOINT)
        return [*TRAIN, "--epochs", "2", "--resume", "--out", str(tmp / "run")]

    return run


def edit_checkpoint(edit: Callable[[dict], None]):
    def change(path: Path) -> None:
        state = torch.load(path, weights_only=True)
        edit(state)
        torch.save(state, path)

    return change


def plant(path: Path) -> None:
    with open(path, "wb") as f:
        pickle.dump(
            {"model": Planted()}, f, protocol=2
        )  # torch.load's own protocol: no warning about it


def checkpoint_folder_in_the_way(tmp):
    (tmp / "run" / CHECKPOINT).mkdir(parents=True)  # a folder where the checkpoint file goes
    return [*TRAIN, "--overwrite", "--out", str(tmp / "run")]


TORCHRUN = {
    "WORLD_SIZE": "2",
    "RANK": "0",
    "LOCAL_RANK": "0",
    "MASTER_ADDR": "127.0.0.1",
    "MASTER_PORT": "29500",
}


# --- the table ----------------------------------------------------------------------------------------------------

CASES = [
    # lesson 04's cardinality dashboard: values set from code, and its arguments
    Case(
        "dashboard C=2.5",
        dashboard(cardinality=2.5),
        ValueError,
        ["C (cardinality)", "2.5", "whole number"],
    ),
    Case(
        "dashboard C='8'",
        dashboard(cardinality="8"),
        ValueError,
        ["C (cardinality)", "'8'", "whole number"],
    ),
    Case("dashboard C=True", dashboard(cardinality=True), ValueError, ["C (cardinality)", "True"]),
    Case(
        "dashboard C above the slider",
        dashboard(cardinality=100),
        ValueError,
        ["C (cardinality)", "1 to 64", "100"],
    ),
    Case(
        "dashboard d=0",
        dashboard(bottleneck_width=0),
        ValueError,
        ["d (bottleneck width)", "1 to 64", "0"],
    ),
    Case(
        "dashboard d=4.0",
        dashboard(bottleneck_width=4.0),
        ValueError,
        ["d (bottleneck width)", "4.0", "float"],
    ),
    Case(
        "dashboard constructor C=10**6",
        lambda tmp: CardinalityDashboard(10**6),
        ValueError,
        ["C (cardinality)", "1000000", "1 to 64"],
    ),
    Case(
        "dashboard constructor C=2.5",
        lambda tmp: CardinalityDashboard(2.5),
        ValueError,
        ["C (cardinality)", "2.5"],
    ),
    Case(
        "dashboard hold_d='yes'",
        lambda tmp: CardinalityDashboard(hold_d="yes"),
        ValueError,
        ["hold_d", "'yes'"],
    ),
    # hand-edited result files: named and skipped, never a TypeError (sweep-report: exit 2 when nothing is left)
    Case(
        "result seed '0'",
        report_of(edited(lambda r: r.update(seed="0"))),
        2,
        ["hand-edited.json", "seed", "'0'"],
    ),
    Case(
        "result cardinality '1'",
        report_of(edited(lambda r: r["config"].update(cardinality="1"))),
        2,
        ["hand-edited.json", "cardinality", "'1'"],
    ),
    Case(
        "result stage_widths a string",
        report_of(edited(lambda r: r["config"].update(stage_widths="8,16,32"))),
        2,
        ["stage_widths", "'8,16,32'"],
    ),
    Case(
        "result final test_acc '0.5'",
        report_of(edited(lambda r: r["final"].update(test_acc="0.5"))),
        2,
        ["final", "test_acc", "'0.5'"],
    ),
    Case(
        "result settings epochs '1'",
        report_of(edited(lambda r: r["settings"].update(epochs="1"))),
        2,
        ["settings", "epochs", "'1'"],
    ),
    Case(
        "result settings subset 5.5",
        report_of(edited(lambda r: r["settings"].update(subset=5.5))),
        2,
        ["subset", "5.5", "whole number", "Or null"],
    ),
    Case(
        "result accuracy 1.5",
        load_of(edited(lambda r: r["history"][0].update(test_acc=1.5))),
        ResultError,
        ["history[0]", "test_acc", "1.5", "[0, 1]"],
    ),
    Case(
        "result epoch without train_loss",
        load_of(edited(lambda r: r["history"][0].pop("train_loss"))),
        ResultError,
        ["history[0]", "train_loss"],
    ),
    Case(
        "result no epochs",
        load_of(edited(lambda r: r.update(history=[]))),
        ResultError,
        ["history", "epochs []", "at least one"],
    ),
    Case(
        "result epochs out of order",
        load_of(edited(lambda r: r["history"][0].update(epoch=2))),
        ResultError,
        ["history", "epochs [2]", "expected 1, 2, 3"],
    ),
    Case(
        "result without a seed",
        load_of(edited(lambda r: r.pop("seed"))),
        ResultError,
        ["the file lacks 'seed'"],
    ),
    Case(
        "result final null",
        load_of(edited(lambda r: r.update(final=None))),
        ResultError,
        ["final", "not as a sweep writes it", "NoneType"],
    ),
    Case(
        "result run_id edited",
        load_of(edited(lambda r: r.update(run_id="tiny-1x_resnet29_seed7"))),
        ResultError,
        ["run_id", "seed7", "does not match"],
    ),
    Case(
        "result loss NaN",
        load_of(edited(lambda r: r["final"].update(test_loss=float("nan")))),
        ResultError,
        ["test_loss", "nan", "finite"],
    ),
    Case(
        "result seed true",
        load_of(edited(lambda r: r.update(seed=True))),
        ResultError,
        ["seed", "True"],
    ),
    # sweep settings: refused before anything is written into the folder
    Case("sweep --epochs 0", sweep("--epochs", "0"), 2, ["epochs", "0"], after=nothing_written),
    Case(
        "sweep --batch-size above the subset",
        sweep("--batch-size", "128"),
        2,
        ["--batch-size", "128", "64"],
        after=nothing_written,
    ),
    Case("sweep --lr -1", sweep("--lr", "-1"), 2, ["lr", "-1"], after=nothing_written),
    Case(
        "sweep --lr nan", sweep("--lr", "nan"), 2, ["--lr", "nan", "finite"], after=nothing_written
    ),
    Case(
        "sweep --subset above the set",
        sweep("--subset", "5000"),
        2,
        ["--subset", "5,000", "2,000"],
        after=nothing_written,
    ),
    Case(
        "sweep --weight-decay -1",
        sweep("--weight-decay", "-1"),
        2,
        ["weight_decay", "-1", "5e-4"],
        after=nothing_written,
    ),
    Case("sweep --warmup 1", sweep("--warmup", "1"), 2, ["warmup", "1"], after=nothing_written),
    Case(
        "sweep --threads 0", sweep("--threads", "0"), 2, ["--threads", "0"], after=nothing_written
    ),
    Case(
        "sweep --out is a file",
        lambda tmp: ["sweep", *SYNTH, "--out", str(a_file(tmp))],
        2,
        ["--out", "is a file, not a folder"],
    ),
    Case(
        "sweep --out inside a file",
        lambda tmp: ["sweep", *SYNTH, "--out", str(a_file(tmp) / "sub")],
        2,
        ["--out", "inside", "a file, not a folder"],
    ),
    Case("sweep --out read-only", read_only, 2, ["--out", "cannot be written"]),
    Case(
        "sweep --data-dir is a file",
        lambda tmp: [
            "sweep",
            "--budget",
            "tiny",
            "--cardinalities",
            "1",
            "--seeds",
            "0",
            "--subset",
            "64",
            "--batch-size",
            "32",
            "--data-dir",
            str(a_file(tmp)),
            "--out",
            str(tmp / "sweep"),
        ],
        2,
        ["is a file, not a folder"],
        after=nothing_written,
    ),
    Case(
        "sweep on a folder claimed by other settings",
        claimed,
        2,
        ["epochs is 2 there, 1 here", "another --out"],
        after=lambda tmp: (
            None if not list((tmp / "sweep").glob("tiny-*.json")) else pytest.fail("trained")
        ),
    ),
    Case(
        "run_sweep on a claimed folder (API)",
        lambda tmp: (
            claimed(tmp),
            __import__("resnext_edu.sweep", fromlist=["run_sweep"]).run_sweep(
                [], SETTINGS_1, tmp / "sweep"
            ),
        ),
        SweepConflict,
        ["epochs is 2 there, 1 here"],
    ),
    Case(
        "SweepSettings epochs '2'",
        lambda tmp: settings_1(epochs="2"),
        ValueError,
        ["epochs", "'2'"],
    ),
    Case("SweepSettings subset 0", lambda tmp: settings_1(subset=0), ValueError, ["subset", "0"]),
    Case(
        "SweepSettings dataset imagenet",
        lambda tmp: settings_1(dataset="imagenet"),
        ValueError,
        ["dataset", "'imagenet'", "cifar10"],
    ),
    # sweep --list: a newline in a path would split a printed command in two
    Case(
        "sweep --list --out with a newline",
        lambda tmp: ["sweep", "--list", "--budget", "tiny", "--out", "a\ntouch pwned"],
        2,
        ["--out", "line break"],
    ),
    Case(
        "sweep --list --data-dir with a CR",
        lambda tmp: ["sweep", "--list", "--budget", "tiny", "--data-dir", "x\ry"],
        2,
        ["--data-dir", "line break"],
    ),
    Case(
        "sweep --list --device with a newline",
        lambda tmp: ["sweep", "--list", "--budget", "tiny", "--device", "cpu\nreboot"],
        2,
        ["--device", "line break"],
    ),
    # sweep-report
    Case(
        "sweep-report --plots is a file",
        lambda tmp: ["sweep-report", str(tmp), "--plots", str(a_file(tmp))],
        2,
        ["--plots", "is a file, not a folder"],
    ),
    Case(
        "sweep-report --metric unknown",
        lambda tmp: ["sweep-report", str(tmp), "--metric", "acc"],
        2,
        ["'acc'", "test_acc"],
    ),
    # data folders and the cache
    Case(
        "data_dir is a file",
        lambda tmp: D.load_cifar10(a_file(tmp), cache_dir=tmp, download=False),
        D.DataNotFoundError,
        ["is a file, not a folder", "file"],
    ),
    Case(
        "explicit data_dir missing beside a good cache",
        explicit_folder_missing_beside_a_cache,
        D.DataNotFoundError,
        ["no-such-folder", "no such folder"],
    ),
    Case(
        "cache labels out of range",
        cache_with(train_labels=torch.arange(20) % 10 + 5),
        D.DataNotFoundError,
        [D.CACHE_NAME, "labels from 5 to 14", "outside 0 to 9", "Delete it"],
    ),
    Case(
        "cache negative test labels",
        cache_with(test_labels=torch.arange(10) - 1),
        D.DataNotFoundError,
        ["test labels from -1"],
    ),
    Case(
        "cache uint8 labels",
        cache_with(train_labels=(torch.arange(20) % 10).to(torch.uint8)),
        D.DataNotFoundError,
        ["train images", "torch.uint8", "int64"],
    ),
    Case(
        "cache 28x28 images",
        cache_with(test_images=torch.zeros(10, 3, 28, 28, dtype=torch.uint8)),
        D.DataNotFoundError,
        ["test images of shape (10, 3, 28, 28)", "(N, 3, 32, 32)"],
    ),
    Case(
        "cache fewer labels than images",
        cache_with(train_labels=torch.arange(10)),
        D.DataNotFoundError,
        ["train images", "(20, 3, 32, 32)", "(10,)"],
    ),
    Case(
        "cache float images",
        cache_with(train_images=torch.zeros(20, 3, 32, 32)),
        D.DataNotFoundError,
        ["torch.float32", "uint8"],
    ),
    Case(
        "cache a class with no training image",
        cache_with(train_labels=torch.arange(20) % 9),
        D.DataNotFoundError,
        ["no training image of class", "truck"],
    ),
    Case(
        "cache not a dict",
        cache_with(whole=[torch.zeros(3)]),
        D.DataNotFoundError,
        ["not a CIFAR-10 cache"],
    ),
    Case(
        "cache a planted pickle",
        planted_cache,
        D.DataNotFoundError,
        ["weights_only=True", "Do not load it with weights_only=False", "run any code"],
        absent=["will likely succeed"],
    ),
    # huge sizes: estimated before anything is built, refused with the figure and the limit
    Case(
        "count resnext29_1000000x4d",
        ["count", "resnext29_1000000x4d"],
        2,
        ["resnext29_1000000x4d", "C = 1,000,000", "parameters", "limit of 1,000,000,000"],
    ),
    Case(
        "count --input-size 20000",
        ["count", "resnext29_8x64d", "--input-size", "20000"],
        2,
        ["20,000x20,000", "GiB of feature maps", "limit of 80 GiB"],
    ),
    Case(
        "count --input-size 0",
        ["count", "resnext29_8x64d", "--input-size", "0"],
        2,
        ["input_size", "0"],
    ),
    Case(
        "train --model resnext29_100000x64d",
        lambda tmp: [*TRAIN[:2], "resnext29_100000x64d", *TRAIN[3:], "--out", str(tmp / "run")],
        2,
        ["resnext29_100000x64d", "C = 100,000", "limit of 1,000,000,000"],
        after=nothing_trained,
    ),
    Case(
        "block C=10**6 in form C",
        lambda tmp: blocks.ResNeXtBlock(256, 256, cardinality=10**6, bottleneck_width=4),
        ValueError,
        ["C = 1,000,000", "2,192,000,000 parameters", "limit of 1,000,000,000"],
    ),  # 4e6 x (256+36+256)
    Case(
        "block C=10**6 in form A",
        lambda tmp: blocks.ResNeXtBlock(256, 256, cardinality=10**6, bottleneck_width=1, form="A"),
        ValueError,
        ["Form A", "1,000,000", "1,024", "form 'C'"],
    ),
    Case(
        "count a module at 20000 px (API)",
        lambda tmp: counting.count(models.create("resnext11_2x32d", **TINY), 20000),
        ValueError,
        ["20,000x20,000", "limit of 80 GiB"],
    ),
    # blocks and models: arguments
    Case(
        "create stage_widths=8",
        lambda tmp: models.create("resnext29_8x64d", stage_widths=8),
        TypeError,
        ["stage_widths", "got 8", "(64, 128, 256)"],
    ),
    Case(
        "create blocks_per_stage=3",
        lambda tmp: models.create("resnext29_8x64d", blocks_per_stage=3),
        TypeError,
        ["blocks_per_stage", "got 3"],
    ),
    Case(
        "create blocks_per_stage with True",
        lambda tmp: models.create("resnext29_8x64d", blocks_per_stage=(1, True, 1)),
        ValueError,
        ["blocks_per_stage", "True"],
    ),
    Case(
        "create residual='no'",
        lambda tmp: models.create("resnext29_8x64d", residual="no"),
        TypeError,
        ["residual", "'no'", "True", "False"],
    ),
    Case(
        "create residual=False with a shortcut",
        lambda tmp: models.create("resnext29_8x64d", residual=False, shortcut="projection-always"),
        ValueError,
        ["residual=False", "'projection-always'", "no shortcut"],
    ),
    Case(
        "block residual=False with a shortcut",
        lambda tmp: blocks.ResNeXtBlock(
            64, 64, cardinality=2, bottleneck_width=4, residual=False, shortcut="projection-always"
        ),
        ValueError,
        ["residual=False", "projection-always"],
    ),
    Case(
        "basic block residual=1",
        lambda tmp: blocks.BasicBlock(8, 8, residual=1),
        TypeError,
        ["residual", "1"],
    ),
    Case(
        "create num_classes=0",
        lambda tmp: models.create("resnext29_8x64d", num_classes=0),
        ValueError,
        ["num_classes", "0"],
    ),
    Case(
        "create cardinality 4.0",
        lambda tmp: models.create("resnext29_8x64d", cardinality=4.0),
        ValueError,
        ["cardinality", "4.0"],
    ),
    # fit: checked before the first step
    Case("fit(model, None)", fit_with(data=None), TypeError, ["data", "CIFAR10Data", "NoneType"]),
    Case(
        "fit of a model name",
        fit_with(model="resnext29_8x64d"),
        TypeError,
        ["model", "nn.Module", "str"],
    ),
    Case(
        "fit of a 5-class model on 10-class data",
        fit_with(models.create("resnext11_2x32d", num_classes=5, **TINY)),
        ValueError,
        ["(1, 5)", "10 classes", "num_classes=10"],
    ),
    Case(
        "fit out_dir is a file",
        lambda tmp: fit_with(out_dir=a_file(tmp))(tmp),
        ValueError,
        ["out_dir (--out)", "is a file, not a folder"],
        after=nothing_trained,
    ),
    Case("fit resume without out_dir", fit_with(resume=True), ValueError, ["resume needs out_dir"]),
    # train CLI
    Case(
        "train --out is a file",
        lambda tmp: [*TRAIN, "--out", str(a_file(tmp))],
        2,
        ["--out", "is a file, not a folder"],
        after=nothing_trained,
    ),
    Case(
        "train --out inside a file",
        lambda tmp: [*TRAIN, "--out", str(a_file(tmp) / "run")],
        2,
        ["--out", "inside", "a file, not a folder"],
        after=nothing_trained,
    ),
    Case(
        "train --device foo",
        train("--device", "foo"),
        2,
        ["device", "'foo'", "'cpu'"],
        after=nothing_trained,
    ),
    Case(
        "train --lr 1e6 (a finite divergence)",
        train("--lr", "1e6", "--warmup", "0"),
        2,
        ["diverged", "more than 10 x ln(classes) = 23.0", "smaller lr"],
    ),
    Case("train --epochs 0", train("--epochs", "0"), 2, ["epochs", "0"], after=nothing_trained),
    Case(
        "train --weight-decay -1",
        train("--weight-decay", "-1"),
        2,
        ["weight_decay", "-1", "[0, 1)", "5e-4"],
        after=nothing_trained,
    ),
    Case(
        "train --momentum 1.5",
        train("--momentum", "1.5"),
        2,
        ["momentum", "1.5", "[0, 1)", "0.9"],
        after=nothing_trained,
    ),
    Case(
        "train: checkpoint.pt is a folder (an OSError)",
        checkpoint_folder_in_the_way,
        2,
        ["checkpoint.pt"],
    ),
    Case(
        "WORLD_SIZE=abc",
        train(),
        2,
        ["WORLD_SIZE", "'abc'", "whole number"],
        env={"WORLD_SIZE": "abc"},
        after=nothing_trained,
    ),
    Case(
        "RANK beyond WORLD_SIZE",
        train(),
        2,
        ["RANK", "'5'", "from 0 to 1"],
        env={**TORCHRUN, "RANK": "5"},
    ),
    Case("WORLD_SIZE=0", train(), 2, ["WORLD_SIZE", "'0'", ">= 1"], env={"WORLD_SIZE": "0"}),
    # checkpoints: a resume reads only what fit() wrote
    Case(
        "resume without an optimizer entry",
        checkpoint_then(edit_checkpoint(lambda s: s.pop("optimizer"))),
        2,
        ["checkpoint.pt", "lacks optimizer", "cannot be resumed"],
    ),
    Case(
        "resume a checkpoint of format 99",
        checkpoint_then(edit_checkpoint(lambda s: s.update(format=99))),
        2,
        ["format 99", "reads format 1"],
    ),
    Case(
        "resume a truncated checkpoint",
        checkpoint_then(lambda p: p.write_bytes(p.read_bytes()[:500])),
        2,
        ["checkpoint.pt", "cannot be read", "truncated"],
    ),
    Case(
        "resume a planted pickle",
        checkpoint_then(plant),
        2,
        ["weights_only=True", "Do not load it with weights_only=False", "run any code"],
        absent=["will likely succeed"],
    ),
    # sweeps: a device this machine lacks, a diverging run
    Case(
        "sweep --device foo",
        sweep("--device", "foo"),
        2,
        ["device", "'foo'"],
        after=nothing_written,
    ),
    Case(
        "run_sweep device='foo' (API)",
        lambda tmp: __import__("resnext_edu.sweep", fromlist=["run_sweep"]).run_sweep(
            [], settings_1(device="foo"), tmp / "sweep"
        ),
        ValueError,
        ["'foo'"],
        after=nothing_written,
    ),
    Case(
        "sweep --lr 1e6: recorded as diverged, exit 3",
        sweep("--lr", "1e6", "--warmup", "0", "--no-progress"),
        3,
        ["problem: run tiny-1x_resnet29_seed0 diverged", "smaller --lr"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_a_clear_error(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        D.ENV_VAR, os.environ.get(D.ENV_VAR, "")
    )  # cases may unset it; restored afterwards
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    if isinstance(case.error, int):
        argv = case.run(tmp_path) if callable(case.run) else case.run
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # argparse's own errors
            code = exit_.code
        err = capsys.readouterr().err
        assert code == case.error, err
        assert "Traceback" not in err
        message = err
    else:
        with pytest.raises(case.error) as info:
            case.run(tmp_path)
        message = str(info.value)
    for word in case.words:
        assert word in message, f"{word!r} not in: {message}"
    for word in case.absent:
        assert word not in message, f"{word!r} in: {message}"
    if case.after is not None:
        case.after(tmp_path)


# --- phase 2: the right behaviour, where there is no error to give -------------------------------------------------


def test_numpy_integers_are_accepted_and_stored_as_int():
    import numpy as np

    model = models.create(
        "resnext11_2x32d",
        cardinality=np.int64(4),
        stage_widths=np.array([8, 16, 32]),
        stem_width=np.int32(8),
    )
    assert type(model.config.cardinality) is int and all(
        type(w) is int for w in model.config.stage_widths
    )
    json.dumps(model.config.__dict__)  # histories and checkpoints hold it
    block = blocks.ResNeXtBlock(
        np.int64(16), 16, cardinality=np.int16(2), bottleneck_width=np.uint8(4)
    )
    assert type(block.cardinality) is int and block.conv2.groups == 2


def test_fit_removes_stale_temporary_files_of_its_checkpoint(tmp_path, one_thread):
    run = tmp_path / "run"
    run.mkdir()
    stale = [run / f"{CHECKPOINT}k1ll3d.tmp", run / "history.jsonx7.tmp"]
    keep = run / "notes.txt.tmp"  # not a file fit writes: left alone
    for path in stale + [keep]:
        path.write_bytes(b"half a file")
    fit(models.create("resnext11_2x32d", **TINY), tiny_data(), CPU, out_dir=run, progress=False)
    assert not any(p.exists() for p in stale) and keep.exists() and (run / CHECKPOINT).is_file()


def test_a_resume_applies_a_new_lr_and_weight_decay_and_records_them(tmp_path, one_thread):
    """The "step" schedule keeps the peak lr for the first half of the epochs (the paper's recipe: lr / 10 at 50%),
    so epoch 2 of 4 trains at exactly the lr given, whatever the checkpoint's optimiser held."""
    config = TrainConfig(
        epochs=1, batch_size=32, device="cpu", precision="fp32", schedule="step", lr=0.05
    )
    fit(
        models.create("resnext11_2x32d", **TINY),
        tiny_data(),
        config,
        out_dir=tmp_path,
        progress=False,
    )
    seen = []
    with pytest.warns(
        UserWarning, match=r"(?s)'lr': \(0.05, 0.01\).*applied to the loaded optimiser"
    ):
        history = fit(
            models.create("resnext11_2x32d", **TINY),
            tiny_data(),
            TrainConfig(**{**config.__dict__, "epochs": 4, "lr": 0.01, "weight_decay": 1e-3}),
            out_dir=tmp_path,
            resume=True,
            progress=False,
            callback=lambda record, history: seen.append(record["lr"]),
        )
    assert history["epochs"][1]["lr"] == 0.01 and seen[0] == 0.01
    assert history["resumed"][-1]["changed"] == {
        "epochs": [1, 4],
        "lr": [0.05, 0.01],
        "weight_decay": [5e-4, 1e-3],
    }
    state = torch.load(tmp_path / CHECKPOINT, weights_only=True)
    assert all(
        g["weight_decay"] == 1e-3 and g["initial_lr"] == 0.01
        for g in state["optimizer"]["param_groups"]
    )
    assert json.loads((tmp_path / "history.json").read_text())["config"]["lr"] == 0.01


def test_the_divergence_advice_can_be_followed(tmp_path, one_thread):
    """A run that diverges says "--resume --lr X"; doing that continues from the last good checkpoint."""
    from resnext_edu.train import TrainingDiverged

    config = TrainConfig(
        epochs=1, batch_size=32, device="cpu", precision="fp32", schedule="step", lr=0.05
    )
    fit(
        models.create("resnext11_2x32d", **TINY),
        tiny_data(),
        config,
        out_dir=tmp_path,
        progress=False,
    )
    before = (tmp_path / CHECKPOINT).read_bytes()
    with (
        pytest.raises(TrainingDiverged, match=r"--resume --lr 1e\+04") as info,
        pytest.warns(UserWarning, match="applied"),
    ):
        fit(
            models.create("resnext11_2x32d", **TINY),
            tiny_data(),
            TrainConfig(**{**config.__dict__, "epochs": 2, "lr": 1e5}),
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )
    assert (tmp_path / CHECKPOINT).read_bytes() == before  # the last good checkpoint is unchanged
    message = str(info.value)
    for attempt in range(8):  # "divide again if it diverges again": a tenth each time
        smaller = float(message.split("--resume --lr ")[1].split()[0])
        try:
            with pytest.warns(UserWarning, match="applied"):
                history = fit(
                    models.create("resnext11_2x32d", **TINY),
                    tiny_data(),
                    TrainConfig(**{**config.__dict__, "epochs": 2, "lr": smaller}),
                    out_dir=tmp_path,
                    resume=True,
                    progress=False,
                )
            break
        except TrainingDiverged as again:
            message = str(again)
            assert (tmp_path / CHECKPOINT).read_bytes() == before
    # the paper's step schedule: epoch 2 of 2 is past 50%, so it trains at a tenth of the (new) peak lr
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    assert history["epochs"][1]["lr"] == pytest.approx(smaller / 10)
    assert history["resumed"][-1]["changed"]["lr"] == [0.05, smaller]


def test_a_diverging_or_damaged_run_does_not_stop_the_others(tmp_path, one_thread):
    from resnext_edu.sweep import plan, run_sweep

    runs = plan(cardinality_configs("tiny", (1, 2)), [0])
    lines = []
    options = RunOptions(progress=False, print_fn=lines.append)
    outcome = run_sweep(runs, settings_1(lr=1e6, warmup=0.0), tmp_path / "hot", options)
    assert (
        outcome.diverged == [r.run_id for r in runs]
        and not outcome.trained
        and not outcome.complete
    )
    assert all(any(f"run {r.run_id} diverged" in p for p in outcome.problems) for r in runs)

    out = tmp_path / "damaged"  # run 1 was interrupted and its checkpoint truncated; run 2 is new
    folder = out / "runs" / runs[0].run_id
    fit(
        runs[0].config.create(),
        tiny_data(),
        settings_1(device="cpu").config(0),
        out_dir=folder,
        progress=False,
    )
    (folder / CHECKPOINT).write_bytes((folder / CHECKPOINT).read_bytes()[:300])
    outcome = run_sweep(runs, SETTINGS_1, out, options)
    assert outcome.damaged == [runs[0].run_id] and outcome.trained == [runs[1].run_id]
    assert (out / f"{runs[1].run_id}.json").is_file() and not (
        out / f"{runs[0].run_id}.json"
    ).exists()
    message = next(p for p in outcome.problems if runs[0].run_id in p)
    assert (
        str(folder / CHECKPOINT) in message
        and f"Delete {folder}" in message
        and "another --out" not in message
    )

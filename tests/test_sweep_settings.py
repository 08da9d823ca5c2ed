"""One source for training settings: the options of `train` and `sweep`, a sweep's identity and
`--list`'s commands all come from TrainConfig's fields; the budgets' recipes are pinned to what the
shipped result files record."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from resnext_edu import cli, sweep
from resnext_edu.sweep import (
    SHIPPED,
    SweepConflict,
    SweepSettings,
    settings_from_args,
    sweep_argv,
)
from resnext_edu.sweep.run import claim_folder
from resnext_edu.train import TrainConfig

# TrainConfig with one more field, declared as a learner would add a setting: nothing else is edited
Extended = dataclasses.make_dataclass(
    "Extended",
    [("mixup", float, dataclasses.field(default=0.0, metadata={"help": "mixup strength"}))],
    bases=(TrainConfig,),
)


def test_a_new_field_is_an_option_of_both_commands_and_part_of_a_sweeps_identity(tmp_path):
    parser = cli.build_parser(config=Extended)
    args = parser.parse_args(["train", "--model", "resnet29", "--mixup", "0.3", "--epochs", "2"])
    config = cli.train_config_from_args(args)
    assert type(config) is Extended and (config.mixup, config.epochs) == (0.3, 2)
    assert "mixup strength" in parser._subparsers._group_actions[0].choices["train"].format_help()

    args = parser.parse_args(["sweep", "--budget", "tiny", "--mixup", "0.3"])
    settings = settings_from_args(args, "tiny", args.config_class)
    assert settings.train.mixup == 0.3 and settings.identity()["mixup"] == 0.3
    plain = settings_from_args(parser.parse_args(["sweep", "--budget", "tiny"]), "tiny", Extended)
    assert plain.identity()["mixup"] == 0.0
    argv = sweep_argv("tiny", [1], [0], settings, "out")
    assert argv[argv.index("--mixup") + 1] == "0.3" and "--mixup" not in sweep_argv(
        "tiny", [1], [0], plain, "o"
    )
    again = parser.parse_args(argv[3:])
    assert settings_from_args(again, again.budget, Extended) == settings
    claim_folder(tmp_path, plain.identity())  # a folder of mixup 0 refuses mixup 0.3
    with pytest.raises(SweepConflict, match=r"mixup is 0.0 there, 0.3 here"):
        claim_folder(tmp_path, settings.identity())


def test_every_option_is_a_field_and_every_field_an_option():
    """Both commands' training options are exactly TrainConfig's fields (the sweep's: all but seed,
    which it takes per run from --seeds, plus its data choices)."""
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    train = {a.dest for a in commands["train"]._actions}
    swept = {a.dest for a in commands["sweep"]._actions}
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert names <= train and names - {"seed"} <= swept and "seed" not in swept
    assert {"dataset", "subset", "test_subset", "final_test_subset"} <= swept


@pytest.mark.parametrize(
    "budget, changes",
    [
        ("lesson", {}),
        ("full", {}),
        ("lesson", {"label_smoothing": 0.1, "nesterov": True, "subset": None}),
        (
            "full",
            {
                "nesterov": False,
                "resize_schedule": ((16, 0.4), (24, 0.3)),
                "channels_last": True,
                "device": "cpu",
                "lr": 1e-3,
                "dataset": "synthetic",
                "subset": 256,
                "final_test_subset": None,
            },
        ),
        (
            "tiny",
            {"schedule": "step", "compile": True, "eval_from": 3, "momentum": 0.8, "warmup": 0.0},
        ),
    ],
)
def test_sweep_argv_reads_back_to_the_same_settings(budget, changes):
    settings = SweepSettings.for_budget(budget, **changes)
    argv = sweep_argv(budget, [1, 2], [0, 1], settings, "a folder")
    args = cli.build_parser().parse_args(shlex.split(shlex.join(argv))[3:])
    assert settings_from_args(args, args.budget) == settings and args.out == "a folder"


@pytest.mark.parametrize("budget", ["lesson", "full"])
def test_a_budgets_recipe_is_what_its_shipped_files_record(budget):
    """`--budget lesson` and `--budget full` train as their shipped sweeps did, whatever
    TrainConfig's defaults or train.FAST_RECIPE become: every setting the files record equals the
    budget's, and every setting of the budget's recipe is recorded there."""
    files = sorted((SHIPPED / budget).glob("*.json"))
    assert files
    recipe = SweepSettings.for_budget(budget).identity()
    for path in files:
        recorded = json.loads(path.read_text())["settings"]
        assert {k: recipe.get(k, "not a setting") for k in recorded} == recorded, path.name
        assert set(sweep.RECIPES[budget]) <= set(recorded), path.name


def test_one_option_changes_one_setting_of_the_budgets():
    parser = cli.build_parser()
    full = settings_from_args(parser.parse_args(["sweep", "--budget", "full"]), "full")
    changed = settings_from_args(
        parser.parse_args(
            [
                "sweep",
                "--budget",
                "full",
                "--no-nesterov",
                "--crop-padding",
                "4",
                "--subset",
                "5000",
            ]
        ),
        "full",
    )
    assert (changed.train.nesterov, changed.train.crop_padding, changed.subset) == (False, 4, 5000)
    assert (
        dataclasses.replace(
            changed,
            subset=None,
            train=dataclasses.replace(changed.train, nesterov=True, crop_padding=1),
        )
        == full
    )

"""Lesson 05's explorer and train button, driven without a browser on hand-made result files whose
means and spreads are worked out by hand here."""

from __future__ import annotations

import html
import json
import statistics

import matplotlib
import pytest

matplotlib.use("Agg")

from scipy import stats as scipy_stats

from resnext_edu.sweep import (
    RESULT_FORMAT,
    SweepSettings,
    cardinality_configs,
    table4_configs,
)
from resnext_edu.widgets.sweep_explorer import (
    SweepExplorer,
    TrainButton,
    projected_half_width,
    resample,
)

# final test accuracy (fraction) per cardinality and seed, and a 3-epoch curve each
ACCS = {1: {0: 0.50, 1: 0.52, 2: 0.57}, 2: {0: 0.55, 1: 0.51, 2: 0.53}}
CURVES = {1: [0.2, 0.4, 0.5], 2: [0.3, 0.35, 0.6]}


@pytest.fixture(scope="module")
def configs():
    return {c.cardinality: c for c in cardinality_configs("tiny", (1, 2))}


def write_result(folder, config, seed, acc, curve, settings=None):
    settings = settings or SweepSettings.for_budget("tiny", epochs=3, subset=500)
    run_id = f"{config.key}_seed{seed}"
    history = [
        {
            "epoch": i + 1,
            "test_acc": a,
            "test_loss": 2 - a,
            "train_acc": a,
            "train_loss": 2 - a,
            "train_seconds": 10.0 + config.cardinality,
        }
        for i, a in enumerate(curve)
    ]
    result = {
        "format": RESULT_FORMAT,
        "run_id": run_id,
        "seed": seed,
        "config": config.as_dict(),
        "settings": settings.identity(),
        "data": {"source": "hand-made"},
        "final": {
            "test_acc": acc,
            "test_loss": 2 - acc,
            "train_acc": acc,
            "train_loss": 2 - acc,
            "seconds_per_epoch": 10.0 + config.cardinality,
            "epochs": len(curve),
        },
        "history": history,
        "provenance": {"command": "hand-made for a test"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{run_id}.json").write_text(json.dumps(result))


@pytest.fixture
def mine(tmp_path, configs):
    for C, by_seed in ACCS.items():
        for seed, acc in by_seed.items():
            write_result(tmp_path / "mine", configs[C], seed, acc, CURVES[C])
    return tmp_path / "mine"


def test_accuracy_vs_cardinality_mean_and_spread_by_hand(mine):
    explorer = SweepExplorer(mine, include_shipped=False)
    state = explorer.state
    assert explorer.controls["experiment"].label == "mine: tiny, 3 epochs on 500 CIFAR-10 images"
    assert state["cardinalities"] == [1, 2] and state["n"] == [3, 3]
    for C, mean, std in zip(state["cardinalities"], state["means"], state["stds"]):
        values = [100 * a for a in ACCS[C].values()]
        assert mean == pytest.approx(statistics.mean(values)) and std == pytest.approx(
            statistics.stdev(values)
        )
    assert "53.00" in explorer.readout_html.value and "n = 3" in explorer.readout_html.value

    explorer.controls["metric"].value = "test_error"
    assert explorer.state["means"] == pytest.approx([100 - 53.0, 100 - 53.0])
    explorer.controls["seeds"].value = (0, 1)
    assert explorer.state["means"] == pytest.approx([100 - 51.0, 100 - 53.0])
    assert explorer.state["stds"] == pytest.approx(
        [statistics.stdev([50, 48]), statistics.stdev([45, 49])]
    )


def test_invalid_choices_show_a_message_and_keep_the_last_figure(mine):
    explorer = SweepExplorer(mine, include_shipped=False)
    draws, state = explorer.draws, explorer.state
    explorer.controls["seeds"].value = ()
    assert "at least one seed" in explorer.message.value
    assert explorer.draws == draws and explorer.state is state
    explorer.controls["seeds"].value = (1,)
    assert (
        explorer.message.value == ""
        and explorer.state["n"] == [1, 1]
        and explorer.state["stds"] == [0, 0]
    )
    explorer.controls["view"].value = "table4"
    assert "no 2x-complexity runs" in explorer.message.value


def test_the_table4_view_says_each_2x_model_against_1x64d_with_its_real_cost(mine, configs):
    """With a 2x wider model (two seeds, by hand: 60 and 62 %), the view's readout gives its row:
    seeds, mean +- SD, params and MACs over 1x64d's (from the configs' counts), and its difference
    from 1x64d with the 95% interval and p of scipy's Welch test."""
    wider = next(c for c in table4_configs("tiny", (2,)) if c.axis == "wider")
    for seed, acc in ((0, 0.60), (1, 0.62)):
        write_result(mine, wider, seed, acc, CURVES[1])
    explorer = SweepExplorer(mine, include_shipped=False)
    explorer.controls["seeds"].value = (0, 1)
    explorer.controls["view"].value = "table4"
    assert explorer.message.value == ""
    base = [100 * ACCS[1][s] for s in (0, 1)]
    welch = scipy_stats.ttest_ind([60, 62], base, equal_var=False)
    ci = welch.confidence_interval(0.95)
    row = (
        f"2x wider ({wider.model_name}) 2 61.00 +- {statistics.stdev([60, 62]):.2f} "
        f"{wider.params / configs[1].params:.2f}x {wider.macs / configs[1].macs:.2f}x "
        f"{61.0 - statistics.mean(base):+.2f} [{ci.low:+.2f}, {ci.high:+.2f}] {welch.pvalue:.3f}"
    )
    assert row in " ".join(html.unescape(explorer.readout_html.value).split())
    explorer.controls["view"].value = "cardinality"
    assert "2x wider" not in explorer.readout_html.value


def test_resample_by_hand():
    """a = (3, 5), b = (1, 4): all seeds 4 - 2.5 = 1.5. One seed each: 3-1, 3-4, 5-1, 5-4 give 2,
    -1, 4, 1, so one of four reverses the order. Two seeds: 1.5, Welch half-width t(0.975, df) se
    with se^2 = 2/2 + 4.5/2 = 3.25, df = 3.25^2 / (1^2 + 2.25^2) (Welch-Satterthwaite, n - 1 = 1
    each)."""
    levels = resample([3, 5], [1, 4])
    assert [lv["k"] for lv in levels] == [1, 2]
    assert sorted(levels[0]["diffs"]) == [-1, 1, 2, 4] and levels[0]["flips"] == 0.25
    assert levels[0]["half_width"] is None
    df = 3.25**2 / (1 + 2.25**2)
    assert levels[1]["diffs"] == [1.5] and levels[1]["flips"] == 0
    assert levels[1]["half_width"] == pytest.approx(scipy_stats.t.ppf(0.975, df) * 3.25**0.5)
    # the pooled prediction: sd = sqrt((2 + 4.5) / 2), df 2k - 2, se = sd sqrt(2 / k)
    assert projected_half_width(3.25**0.5, 2) == pytest.approx(4.302653 * 3.25**0.5, rel=1e-6)


def test_the_seed_resampler_view_counts_flips(mine, configs):
    explorer = SweepExplorer(mine, include_shipped=False)
    chooser = [explorer.controls[name].layout.display for name in ("a", "b")]
    assert chooser == ["none", "none"], "A and B do nothing outside the resampler: hidden there"
    explorer.controls["seeds"].value = (0, 1)
    explorer.controls["view"].value = "resample"
    assert [explorer.controls[name].layout.display for name in ("a", "b")] == [None, None]
    a, b = explorer.controls["a"].value, explorer.controls["b"].value
    assert explorer.message.value == ""
    assert (a, b) == (configs[2].setting, configs[1].setting)  # the ladder's ends by default
    found = explorer.state["resampled"]
    # test accuracy, seeds 0 and 1: C = 2 gives 55, 51 (mean 53), C = 1 gives 50, 52 (mean 51)
    assert found["difference"] == pytest.approx(2.0)
    assert sorted(found["levels"][0]["diffs"]) == pytest.approx([-1, 1, 3, 5])
    assert found["levels"][0]["flips"] == 0.25
    assert "order flips" in explorer.readout_html.value and "25%" in explorer.readout_html.value
    assert len(explorer.draw(explorer.state).axes) == 2
    explorer.controls["a"].value = explorer.controls["b"].value
    assert "two different models" in explorer.message.value


def test_learning_curves_are_the_mean_over_seeds(mine):
    explorer = SweepExplorer(mine, include_shipped=False)
    explorer.controls["view"].value = "curves"
    curves = explorer.state["curves"]
    c1 = next(k for k in curves if k.startswith("1x"))
    assert curves[c1] == pytest.approx(
        [100 * a for a in CURVES[1]]
    )  # three seeds, same curve: the mean is it
    explorer.controls["paper"].value = False
    figure = explorer.draw(explorer.state)
    assert len(figure.axes) == 1
    explorer.controls["paper"].value = True
    assert len(explorer.draw(explorer.state).axes) == 2


def test_corrupt_files_are_listed_not_fatal(mine):
    (mine / "broken.json").write_text("{not json")
    explorer = SweepExplorer(mine, include_shipped=False)
    assert (
        "1 file(s) skipped" in explorer.problems.value and "broken.json" in explorer.problems.value
    )
    assert explorer.state["n"] == [3, 3]


def test_hand_edited_files_with_strings_for_numbers_are_listed_not_fatal(mine):
    """A seed or cardinality typed as a string would break sorting (TypeError); the file is named
    and skipped."""
    for field, edit in (
        ("seed", lambda r: r.update(seed="0")),
        ("cardinality", lambda r: r["config"].update(cardinality="1")),
    ):
        source = next(mine.glob("*seed0.json"))
        raw = json.loads(source.read_text())
        edit(raw)
        (mine / f"edited-{field}.json").write_text(json.dumps(raw))
    explorer = SweepExplorer(mine, include_shipped=False)
    assert "2 file(s) skipped" in explorer.problems.value
    assert (
        "edited-seed.json" in explorer.problems.value
        and "edited-cardinality.json" in explorer.problems.value
    )
    assert explorer.message.value == "" and explorer.state["n"] == [
        3,
        3,
    ]  # the other six are all there


def test_no_results_at_all_is_a_message(tmp_path):
    explorer = SweepExplorer(tmp_path / "nothing-here", include_shipped=False)
    assert "No results to show yet" in explorer.message.value


def test_the_train_button_runs_the_function_then_shows_the_new_runs(tmp_path, configs):
    own = tmp_path / "own"
    explorer = SweepExplorer(own, include_shipped=False)
    seen = []

    def train(print_fn):
        assert button.button.disabled  # no second sweep from a double click
        print_fn("training")
        write_result(own, configs[1], 0, 0.6, [0.3, 0.6])
        seen.append(True)
        return "outcome"

    button = TrainButton(train, explorer)
    assert button.click() == "outcome", button.status.value
    assert seen == [True] and not button.button.disabled
    assert explorer.controls["experiment"].label.startswith("mine:")
    assert explorer.state["means"] == pytest.approx([60.0])

    def broken(print_fn):
        raise FileNotFoundError("Could not find CIFAR-10")

    failing = TrainButton(broken, explorer)
    failing.click()
    assert "Could not find CIFAR-10" in failing.status.value and not failing.button.disabled

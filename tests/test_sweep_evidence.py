"""What the sweep's sentences say (resnext_edu/sweep/evidence.py), on small made-up result files whose answers are
worked out by hand here: the standard error of a difference of two means (and SciPy's Welch t statistic, an
independent implementation), the partial-data branches (one seed, a model missing), the Fig. 5 verdict, the time
ratio and the CPU sharing read from provenance."""

from __future__ import annotations

import json
import math
import re
import shlex
import statistics

import pytest

from resnext_edu import cli, sweep
from resnext_edu.sweep import (SHIPPED, Gathered, cardinality_configs, compare_to_baseline, comparison_table,
                               differences, say_difference, say_fig5, say_time, summarize, sweep_status,
                               table4_configs)
from resnext_edu.sweep.commands import settings_from_args
from resnext_edu.sweep.evidence import concurrency, say_table4
from resnext_edu.sweep.results import Result
from resnext_edu.sweep.settings import RECIPES

CONFIGS = {c.cardinality: c for c in cardinality_configs("lesson", (1, 32))}


def result(cardinality: int | None, seed: int, test_acc: float, train_acc: float = 0.5, seconds: float = 10.0,
           pid: int = 1, date: str = "2026-01-01T12:00:00+00:00", session_seconds: float = 100.0,
           config=None) -> Result:
    """A made-up result file: two epochs, the last one's train_acc and test_acc as given (``config``: another model
    than the lesson ladder's C = ``cardinality``)."""
    config = config or CONFIGS[cardinality]
    history = [{"epoch": 1, "train_acc": train_acc / 2, "test_acc": test_acc / 2, "train_seconds": 2 * seconds},
               {"epoch": 2, "train_acc": train_acc, "test_acc": test_acc, "train_seconds": seconds}]
    raw = {"run_id": f"{config.key}_seed{seed}", "seed": seed, "config": config.as_dict(),
           "settings": {"epochs": 2, "subset": None, "dataset": "cifar10", "label_smoothing": 0.1},
           "final": {"test_acc": test_acc, "train_acc": train_acc, "seconds_per_epoch": 2 * seconds,
                     "min_seconds_per_epoch": seconds},
           "history": history,
           "provenance": {"date": date, "session_seconds": session_seconds, "wall_seconds": session_seconds,
                          "pid": pid, "host": "vm", "device": "cpu: a made-up CPU (2 cores)"}}
    return Result(None, "made-up", raw)


# test errors (%) chosen so that the hand computation is exact: C = 32: 10, 12, 14 (mean 12, s = 2, n = 3);
# C = 1: 15, 16 (mean 15.5, s^2 = 0.5, n = 2). Difference -3.5; SE^2 = 4/3 + 0.5/2 = 19/12.
ERRORS = {32: [10.0, 12.0, 14.0], 1: [15.0, 16.0]}
HAND_SE = math.sqrt(19 / 12)


def made_up(errors=ERRORS, **kwargs) -> list[Result]:
    return [result(c, seed, 1 - e / 100, **kwargs) for c, values in errors.items() for seed, e in enumerate(values)]


def test_the_standard_error_of_a_difference_against_a_hand_computation_and_scipy():
    rows = summarize(made_up(), "test_error")
    (d,) = differences(rows).values()
    assert d.value == pytest.approx(-3.5)
    assert d.standard_error == pytest.approx(HAND_SE)
    assert d.ratio == pytest.approx(-3.5 / HAND_SE)
    stats = pytest.importorskip("scipy.stats")
    welch = stats.ttest_ind(ERRORS[32], ERRORS[1], equal_var=False)
    assert d.ratio == pytest.approx(welch.statistic)
    (c,) = compare_to_baseline(rows)
    assert (c["setting"], c["baseline"], c["n"]) == ("32x4d", "1x64d", (3, 2))
    assert c["ratio"] == pytest.approx(welch.statistic)
    assert re.search(r"32x4d\s+1x64d\s+-3\.50\s+1\.26\s+-2\.8\s+3 vs 2", comparison_table(rows))


def test_the_sentence_states_the_hand_computed_numbers_and_the_verdict():
    text = " ".join(say_difference(summarize(made_up(), "test_error"), "test_error").split())
    assert "-3.50 points (32x4d better)" in text                      # lower error is better
    assert "12.00 +- 2.00" in text and f"{math.sqrt(0.5):.2f}" in text
    assert f"standard error of the difference {HAND_SE:.2f} points (3 and 2 seeds)" in text
    assert f"{3.5 / HAND_SE:.1f} standard errors apart, more than two" in text
    assert "rough estimate" in text                                  # n = 2 for 1x64d
    # the same files in accuracy: the sign flips, the verdict does not
    text = " ".join(say_difference(summarize(made_up(), "test_acc"), "test_acc").split())
    assert "+3.50 points (32x4d better)" in text and f"{3.5 / HAND_SE:.1f} standard errors" in text


def test_within_the_noise_is_said_so():
    rows = summarize(made_up({32: [14.0, 16.0, 18.0], 1: [15.0, 16.0]}), "test_error")
    text = " ".join(say_difference(rows).split())
    assert "+0.50 points (32x4d worse)" in text and f"{0.5 / HAND_SE:.1f} standard errors apart" in text
    assert "less than two: the seeds' noise alone could give" in text


def test_one_seed_has_no_spread_and_no_ratio():
    rows = summarize(made_up({32: [12.0], 1: [15.0, 16.0]}), "test_error")
    (d,) = differences(rows).values()
    assert d.standard_error is None and d.ratio is None
    (c,) = compare_to_baseline(rows)
    assert c["standard_error"] is None and math.isnan(c["ratio"])
    assert "no spread" in comparison_table(rows)
    assert "nothing to compare" in comparison_table(summarize(made_up({1: [15.0, 16.0]})))
    text = " ".join(say_difference(rows).split())
    assert "12.00 (one seed)" in text and "-3.50 points" in text
    assert "With one seed of 32x4d there is no spread over seeds, so no standard error" in text
    assert "standard errors apart" not in text


def test_a_missing_model_and_no_files_at_all():
    rows = summarize(made_up({1: [15.0, 16.0]}), "test_error")
    assert differences(rows) == {"made-up: lesson, 2 epochs on all CIFAR-10 images": None}
    assert "test error (%): no C = 32 and C = 1 pair yet (cardinalities with results: 1)" in \
        " ".join(say_difference(rows).split())
    assert say_difference([]) == "No results to compare."
    assert say_fig5([]).startswith("No result files yet") and say_time([], []).startswith("No result files yet")


def test_fig5_verdict_reads_the_final_epoch_training_error():
    # training accuracy of the last epoch: C = 32 0.80, 0.81, 0.82 vs C = 1 0.70, 0.72 (errors 19 +- 1 vs 29 +- 1.41)
    results = [result(32, s, 0.7, train_acc=a) for s, a in enumerate((0.80, 0.81, 0.82))]
    results += [result(1, s, 0.6, train_acc=a) for s, a in enumerate((0.70, 0.72))]
    text = " ".join(say_fig5(results).split())
    se = math.sqrt(1 / 3 + 2 / 2)                                    # s^2 = 1 (n = 3) and 2 (n = 2)
    assert "training error (%, augmented batches) of 32x4d 19.00 +- 1.00, of 1x64d 29.00 +- 1.41" in text
    assert f"{10 / se:.1f} standard errors apart" in text
    assert "does more cardinality reach a lower training error? yes" in text
    assert "label smoothing 0.1" in text and "augmented batches" in text
    # the same with the roles swapped: the answer turns
    swapped = [result(1, s, 0.7, train_acc=a) for s, a in enumerate((0.80, 0.81, 0.82))]
    swapped += [result(32, s, 0.6, train_acc=a) for s, a in enumerate((0.70, 0.72))]
    assert "training error? no: 32x4d has the higher training error" in " ".join(say_fig5(swapped).split())
    one = [result(1, 0, 0.6, train_acc=0.7), result(32, 0, 0.7, train_acc=0.8)]
    assert "the data cannot answer the question yet" in " ".join(say_fig5(one).split())


def test_cpu_sharing_from_provenance_by_hand():
    # process 1: 12:00:00-12:01:40 and 12:01:40-12:03:20; process 2: 12:00:50-12:02:30 (overlaps each by 50 s);
    # on average over its 100 s, each of process 1's runs had 0.5 other runs alongside, process 2's run 1
    runs = [result(1, 0, 0.5, pid=1, date="2026-01-01T12:01:40+00:00"),
            result(32, 0, 0.5, pid=1, date="2026-01-01T12:03:20+00:00"),
            result(1, 1, 0.5, pid=2, date="2026-01-01T12:02:30+00:00")]
    assert concurrency(runs) == pytest.approx([0.5, 0.5, 1.0])
    # three processes at the same time: two others alongside each, all the time
    three = [result(1, s, 0.5, pid=s, date="2026-01-01T12:01:40+00:00") for s in range(3)]
    assert concurrency(three) == pytest.approx([2.0, 2.0, 2.0])
    alone = [result(1, 0, 0.5, pid=1, date="2026-01-01T12:01:40+00:00")]
    assert concurrency(alone) == [0.0]


def test_time_sentence_by_hand():
    results = [result(1, s, 0.5, seconds=t) for s, t in enumerate((10.0, 12.0))]
    results += [result(32, s, 0.5, seconds=t) for s, t in enumerate((20.0, 24.0))]
    text = " ".join(say_time(summarize(results), results).split())
    ratio = CONFIGS[32].macs / CONFIGS[1].macs
    assert "32x4d took 22.0 s per training epoch, 1x64d 11.0 s: 2.00 times as long" in text
    assert f"for {ratio:.2f} times the MACs" in text
    assert "the median epoch took 2.00 to 2.00 times as long as the fastest" in text   # made up: median 2 x min
    # all four made-up runs are process 1's, finished at the same time: nothing of another process alongside
    assert "On average 0.0 runs of other processes trained alongside a 32x4d run, 0.0 alongside a 1x64d run" in text


def test_sweep_report_prints_each_cardinality_against_1x_in_standard_errors(capsys):
    """On the shipped lesson sweep: the report's 32x4d line, recomputed here from the files with `statistics`."""
    assert cli.main(["sweep-report", str(SHIPPED / "lesson"), "--no-plots", "--metric", "test_error"]) == 0
    out = capsys.readouterr().out
    errors = {c: [100 * (1 - json.loads(p.read_text())["final"]["test_acc"])
                  for p in sorted((SHIPPED / "lesson").glob(f"lesson-1x_{name}_seed*.json"))]
              for c, name in ((1, "resnet29"), (32, "resnext29_32x4d"))}
    diff = statistics.mean(errors[32]) - statistics.mean(errors[1])
    se = math.sqrt(sum(statistics.variance(v) / len(v) for v in errors.values()))
    n = (len(errors[32]), len(errors[1]))
    assert re.search(rf"32x4d\s+1x64d\s+{diff:+.2f}\s+{se:.2f}\s+{diff / se:.1f}\s+{n[0]} vs {n[1]}", out)
    # the paper's Table 3 in the same terms as the measured table: error here, accuracy beside an accuracy
    assert "1x64d           23.9        22.0" in out
    assert cli.main(["sweep-report", str(SHIPPED / "lesson"), "--no-plots"]) == 0
    assert f"1x64d           {100 - 23.9:.1f}        {100 - 22.0:.1f}" in capsys.readouterr().out


def test_sweep_status_without_files_says_not_shipped_and_gives_a_command_the_cli_accepts():
    text = sweep_status(Gathered(), "full")
    assert "The full sweep is not shipped yet" in text
    command = text.splitlines()[-1]
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "resnext_edu"]
    # the command, read back by the command line's own parser, trains every cardinality with the budget's recipe
    args = cli.build_parser().parse_args(argv[3:])
    assert args.budget == "full" and args.cardinalities == [1, 2, 4, 8, 16, 32] and args.seeds == [0, 1]
    recipe = RECIPES["full"]
    assert settings_from_args(args) == recipe
    assert (recipe.epochs, recipe.subset, recipe.final_test_subset) == (10, None, None)   # the recipe


def test_sweep_status_with_files_shows_their_table_data_and_command():
    text = sweep_status(sweep.shipped("lesson"), "lesson", "test_acc")
    raw = json.loads((SHIPPED / "lesson" / "lesson-1x_resnet29_seed0.json").read_text())
    assert "not shipped yet" not in text
    assert f"data: {raw['data']['train_images']:,} training images" in text
    assert f"command: {raw['provenance']['command']}" in text and "test accuracy (%)" in text


def _counted(config) -> tuple[int, float]:
    """Params by summing the built model's tensors, MACs by torch's own FLOP counter (FLOPs / 2) on one image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model = config.create().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() / 2


def test_table4_sentences_by_hand_with_the_ratios_counted_by_torch():
    """Table 4's question (say_table4): each 2x model against 1x64d, its params and MACs as multiples of 1x64d's
    (counted here on the built models, torch's FLOP counter for the MACs), and the cardinality model against the
    deeper and the wider one, in standard errors worked out by hand."""
    t4 = {c.axis: c for c in table4_configs("lesson", (64,))}
    runs = [result(1, s, 1 - e / 100) for s, e in enumerate((15.0, 16.0))]                   # 15.5, s^2 = 0.5
    runs += [result(None, s, 1 - e / 100, config=t4["deeper"]) for s, e in enumerate((14.0, 18.0))]   # 16, 8
    runs += [result(None, s, 1 - e / 100, config=t4["cardinality"]) for s, e in enumerate((12.0, 13.0))]  # 12.5
    runs += [result(None, 0, 1 - 14.0 / 100, config=t4["wider"])]                           # one seed
    text = say_table4(summarize(runs, "test_error"))
    flat = " ".join(text.split())
    base_params, base_macs = _counted(CONFIGS[1])
    for axis, name, mean, diff, ratio in (("cardinality", "2x cardinality (64x5d)", 12.5, -3.0, -3.0 / math.sqrt(0.5)),
                                          ("deeper", "2x deeper (resnet56)", 16.0, 0.5, 0.5 / math.sqrt(4.25)),
                                          ("wider", "2x wider (resnext29_1x104d)", 14.0, -1.5, None)):
        params, macs = _counted(t4[axis])
        line = next(line for line in text.splitlines() if line.strip().startswith(name))
        cells = line[len("  " + name):].split()
        if ratio is not None:                                 # two seeds: mean +- SD; one seed: the mean alone
            assert cells[2:4] == ["+-", f"{math.sqrt(8 if axis == 'deeper' else 0.5):.2f}"], line
            del cells[2:4]
        assert cells[:2] == ["1" if ratio is None else "2", f"{mean:.2f}"], line
        assert cells[2:4] == [f"{params / base_params:.2f}x", f"{macs / base_macs:.2f}x"], line
        assert cells[4:] == [f"{diff:+.2f}", "-" if ratio is None else f"{ratio:.1f}"], line
    assert "deeper (resnet56): -3.50 points (better), " \
           f"{3.5 / math.sqrt(0.5 / 2 + 8 / 2):.1f} standard errors (2 and 2 seeds): within the seeds' noise" in flat
    assert "minus 2x wider (resnext29_1x104d): -1.50 points (better); one seed of 2x wider (resnext29_1x104d): " \
           "no standard error yet" in flat
    assert "Best mean among the 3 2x models: 2x cardinality (64x5d), 12.50 (2 seeds)" in flat
    assert say_table4(summarize(runs[:2], "test_error")).startswith("No 2x-complexity (Table 4) runs yet")
    # Two seeds that agree exactly on both sides: no spread, so no standard error (not "one seed of neither").
    same = [result(None, s, 0.88, config=t4[axis]) for axis in ("cardinality", "wider") for s in (0, 1)]
    flat = " ".join(say_table4(summarize(same, "test_error")).split())
    assert "2x cardinality (64x5d) minus 2x wider (resnext29_1x104d): +0.00 points (equal); the seeds agree " \
           "exactly (zero spread): no standard error can be estimated." in flat

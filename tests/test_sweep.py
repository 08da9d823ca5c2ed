"""The sweep: complexity-matched configs (against the solver, hand-known widths and an independent count), the
runner (resume after a kill, skip, ownership, --list), and the report over a folder with corrupt/foreign files."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from reference_figures import brute_force_base_width, cifar_macs_by_hand, params_of

from resnext_edu import cli, sweep
from resnext_edu.sweep.commands import settings_from_args as sweep_settings_from_args
from resnext_edu.sweep import (SweepConflict, SweepSettings, cardinality_configs, gather, plan, run_sweep,
                               summarize, table4_configs)
from resnext_edu.sweep.configs import CIFAR_DEPTHS, get_budget
from resnext_edu.sweep.folder import OWNER, RUNS, acquire, release

REPO = Path(__file__).resolve().parent.parent
LESSON = {"stage_widths": (16, 32, 64), "stem_width": 16}


# ---------------------------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------------------------

def test_lesson_configs_match_a_brute_force_search_and_hand_counts():
    configs = cardinality_configs("lesson")
    baseline = params_of("resnet29", **LESSON)
    for c in configs:
        # the d a search over every width picks (not the project's solver)
        assert c.base_width == brute_force_base_width(c.cardinality, baseline, **LESSON), c
        assert c.params == params_of(c.model_name, **LESSON)
        assert c.macs == cifar_macs_by_hand(c.cardinality, c.base_width, LESSON["stage_widths"], LESSON["stem_width"])
        assert c.target_params == baseline and abs(c.params / baseline - 1) < 0.05, c
        with torch.device("meta"):
            model = c.create()
        assert model.config.cardinality == c.cardinality and model.config.depth == 29
    # at this budget the widths are Table 2's (the paper's 1x complexity settings) plus d = 8 for C = 16
    assert [(c.cardinality, c.base_width) for c in configs] == [(1, 64), (2, 40), (4, 24), (8, 14), (16, 8),
                                                                (32, 4)]


def test_table4_configs_spend_twice_the_budget_three_ways():
    budget = get_budget("lesson")
    target = 2 * params_of("resnet29", **LESSON)
    deeper, wider, *more = table4_configs("lesson", (2,))
    assert (deeper.axis, deeper.cardinality, deeper.base_width) == ("deeper", 1, 64)
    # the chosen depth beats its neighbours (depth +- 9 blocks of 3 layers) in closeness to 2x
    for other in (deeper.depth - 9, deeper.depth + 9):
        assert abs(params_of(f"resnet{other}", **LESSON) - target) >= abs(deeper.params - target)
    assert deeper.depth in CIFAR_DEPTHS and deeper.depth > 29
    # wider: C = 1, and d +- 1 are no closer to 2x
    assert (wider.axis, wider.cardinality, wider.depth) == ("wider", 1, 29) and wider.base_width > 64
    for d in (wider.base_width - 1, wider.base_width + 1):
        assert abs(params_of(f"resnext29_1x{d}d", **LESSON) - target) >= abs(wider.params - target)
    (card,) = more
    assert card.cardinality == 2 and card.scale == 2 and abs(card.params / target - 1) < 0.05
    assert all(c.target_params == target for c in (deeper, wider, card)) and budget.params == target // 2


def test_a_cardinality_the_budget_cannot_hold_is_a_clear_error():
    with pytest.raises(ValueError, match=r"cannot hold cardinality 16.*largest cardinality it holds is 8"):
        cardinality_configs("tiny", (1, 16))
    with pytest.raises(ValueError, match="Unknown budget 'huge'"):
        cardinality_configs("huge")
    with pytest.raises(ValueError, match="whole number >= 1"):
        cardinality_configs("tiny", (0,))


def test_plan_is_seed_by_seed_with_unique_ids():
    configs = cardinality_configs("tiny", (1, 2))
    runs = plan(configs, [0, 1])
    assert [(r.config.cardinality, r.seed) for r in runs] == [(1, 0), (2, 0), (1, 1), (2, 1)]
    assert len({r.run_id for r in runs}) == 4
    with pytest.raises(ValueError, match="Each seed once"):
        plan(configs, [0, 0])


# ---------------------------------------------------------------------------------------------------------------
# The runner: kill, re-run, every run finished exactly once
# ---------------------------------------------------------------------------------------------------------------

TINY_ARGS = ["--budget", "tiny", "--cardinalities", "1", "2", "--seeds", "0", "--epochs", "3", "--batch-size", "32",
             "--subset", "256", "--test-subset", "100", "--final-test-subset", "200", "--dataset", "synthetic",
             "--threads", "1", "--no-progress"]


def _sweep(out: Path) -> list[str]:
    return [sys.executable, "-m", "resnext_edu", "sweep", *TINY_ARGS, "--out", str(out)]


def _events(out: Path) -> list[tuple[str, str]]:
    return [tuple(line.split()[3:5]) for line in (out / "sweep.log").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_an_interrupted_sweep_resumes_and_every_run_finishes_once(tmp_path):
    out = tmp_path / "sweep"
    # Table 2's widths again at this size: C = 1 -> d = 64 (ResNet-29), C = 2 -> d = 40
    first, second = (f"tiny-1x_{name}_seed0" for name in ("resnet29", "resnext29_2x40d"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(_sweep(out), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:  # kill it once the first run is done and the second has a checkpoint, i.e. mid-way through the second
        deadline = time.time() + 240
        while not ((out / f"{first}.json").exists() and (out / RUNS / second / "checkpoint.pt").exists()):
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.time() < deadline, "the sweep did not get to its second run in time"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert not (out / f"{second}.json").exists(), "killed too late: the second run had finished"
    assert (out / RUNS / second / OWNER).exists()          # the dead owner's marker is left behind
    finished_first = (out / f"{first}.json").read_bytes()

    rerun = subprocess.run(_sweep(out), cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "took over from pid" in rerun.stdout and "1 of 2 runs already finished" in rerun.stdout

    events = _events(out)
    for run_id in (first, second):
        assert events.count(("finished", run_id)) == 1, events
        assert events.count(("started", run_id)) == 1, events
    assert events.count(("resumed", second)) == 1 and ("resumed", first) not in events
    assert (out / f"{first}.json").read_bytes() == finished_first      # not trained again
    result = json.loads((out / f"{second}.json").read_text())
    assert [e["epoch"] for e in result["history"]] == [1, 2, 3]           # each epoch once, none lost
    assert len(result["resumed"]) == 1 and 1 <= result["resumed"][0]["at_epoch"] < 3
    prov = result["provenance"]
    assert "resnext_edu sweep" in prov["command"] and prov["torch"] == torch.__version__ and prov["wall_seconds"] > 0
    assert not (out / RUNS / second / OWNER).exists()                      # released when done

    again = subprocess.run(_sweep(out), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "2 of 2 runs already finished" in again.stdout
    assert [e for e in _events(out) if e[0] in ("started", "resumed", "finished")] == \
           [e for e in events if e[0] in ("started", "resumed", "finished")]


def test_ownership_of_a_run_by_a_live_process_and_take_over_from_a_dead_one(tmp_path):
    folder = tmp_path / "runs" / "some-run"
    folder.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket
        (folder / OWNER).write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(),
                                                "since": "earlier", "command": "another sweep"}))
        owned, message = acquire(folder, "me")
        assert not owned and f"pid {sleeper.pid}" in message and "another sweep" in message
    finally:
        sleeper.kill()
        sleeper.wait()
    owned, note = acquire(folder, "me")
    assert owned and f"took over from pid {sleeper.pid}" in note
    assert json.loads((folder / OWNER).read_text())["pid"] == os.getpid()
    release(folder)
    assert not (folder / OWNER).exists()


def test_list_prints_one_runnable_command_per_run(tmp_path, capsys):
    assert cli.main(["sweep", "--budget", "tiny", "--cardinalities", "1", "2", "--seeds", "0", "1", "--list",
                     "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    parser = cli.build_parser()
    picked = []
    for line in lines:
        argv = shlex.split(line)
        assert argv[:4] == ["python", "-m", "resnext_edu", "sweep"]
        args = parser.parse_args(argv[3:])
        assert args.out == str(tmp_path) and len(args.only) == 1
        picked += args.only
    assert sorted(picked) == sorted(r.run_id for r in plan(cardinality_configs("tiny", (1, 2)), [0, 1]))


HOSTILE = ["with space/out", "it's \"quoted\"", "$(touch PWNED)", "`touch PWNED`; touch PWNED", "a\\b*?[x]"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_list_quotes_hostile_paths_so_a_shell_gives_back_each_argument(tmp_path, capsys, hostile):
    """bash (an independent parser) must read each printed line back as the argv --list meant, running nothing."""
    out, data_dir = str(tmp_path / hostile / "out"), str(tmp_path / hostile / "data")
    assert cli.main(["sweep", "--budget", "tiny", "--cardinalities", "1", "2", "--seeds", "0", "--list", "--out", out,
                     "--data-dir", data_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line in lines:
        shell = subprocess.run(["bash", "-c", "f() { printf '%s\\0' \"$@\"; }; f " + line], cwd=tmp_path,
                               capture_output=True, text=True, timeout=30)
        argv = shell.stdout.split("\0")[:-1]
        assert argv == shlex.split(line) and argv[:4] == ["python", "-m", "resnext_edu", "sweep"]
        assert argv[argv.index("--out") + 1] == out and argv[argv.index("--data-dir") + 1] == data_dir
    assert not list(tmp_path.rglob("PWNED"))


def _claim(out: Path, epochs: int, barrier, results) -> None:
    from resnext_edu.sweep.folder import claim_settings
    barrier.wait()
    results.put((epochs, claim_settings(out, {"epochs": epochs, "lr": 0.05}, f"sweep {epochs}")))


def test_sweeps_starting_together_claim_a_folder_once(tmp_path):
    """Four sweeps with different settings claim one folder at the same instant, eight times: each time exactly one
    wins, and every other one is told the winner's settings."""
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    for trial in range(8):
        out = tmp_path / f"trial{trial}"
        out.mkdir()
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_claim, args=(out, epochs, barrier, results)) for epochs in (1, 2, 3, 4)]
        for p in procs:
            p.start()
        got = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        winners = [epochs for epochs, diff in got if not diff]
        assert len(winners) == 1, got
        recorded = json.loads((out / "sweep-settings.json").read_text())["settings"]
        assert recorded == {"epochs": winners[0], "lr": 0.05}
        assert all(diff == {"epochs": (winners[0], epochs)} for epochs, diff in got if epochs != winners[0])
        assert not list(out.glob("*.tmp"))


def test_stale_temporary_files_of_a_run_are_removed(tmp_path):
    from resnext_edu.files import remove_stale_temps
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    keep = [run / "checkpoint.pt", tmp_path / "r.json", tmp_path / "other.json1234.tmp"]
    stale = [run / "checkpoint.ptx1y2.tmp", run / "history.jsonq.tmp", tmp_path / "r.jsonabc.tmp"]
    for path in keep + stale:
        path.write_text("x")
    assert sorted(remove_stale_temps(tmp_path / "r.json", folders=[run])) == sorted(stale)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)


def test_cli_bad_cardinality_says_what_to_do(capsys):
    assert cli.main(["sweep", "--budget", "tiny", "--cardinalities", "32", "--list"]) == 2
    err = capsys.readouterr().err
    assert "cannot hold cardinality 32" in err and "largest cardinality it holds is 8" in err


# ---------------------------------------------------------------------------------------------------------------
# One real (tiny) sweep in this process, shared by the tests below
def test_full_budget_is_resnet20_at_lesson_widths_matched_by_a_brute_force_search():
    configs = cardinality_configs("full")
    baseline = params_of("resnet20", **LESSON)
    assert get_budget("full").params == baseline
    for c in configs:
        assert c.depth == 20 and c.model_name.startswith(("resnet20", "resnext20_"))
        assert c.base_width == brute_force_base_width(c.cardinality, baseline, depth=20, **LESSON), c
        assert c.params == params_of(c.model_name, **LESSON)
        assert c.macs == cifar_macs_by_hand(c.cardinality, c.base_width, LESSON["stage_widths"], LESSON["stem_width"],
                                            depth=20)
        assert abs(c.params / baseline - 1) < 0.05, c          # the "within 5%"
    assert [c.cardinality for c in configs] == [1, 2, 4, 8, 16, 32]
    # Table 4's axis at this depth: wider and more cardinality stay at depth 20; deeper is the CIFAR depth closest
    # to twice the parameters (its neighbours are further away)
    deeper, wider, *more = table4_configs("full", (2,))
    assert wider.depth == 20 and all(c.depth == 20 for c in more) and deeper.depth > 20
    for other in (deeper.depth - 9, deeper.depth + 9):
        assert abs(params_of(f"resnet{other}", **LESSON) - 2 * baseline) >= abs(deeper.params - 2 * baseline)


def test_full_budget_trains_with_the_fast_recipe_unless_told_otherwise():
    from resnext_edu.train import FAST_RECIPE
    parser = cli.build_parser()
    sweep_fields = {f.name for f in dataclasses.fields(SweepSettings)}
    assert set(FAST_RECIPE) - sweep_fields == {"resize_schedule"}          # the one setting a sweep lacks
    args = parser.parse_args(["sweep", "--budget", "full"])
    settings = sweep_settings_from_args(args)
    assert (settings.subset, settings.test_subset, settings.final_test_subset) == (None, None, None)   # all images
    assert settings.epochs >= 10                                                   # the minimum
    config = settings.train_config(seed=3)
    same = {k: v for k, v in FAST_RECIPE.items() if k != "resize_schedule"}      # attempt 7's, the shipped sweep's
    assert {k: getattr(config, k) for k in same} == same and config.seed == 3 and config.resize_schedule == ()
    # one option given: that one changes, the rest stays the budget's
    changed = sweep_settings_from_args(parser.parse_args(["sweep", "--budget", "full", "--no-nesterov",
                                                          "--crop-padding", "4", "--subset", "5000"]))
    assert (changed.nesterov, changed.crop_padding, changed.subset) == (False, 4, 5000)
    assert (changed.lr, changed.batch_size, changed.label_smoothing) == (settings.lr, settings.batch_size, 0.1)
    # the lesson budget keeps the settings its shipped files were trained with (their own "settings" field)
    shipped = json.loads(next((REPO / "resnext_edu" / "results" / "lesson").glob("*.json")).read_text())["settings"]
    lesson = sweep_settings_from_args(parser.parse_args(["sweep"]))
    assert {k: getattr(lesson, k) for k in shipped} == shipped
    # and --list prints commands that reproduce the settings exactly (parsed back by the same CLI)
    for budget, extra in (("full", ["--no-nesterov"]), ("lesson", ["--label-smoothing", "0.1"])):
        argv = sweep.sweep_argv(budget, [1], [0], sweep_settings_from_args(
            parser.parse_args(["sweep", "--budget", budget, *extra])), "out")
        again = sweep_settings_from_args(parser.parse_args(argv[3:]))
        assert again == sweep_settings_from_args(parser.parse_args(["sweep", "--budget", budget, *extra]))


def test_a_folder_written_before_the_fast_recipe_settings_still_matches_its_own_settings(tmp_path):
    """Result files and folders written before nesterov/label_smoothing/crop_padding were settings lack them; they
    were trained with plain momentum, no smoothing and padding 4, so the same settings today are no conflict, and
    other values are."""
    from resnext_edu.sweep.schema import differences
    old = {k: v for k, v in SETTINGS.__dict__.items() if k not in ("nesterov", "label_smoothing", "crop_padding")}
    assert differences(old, SETTINGS.__dict__) == {}
    fast = SweepSettings(**{**SETTINGS.__dict__, "nesterov": True, "crop_padding": 1})
    assert differences(old, fast.__dict__) == {"nesterov": (False, True), "crop_padding": (4, 1)}


def test_a_result_file_names_no_absolute_path(tmp_path, monkeypatch):
    """A shipped result must not name a folder of the machine that made it (issue 12): here the image folder and
    the cache lie outside the working folder, and the output folder is given by its absolute path."""
    from PIL import Image
    from resnext_edu.data import CLASSES, load_cifar10
    images = tmp_path / "elsewhere" / "cifar-images"
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        for name in CLASSES:
            (images / split / name).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(images / split / name /
                                                                                         f"{i}.png")
    cache = tmp_path / "elsewhere" / "cache"
    load_cifar10(images, cache_dir=cache)                     # reads the folder, writes the cache
    data = load_cifar10(images, cache_dir=cache)              # the cache: its source names the folder and itself
    assert "cached in" in data.source
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = work / "sweep"
    monkeypatch.setattr(sys, "argv", ["/abs/resnext_edu/__main__.py", "sweep", "--out", str(out), "--data-dir",
                                      str(images)])
    settings = SweepSettings(epochs=1, batch_size=8, subset=40, test_subset=20, final_test_subset=20)
    runs = plan(cardinality_configs("tiny", (1,)), [0])
    run_sweep(runs, settings, out, data=data, threads=1, progress=False, print_fn=lambda s: None)
    text = (out / f"{runs[0].run_id}.json").read_text()
    for absolute in {str(tmp_path), str(REPO), os.getcwd(), sys.executable, "/abs/"}:
        assert absolute not in text, absolute
    raw = json.loads(text)
    assert raw["provenance"]["command"].startswith("python -m resnext_edu sweep --out sweep --data-dir .../")
    assert "image folder .../elsewhere/cifar-images" in raw["data"]["source"]


# ---------------------------------------------------------------------------------------------------------------

SETTINGS = SweepSettings(epochs=2, batch_size=32, subset=128, test_subset=100, final_test_subset=100,
                         dataset="synthetic")


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-sweep")
    lines = []
    runs = plan(cardinality_configs("tiny", (1, 2)), [0, 1])
    outcome = run_sweep(runs, SETTINGS, out, threads=1, progress=False, print_fn=lines.append)
    assert sorted(outcome.trained) == sorted(r.run_id for r in runs) and outcome.complete
    return out, runs


def test_a_rerun_with_other_settings_is_refused_before_training(tiny_sweep, tmp_path):
    out, runs = tiny_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with pytest.raises(SweepConflict, match=r"(?s)epochs was 2, now 3.*another --out"):
        run_sweep(runs, SweepSettings(**{**SETTINGS.__dict__, "epochs": 3}), copy, progress=False,
                  print_fn=lambda s: None)


@pytest.mark.parametrize("damage", ["truncated", "seed as a string", "cardinality as a string"])
def test_a_corrupt_result_is_reported_and_skipped_by_the_runner(tiny_sweep, tmp_path, damage):
    out, runs = tiny_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    broken = copy / f"{runs[0].run_id}.json"
    if damage == "truncated":
        broken.write_text(broken.read_text()[:200])      # as by a full disk or a bad copy
    else:                                                # a hand edit: one bad file must not stop the others
        raw = json.loads(broken.read_text())
        (raw if damage.startswith("seed") else raw["config"])[damage.split()[0]] = "0"
        broken.write_text(json.dumps(raw))
    outcome = run_sweep(runs, SETTINGS, copy, progress=False, print_fn=lambda s: None)
    assert outcome.trained == [] and len(outcome.already_done) == 3
    assert len(outcome.problems) == 1 and runs[0].run_id in outcome.problems[0] and "Move or delete" in \
        outcome.problems[0]


def test_report_over_a_folder_with_corrupt_and_foreign_files(tiny_sweep, tmp_path, capsys):
    out, runs = tiny_sweep
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "truncated.json").write_text((out / f"{runs[0].run_id}.json").read_text()[:300])
    (copy / "foreign.json").write_text(json.dumps({"loss": [1, 2, 3]}))
    plots = tmp_path / "plots"
    assert cli.main(["sweep-report", str(copy), "--plots", str(plots)]) == 0
    captured = capsys.readouterr()
    assert "truncated.json: is not valid JSON" in captured.err
    assert "foreign.json: is not a resnext-edu sweep result" in captured.err
    assert (plots / "overview.png").stat().st_size > 10_000 and (plots / "curves.png").exists()
    # the table's mean and spread, recomputed by hand from the files
    for name in ("resnet29", "resnext29_2x40d"):
        accs = [100 * json.loads((out / f"tiny-1x_{name}_seed{s}.json").read_text())["final"]["test_acc"]
                for s in (0, 1)]
        assert f"{statistics.mean(accs):7.2f} +- {statistics.stdev(accs):.2f}" in captured.out
    found = gather(copy)
    assert len(found.results) == 4 and len(found.problems) == 2
    rows = summarize(found.results)
    assert [r.n for r in rows] == [2, 2] and all(len(r.mean_curve) == 2 for r in rows)


def test_a_result_another_sweep_wrote_with_other_settings_does_not_count_as_done(tiny_sweep, tmp_path):
    from resnext_edu.sweep.inventory import SweepOutcome, count_finished
    out, runs = tiny_sweep
    path = out / f"{runs[0].run_id}.json"
    outcome = SweepOutcome(tmp_path)
    count_finished(outcome, path, {**SETTINGS.__dict__, "epochs": 3})
    assert outcome.already_done == [] and "epochs was 2, now 3" in outcome.problems[0]
    count_finished(outcome, path, dict(SETTINGS.__dict__))
    assert outcome.already_done == [runs[0].run_id]


def test_report_of_an_empty_folder_fails_clearly(tmp_path, capsys):
    assert cli.main(["sweep-report", str(tmp_path), "--no-plots"]) == 2
    assert "no sweep result files" in capsys.readouterr().err

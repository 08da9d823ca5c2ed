"""The command line, run as a learner runs it."""

import json
import subprocess
import sys

from reference_figures import PARAMS


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "resnext_edu", *args], capture_output=True, text=True, timeout=120
    )


def test_count_prints_the_papers_parameter_count():
    result = run("count", "resnext29_8x64d")
    assert result.returncode == 0
    assert f"{PARAMS['resnext29_8x64d']:,}" in result.stdout and "MACs" in result.stdout


def test_count_json():
    result = run("count", "resnext50_32x4d", "--json", "--by-stage")
    data = json.loads(result.stdout)
    assert data["model"] == "resnext50_32x4d" and data["input_size"] == 224
    assert data["params"] == PARAMS["resnext50_32x4d"] and data["flops"] == 2 * data["macs"]
    assert round(data["macs"] / 1e9, 2) == 4.23
    assert sum(row["params"] for row in data["stages"]) == data["params"]


def test_models_lists_names():
    result = run("models")
    assert (
        result.returncode == 0
        and "resnext29_8x64d" in result.stdout
        and "resnext101_64x4d" in result.stdout
    )


def test_bad_input_is_one_clear_line_and_exit_code_2():
    for args, message in [
        (("count", "resnext29_8x64"), "Did you mean resnext29_8x64d"),
        (("count", "resnext29_8x64d", "--stage-widths", "0", "8", "16"), "positive integer"),
        (("count", "resnext29_8x64d", "--input-size", "-3"), "input_size must be a positive"),
    ]:
        result = run(*args)
        assert result.returncode == 2, result
        assert message in result.stderr and "Traceback" not in result.stderr

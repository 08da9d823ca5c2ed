"""resnext_edu.timing: what it computes from the samples, and that timing leaves the learner's module alone.
(No test of speed itself: the machines that run the tests are shared and noisy.)"""

from pathlib import Path

import pytest
import torch

from resnext_edu import timing
from resnext_edu.blocks import ResNeXtBlock


def make_timing(samples, batch_size=8):
    return timing.Timing("block", "forward", batch_size, "cpu", "fp32", False, samples)


def test_median_of_given_samples():
    assert timing.median([3.0, 1.0, 2.0]) == 2.0
    assert timing.median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert timing.median([5.0]) == 5.0
    with pytest.raises(ValueError, match="at least one sample"):
        timing.median([])


def test_throughput_and_spread_follow_the_median_not_an_outlier():
    t = make_timing([10.0, 1000.0, 10.0, 12.0, 9.0], batch_size=8)
    assert t.median_ms == 10.0
    assert t.images_per_second == pytest.approx(800.0)  # 8 images / 0.010 s
    assert (t.min_ms, t.max_ms) == (9.0, 1000.0)
    assert "10.00 ms" in str(t) and "800 img/s" in str(t)
    text = timing.table([t, make_timing([20.0])])
    assert "median ms" in text and "img/s" in text and len(text.splitlines()) == 3


@pytest.mark.parametrize("mode", timing.MODES)
def test_time_module_counts_samples_and_leaves_the_module_untouched(mode):
    block = ResNeXtBlock(16, 16, cardinality=2, bottleneck_width=4).train()
    before = {k: v.clone() for k, v in block.state_dict().items()}
    x = torch.randn(2, 16, 4, 4)
    result = timing.time_module(
        block, x, mode=mode, repeats=3, warmup=1, channels_last=True, label="C"
    )
    assert len(result.samples_ms) == 3 and all(s > 0 for s in result.samples_ms)
    assert (result.label, result.mode, result.batch_size, result.device) == ("C", mode, 2, "cpu")
    assert block.training and block.conv1.weight.grad is None
    assert block.conv2.weight.is_contiguous()  # still NCHW
    assert all(
        torch.equal(before[k], v) for k, v in block.state_dict().items()
    )  # BN statistics too


def test_bf16_autocast_runs_and_is_labelled():
    result = timing.time_module(
        torch.nn.Conv2d(4, 4, 3), torch.randn(1, 4, 6, 6), repeats=1, warmup=0, bf16=True
    )
    assert result.precision.startswith("bf16")


def test_bf16_counts_as_native_only_with_bf16_instructions():
    """Read /proc/cpuinfo here, independently: PyTorch's mkldnn check says yes on any AVX512 CPU (emulated bf16)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        pytest.skip("no /proc/cpuinfo on this system")
    flags = set(
        next(line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")).split()
    )
    assert timing.bf16_supported("cpu") == bool(flags & {"avx512_bf16", "amx_bf16"})
    assert timing.bf16_supported("meta") is False


def test_invalid_arguments_say_what_is_allowed():
    block, x = torch.nn.Identity(), torch.zeros(1, 1)
    with pytest.raises(ValueError, match="mode"):
        timing.time_module(block, x, mode="backward")
    with pytest.raises(ValueError, match="repeats"):
        timing.time_module(block, x, repeats=0)
    with pytest.raises(ValueError, match="warmup"):
        timing.time_module(block, x, warmup=-1)


CALLS = []  # module-level, so that the copies time_interleaved makes append to the same list


class Recorder(torch.nn.Module):
    """Appends its name to CALLS at every forward call."""

    def __init__(self, name):
        super().__init__()
        self.name = name

    def forward(self, x):
        CALLS.append(self.name)
        return x


def test_interleaved_timing_takes_turns_and_rotates_who_goes_first():
    CALLS.clear()
    modules = {name: Recorder(name) for name in "abc"}
    results = timing.time_interleaved(modules, torch.zeros(2, 1), repeats=3, warmup=1)
    assert CALLS == [
        "a",
        "b",
        "c",  # one warm-up step each
        "a",
        "b",
        "c",
        "b",
        "c",
        "a",
        "c",
        "a",
        "b",
    ]  # round r starts at module r
    assert [t.label for t in results] == ["a", "b", "c"]
    assert all(len(t.samples_ms) == 3 and t.batch_size == 2 for t in results)


def test_interleaved_timing_needs_a_module():
    with pytest.raises(ValueError, match="at least one module"):
        timing.time_interleaved({}, torch.zeros(1, 1))

"""Device and precision choice (resnext_edu.device) on hardware this machine does not have: the device properties
are mocked. The expected choices come from the hardware's documented capabilities (NVIDIA's compute capabilities:
V100 7.0 and T4 7.5 have no bf16 tensor cores, A100 8.0 and H100 9.0 do; Intel/AMD CPU flags avx512_bf16 / amx_bf16),
not from the code under test."""

import pytest
import torch

from resnext_edu import device as D

# name, compute capability, what "auto" must choose, whether a gradient scaler is needed
GPUS = [
    ("Tesla V100-SXM2-16GB", (7, 0), "fp16", True),
    ("Tesla T4", (7, 5), "fp16", True),
    ("NVIDIA A100-SXM4-40GB", (8, 0), "bf16", False),
    ("NVIDIA H100 80GB HBM3", (9, 0), "bf16", False),
]


def fake_gpu(monkeypatch, name, capability):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    # PyTorch's own check counts emulation (it says yes on a T4): the choice must not follow it
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


@pytest.mark.parametrize("name, capability, expected, scaler", GPUS)
def test_auto_on_cuda_follows_the_compute_capability(
    monkeypatch, name, capability, expected, scaler
):
    fake_gpu(monkeypatch, name, capability)
    cuda = D.pick_device("auto")
    assert cuda.type == "cuda"
    p = D.resolve_precision("auto", cuda)
    assert p.name == expected and p.grad_scaler is scaler and p.channels_last
    assert p.autocast == {"fp16": torch.float16, "bf16": torch.bfloat16}[expected]
    assert D.native_bf16(cuda) is (expected == "bf16")
    assert name in p.reason and f"compute capability {capability[0]}.{capability[1]}" in p.reason
    assert ("gradient scaler" in p.reason) is scaler


def test_explicit_precision_is_kept_on_any_gpu(monkeypatch):
    fake_gpu(monkeypatch, "Tesla T4", (7, 5))
    p = D.resolve_precision("bf16", "cuda")  # emulated on a T4, but asked for
    assert (p.name, p.autocast, p.grad_scaler, p.reason) == (
        "bf16",
        torch.bfloat16,
        False,
        "asked for",
    )
    assert D.resolve_precision("fp32", "cuda").autocast is None


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"avx2", "avx512f", "avx512_bf16"}, "bf16"),
        ({"avx2", "amx_bf16"}, "bf16"),
        ({"avx2", "avx512f"}, "fp32"),  # bf16 emulated there
        (set(), "fp32"),
    ],
)
def test_auto_on_cpu_follows_the_bf16_instructions(monkeypatch, flags, expected):
    monkeypatch.setattr(D, "cpu_flags", lambda: flags)
    p = D.resolve_precision("auto", "cpu")
    assert p.name == expected and not p.grad_scaler and p.channels_last is (expected == "bf16")
    assert D.native_bf16("cpu") is (expected == "bf16")
    assert ("native bf16 (AVX512-BF16 / AMX)" in p.reason) is (expected == "bf16")
    assert ("without native bf16" in p.reason) is (expected == "fp32")


def test_fp16_needs_cuda_and_fp32_is_plain(monkeypatch):
    monkeypatch.setattr(D, "cpu_flags", lambda: {"avx512_bf16"})
    plain = D.resolve_precision("fp32", "cpu")
    assert plain.autocast is None and not plain.channels_last and not plain.grad_scaler
    assert D.resolve_precision("fp32", "cpu", channels_last=True).channels_last
    for device in ("cpu", "mps"):
        with pytest.raises(ValueError, match="needs a CUDA GPU"):
            D.resolve_precision("fp16", device)
    with pytest.raises(ValueError, match="precision must be one of 'auto', 'fp32', 'bf16', 'fp16'"):
        D.resolve_precision("half", "cpu")


def test_auto_on_an_apple_mac_is_mps_in_fp32(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(D, "mps_available", lambda: True)
    mps = D.pick_device("auto")
    assert mps.type == "mps" and D.pick_device("mps").type == "mps"
    p = D.resolve_precision("auto", mps)
    assert p.name == "fp32" and p.autocast is None and not p.grad_scaler
    assert "Apple MPS" in p.reason and "fp32" in p.reason
    assert not D.native_bf16(mps)


def test_auto_without_any_accelerator_is_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(D, "mps_available", lambda: False)
    assert D.pick_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        D.pick_device("cuda")
    with pytest.raises(ValueError, match="'mps' .* sees none"):
        D.pick_device("mps")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda'"):
        D.pick_device("gpu")


def test_a_missing_gpu_index_is_refused(monkeypatch):
    fake_gpu(monkeypatch, "Tesla T4", (7, 5))
    assert D.pick_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match="shows 1 GPU"):
        D.pick_device("cuda:1")


def test_describe_device_names_the_cpu_and_its_bf16_flags(monkeypatch):
    monkeypatch.setattr(D, "cpu_flags", lambda: {"avx2", "avx512_bf16", "sse"})
    line = D.describe_device("cpu")
    assert line.startswith("cpu: ") and "avx512_bf16" in line and "sse" not in line
    assert f"{torch.get_num_threads()} torch threads" in line


def test_timing_and_course_ask_the_same_functions(monkeypatch):
    from resnext_edu import course, timing

    for flags in ({"avx512_bf16"}, set()):
        monkeypatch.setattr(D, "cpu_flags", lambda flags=flags: flags)
        assert timing.bf16_supported("cpu") is bool(flags)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(D, "mps_available", lambda: True)
    assert course.device().type == "mps"

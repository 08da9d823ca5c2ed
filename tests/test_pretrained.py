"""resnext_edu.pretrained: the real weight-loading path, offline.

The weight file is made here: a torchvision model's state dict (random weights, non-trivial BN statistics) saved
under torchvision's file-name convention (name-<first 8 hex digits of its SHA-256>.pth) and served through the same
code as the real file, by a ``file://`` URL, into a hub cache in a temporary TORCH_HOME. The expected logits come from
torchvision's own model holding the same state dict.
"""

from __future__ import annotations

import hashlib

import pytest
import torch
import torchvision

from conftest import with_batchnorm_statistics
from resnext_edu import pretrained
from resnext_edu.models import create

NAME = "resnext50_32x4d"
SIZE = 64  # a small input keeps ResNeXt-50 fast on a CPU; the weights are the same at every size


def save_hash_named(state: dict, folder, name: str):
    """Save ``state`` as ``<name>-<sha256[:8]>.pth`` (torchvision's convention, which torch.hub's hash check reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp.pth"
    torch.save(state, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:8]
    path = folder / f"{name}-{digest}.pth"
    tmp.rename(path)
    return path


@pytest.fixture(scope="module")
def reference():
    return with_batchnorm_statistics(torchvision.models.resnext50_32x4d(), bias=0.2)


@pytest.fixture
def served(tmp_path, monkeypatch, reference):
    """A weight file served by a file:// URL, and an empty hub cache (TORCH_HOME in tmp_path)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    path = save_hash_named(reference.state_dict(), tmp_path / "server", NAME)
    return path, path.as_uri()


def cache_dir():
    return pretrained.cache_file(pretrained.weights_for(NAME)).parent


def logits(model, seed=1):
    torch.manual_seed(seed)
    x = torch.randn(2, 3, SIZE, SIZE)
    with torch.no_grad():
        return model(x)


def test_served_file_gives_torchvision_logits_and_is_cached(served, reference):
    path, url = served
    model = pretrained.build(NAME, url=url)
    assert not model.training
    expected = logits(reference)
    assert torch.allclose(logits(model), expected, atol=1e-5, rtol=0)
    cached = cache_dir() / path.name
    assert cached.is_file() and cached.read_bytes() == path.read_bytes()
    path.unlink()  # the "server" is gone: the second run reads the cache
    assert torch.allclose(logits(pretrained.build(NAME, url=url)), expected, atol=1e-5, rtol=0)


def test_forms_a_and_b_of_the_loaded_model_agree_to_1e4(served, reference):
    _, url = served
    expected = logits(reference)
    form_c = pretrained.build(NAME, url=url)
    for form in ("A", "B"):
        model = pretrained.to_form(form_c, form)
        blocks = [b for stage in model.stages for b in stage]
        assert all(b.form == form for b in blocks) and len(blocks) == 16
        assert len(blocks[0].branches) == 32
        assert (logits(model) - expected).abs().max().item() < 1e-4
    assert all(b.form == "C" for stage in form_c.stages for b in stage), (
        "to_form must not change its input"
    )


def test_truncated_download_gives_one_clear_error_and_leaves_nothing(served, tmp_path):
    path, url = served
    data = path.read_bytes()
    path.write_bytes(
        data[: len(data) // 2]
    )  # the same name (and hash) as the complete file, half the bytes
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.build(NAME, url=url)
    message = str(info.value)
    assert "\n" not in message and "incomplete" in message and "Run again" in message
    folder = cache_dir()
    assert not folder.exists() or list(folder.iterdir()) == [], (
        "a broken download left a file in the cache"
    )


def test_truncated_file_already_in_the_cache_is_removed_with_a_clear_error(served):
    path, url = served
    folder = cache_dir()
    folder.mkdir(parents=True)
    data = path.read_bytes()
    (folder / path.name).write_bytes(data[: len(data) // 3])  # e.g. a copy that was interrupted
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.build(NAME, url=url)
    assert "\n" not in str(info.value) and "removed" in str(info.value)
    assert list(folder.iterdir()) == []
    pretrained.build(NAME, url=url)  # the next run downloads it afresh
    assert (folder / path.name).read_bytes() == data


def test_unreachable_server_says_what_to_do_and_untrained_ok_goes_on(served):
    path, _ = served
    url = (
        "http://127.0.0.1:9/" + path.name
    )  # port 9 ("discard"): nothing listens, the connection is refused
    with pytest.raises(pretrained.WeightsUnavailable) as info:
        pretrained.build(NAME, url=url)
    message = str(info.value)
    assert (
        "\n" not in message and "Could not download" in message and "untrained_ok=True" in message
    )
    folder = cache_dir()
    assert not folder.exists() or list(folder.iterdir()) == []
    loaded = pretrained.load(NAME, url=url, untrained_ok=True)
    assert not loaded.trained and "meaningless" in loaded.label("tabby cat")
    assert "UNTRAINED" in pretrained.status([loaded]) and "meaningless" in pretrained.status(
        [loaded]
    )


@pytest.mark.parametrize("name", pretrained.ARCHITECTURES)
def test_every_architecture_has_torchvisions_parameter_names_and_shapes(name):
    with torch.device("meta"):
        ours, theirs = create(name).state_dict(), torchvision.models.get_model(name).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


def test_weights_metadata_matches_the_published_figures():
    # torchvision's published ImageNet acc@1 of resnext50_32x4d: 77.618 (V1 weights), 81.198 (V2)
    assert (
        pretrained.weights_for(NAME, "IMAGENET1K_V1").meta["_metrics"]["ImageNet-1K"]["acc@1"]
        == 77.618
    )
    member = pretrained.weights_for(NAME)
    assert (
        member.name == "IMAGENET1K_V2" and member.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 81.198
    )
    assert len(member.meta["categories"]) == 1000


def test_bad_names_and_weights_say_what_is_allowed():
    with pytest.raises(ValueError, match="resnext50_32x4d"):
        pretrained.build("resnext29_8x64d")
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        pretrained.weights_for(NAME, "IMAGENET22K")
    with pytest.raises(ValueError, match="form"):
        pretrained.build(NAME, None, form="D")

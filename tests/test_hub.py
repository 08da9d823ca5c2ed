"""hubconf.py, used the torch.hub way on this checkout (``source="local"``), offline.

ImageNet weights: torch's hub cache (in a temporary TORCH_HOME) is pre-filled with a torchvision model's state dict
under the real file name, and torchvision's own ``resnext50_32x4d(weights="DEFAULT")`` reads the same file: its
logits are the independent reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from resnext_edu import models

REPO = Path(__file__).resolve().parent.parent


def hub_load(name, **kwargs):
    return torch.hub.load(str(REPO), name, source="local", **kwargs)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_list_and_help_name_every_registered_model(monkeypatch):
    # torch.hub.list and help only take GitHub names: serve this checkout as the downloaded repository
    monkeypatch.setattr(torch.hub, "_get_cache_or_reload", lambda *args, **kwargs: str(REPO))
    assert sorted(torch.hub.list("resnext-edu/resnext-edu")) == sorted(models.list_models())
    text = torch.hub.help("resnext-edu/resnext-edu", "resnext29_8x64d")
    assert "cardinality C = 8" in text and "base width (d at 64 planes) 64" in text


def test_load_gives_the_papers_model_and_takes_keyword_overrides():
    assert n_params(hub_load("resnext29_8x64d")) == 34_426_698  # Table 7 (10 classes)
    # 100 classes: the fc of 1,024 inputs gains 90 rows of 1,024 weights + 1 bias
    assert n_params(hub_load("resnext29_8x64d", num_classes=100)) == 34_426_698 + 90 * 1025
    small = hub_load("resnext29_8x64d", stage_widths=(16, 32, 64), stem_width=16)
    assert small.config.stage_widths == (16, 32, 64)
    assert n_params(hub_load("resnext50_32x4d")) == 25_028_904  # Table 1, untrained by default


def test_old_spelling_and_weights_for_cifar_models_get_clear_errors():
    with pytest.raises(ValueError, match="weights='DEFAULT'"):
        hub_load("resnext50_32x4d", pretrained=True)
    with pytest.raises(ValueError, match="no published weights"):
        hub_load("resnext29_8x64d", weights="DEFAULT")
    with pytest.raises(ValueError, match="only form and progress"):
        hub_load("resnext50_32x4d", weights="DEFAULT", num_classes=10)


def test_imagenet_weights_from_the_hub_cache_equal_torchvisions(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    source = torchvision.models.resnext50_32x4d().eval()
    for m in source.modules():  # non-trivial BN statistics, so that a wrong mapping shows
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    url = torchvision.models.ResNeXt50_32X4D_Weights.DEFAULT.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]
    cached.parent.mkdir(parents=True)
    torch.save(source.state_dict(), cached)  # as if an earlier run had downloaded it
    reference = torchvision.models.resnext50_32x4d(
        weights="DEFAULT"
    ).eval()  # torchvision reads the same file
    ours, ours_a = (
        hub_load("resnext50_32x4d", weights="DEFAULT"),
        hub_load("resnext50_32x4d", weights="DEFAULT", form="A"),
    )
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = reference(x)
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=0)
        assert (ours_a(x) - expected).abs().max().item() < 1e-4

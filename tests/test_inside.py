"""Lesson 07's looking-inside tools, photos and explorer, each against an independent computation."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from conftest import with_batchnorm_statistics  # noqa: E402
from resnext_edu import inside, photos, pretrained  # noqa: E402
from resnext_edu.blocks import ResNeXtBlock, convert  # noqa: E402
from resnext_edu.models import create  # noqa: E402
from resnext_edu.widgets.inside_explorer import inside_explorer  # noqa: E402

pytest.importorskip("skimage")


@pytest.fixture(scope="module")
def small():
    """ResNeXt-50's template with 1/4 of its widths (C = 32, d = 1, 2, 4, 8): fast at 224x224."""
    model = with_batchnorm_statistics(
        create("resnext50_32x4d", stage_widths=(16, 32, 64, 128), stem_width=16)
    )
    weights = pretrained.weights_for("resnext50_32x4d")
    return pretrained.Pretrained(
        "resnext50_32x4d", model, weights, False, "untrained, for the tests"
    )


def test_path_maps_equal_form_a_literal_branches():
    block = with_batchnorm_statistics(
        ResNeXtBlock(64, 128, stride=2, cardinality=8, bottleneck_width=4)
    )
    x = torch.randn(2, 64, 10, 10)
    maps = inside.path_maps(block, x)
    branches = convert(block, "A").branches
    with (
        torch.no_grad()
    ):  # branch i of form A, stopped after its 3x3's ReLU, averaged over its d channels
        expected = torch.stack(
            [b.relu2(b.bn2(b.conv2(b.relu1(b.bn1(b.conv1(x)))))).mean(1) for b in branches], 1
        )
    assert maps.shape == (2, 8, 5, 5)
    assert torch.allclose(maps, expected, atol=1e-6)
    assert torch.allclose(inside.path_maps(convert(block, "B"), x), expected, atol=1e-6)


def test_dense_weight_is_the_grouped_convolution():
    conv = torch.nn.Conv2d(12, 12, 3, padding=1, groups=4, bias=False)
    dense = inside.dense_weight(conv)
    z = torch.randn(2, 12, 6, 6)
    assert torch.allclose(F.conv2d(z, dense, padding=1), conv(z), atol=1e-6)
    assert (
        int((dense != 0).sum()) == conv.weight.numel() == 4 * 3 * 3 * 3 * 3
    )  # C·d·d·3·3 with d = 3


def test_grad_cam_follows_its_formula():
    model = with_batchnorm_statistics(
        create("resnext29_4x16d", stage_widths=(8, 16, 32), stem_width=8)
    )
    x = torch.randn(2, 3, 16, 16)
    maps = inside.grad_cam(model, x, [3, 7], layer="layer3")
    # by hand (Selvaraju et al. 2017, Eq. 1-2): w_k = mean of dY_c/dA_k over positions; ReLU(sum_k w_k A_k), then
    # scaled to [0, 1]
    seen = {}
    handle = model.layer3.register_forward_hook(lambda m, i, out: seen.setdefault("A", out))
    scores = model(x)
    handle.remove()
    A = seen["A"]
    grads = torch.autograd.grad(scores[0, 3] + scores[1, 7], A)[0]
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * A).sum(1)).detach()
    cam = cam - cam.amin(dim=(1, 2), keepdim=True)
    cam = cam / (cam.amax(dim=(1, 2), keepdim=True) + 1e-8)
    assert maps.shape == (2, 4, 4)
    assert torch.allclose(maps, cam, atol=1e-5)
    assert all(p.grad is None for p in model.parameters()) and not model.training


def test_top_k_by_brute_force():
    logits = torch.randn(3, 10)
    names = [f"class {i}" for i in range(10)]
    got = photos.top_k(logits, names, k=4)
    for row, preds in zip(logits.tolist(), got):
        exps = [2.718281828459045 ** (v - max(row)) for v in row]
        probs = [e / sum(exps) for e in exps]
        order = sorted(range(10), key=lambda i: -probs[i])[:4]
        assert [n for n, _ in preds] == [names[i] for i in order]
        assert [p for _, p in preds] == pytest.approx([probs[i] for i in order], abs=1e-6)


def test_photos_ship_with_scikit_image_and_crop_to_224():
    images = photos.load_photos(["cat", "rocket"])
    weights = pretrained.weights_for("resnext50_32x4d")
    assert images["cat"].shape == (300, 451, 3)
    assert photos.network_crop(images["rocket"], weights.transforms()).shape == (224, 224, 3)
    assert photos.to_batch(list(images.values()), weights.transforms()).shape == (2, 3, 224, 224)
    with pytest.raises(ValueError, match="cat"):
        photos.load_photos(["dog"])


def test_paper_top1_reads_table_3(small):
    # Table 3, 50 layers: 32x4d has 22.2% top-1 error; ResNet-50 (1x64d) 23.9%
    assert photos.paper_top1(small) == 77.8
    resnet = pretrained.Pretrained(
        "resnet50", create("resnet50"), pretrained.weights_for("resnet50"), False, ""
    )
    assert photos.paper_top1(resnet) == 76.1


def test_explorer_redraws_for_photo_block_and_path(small):
    explorer = inside_explorer(
        small, photos.load_photos(["cat", "coffee"]), blocks=["layer1.0", "layer3.2"]
    )
    s = explorer.state
    assert (s["block"], s["cardinality"], s["bottleneck_width"], s["map_size"]) == (
        "layer3.2",
        32,
        4,
        (14, 14),
    )
    first = s["maps"].clone()
    explorer.controls["path"].value = 5
    assert explorer.state["path"] == 5 and torch.equal(explorer.state["maps"], first)
    explorer.controls["photo"].value = "coffee"
    assert not torch.equal(explorer.state["maps"], first)
    explorer.controls["block"].value = "layer1.0"
    assert explorer.state["map_size"] == (56, 56) and explorer.state["bottleneck_width"] == 1
    assert explorer.draws == 4 and "path 5" in explorer.readout_html.value
    plt.close("all")


def test_comparison_counts_the_papers_models():
    # torchvision's recorded num_params and _ops (tests/reference_figures.py): Table 1's templates
    loaded = [
        pretrained.Pretrained(n, pretrained.build(n, None), pretrained.weights_for(n), False, "")
        for n in ("resnet50", "resnext50_32x4d")
    ]
    rows = photos.compare(loaded, torch.randn(1, 3, 32, 32), repeats=1, warmup=0)
    assert [(r["params"], round(r["macs"] / 1e9, 3)) for r in rows] == [
        (25_557_032, 4.089),
        (25_028_904, 4.230),
    ]
    assert [r["published_top1"] for r in rows] == [
        80.858,
        81.198,
    ]  # torchvision's V2 weights' metadata
    assert all(r["latency_ms"] > 0 for r in rows)
    text = photos.comparison_table(rows)
    assert "25,028,904" in text and "77.8" in text and "76.1" in text

"""Models against the paper's exact parameter counts and torchvision's implementations."""

import pytest
import torch

from reference_figures import PARAMS
from resnext_edu import models
from resnext_edu.blocks import ResNeXtBlock
from resnext_edu.counting import count

# Table 7 and the other ResNeXt-29 sizes (10 classes); Table 1 / torchvision for ImageNet (sources: reference_figures)
EXACT_PARAMS = PARAMS


@pytest.mark.parametrize("name, params", EXACT_PARAMS.items())
def test_exact_parameter_counts(name, params):
    with torch.device("meta"):
        model = models.create(name)
    assert sum(p.numel() for p in model.parameters()) == params


def test_every_registered_name_has_a_recorded_exact_count():
    """The registry and the reference figures name the same models (each is built and counted above)."""
    assert set(models.list_models()) == set(EXACT_PARAMS)


@pytest.mark.parametrize(
    "ours, theirs", [("resnext50_32x4d", "resnext50_32x4d"), ("resnet50", "resnet50")]
)
def test_torchvision_weights_load_strictly_and_give_the_same_outputs(ours, theirs):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    reference = getattr(torchvision.models, theirs)().eval()
    with torch.no_grad():  # non-trivial BN statistics, so the comparison exercises them
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    model = models.create(ours).eval()
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert (model(x) - reference(x)).abs().max().item() <= 1e-4


def test_zero_init_residual_zeroes_what_torchvisions_option_zeroes():
    """Goyal et al.'s zero-initialised residual branches: the same BatchNorm scales as torchvision's
    ``zero_init_residual=True`` (by name, its state_dict loading into ours), and each block then computes y = x."""
    torchvision = pytest.importorskip("torchvision")

    def zero_scales(model):
        return {
            name
            for name, p in model.named_parameters()
            if name.endswith(".weight") and not p.detach().any()
        }

    theirs = zero_scales(torchvision.models.resnext50_32x4d(zero_init_residual=True))
    ours = zero_scales(models.zero_init_residual(models.create("resnext50_32x4d")))
    assert ours == theirs and len(ours) == 16  # 3 + 4 + 6 + 3 blocks
    assert not zero_scales(models.create("resnext50_32x4d"))  # and none without it
    small = models.create("resnext29_4x16d", stage_widths=(8, 16, 32), stem_width=8)
    block = models.zero_init_residual(small).layer1[1]
    x = torch.randn(
        2, 32, 8, 8
    ).relu()  # a block's input is the ReLU of the one before: y = relu(0 + x) = x
    assert torch.equal(block(x), x)
    plain = models.zero_init_residual(
        models.create("resnext29_4x16d", stage_widths=(8, 16, 32), residual=False)
    )
    assert all(
        p.detach().all() for name, p in plain.named_parameters() if name.endswith("bn3.weight")
    )


def test_cifar_template_shapes_and_forms():
    model = models.create("resnext29_4x16d", stage_widths=(8, 16, 32), stem_width=8, form="A")
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 10)
    assert all(block.form == "A" for stage in model.stages for block in stage)
    assert [stage[0].out_channels for stage in model.stages] == [32, 64, 128]  # 4 x stage width
    assert model.config.stage_bottleneck_widths() == (2, 4, 8)  # floor(w · 16 / 64)


def test_reference_rule_for_stage_bottleneck_widths():
    """d per stage = floor(planes · base_width / 64) (the reference code): ResNeXt-50 32x4d has 4, 8, 16, 32."""
    assert models.config_for("resnext50_32x4d").stage_bottleneck_widths() == (4, 8, 16, 32)
    assert models.config_for("resnext29_8x64d").stage_bottleneck_widths() == (64, 128, 256)


def test_any_cifar_depth_and_width_is_parsed():
    config = models.config_for("resnext38_3x5d")
    assert (config.blocks_per_stage, config.cardinality, config.base_width) == ((4, 4, 4), 3, 5)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_fewer_blocks_per_stage_drops_exactly_those_blocks():
    """ResNeXt-20 4x32d at widths 16/32/64 with one block in stage 1 instead of two (benchmark 3's 1/2/2 model): the
    parameters missing are those of one stage-1 block built on its own (64 -> 64 channels, C = 4, d = 32·16/64 = 8)."""
    lesson = dict(stage_widths=(16, 32, 64), stem_width=16)
    full = models.create("resnext20_4x32d", **lesson)
    short = models.create("resnext20_4x32d", **lesson, blocks_per_stage=[1, 2, 2])
    block = ResNeXtBlock(64, 64, cardinality=4, bottleneck_width=8)
    assert n_params(full) - n_params(short) == n_params(block)
    assert [len(stage) for stage in short.stages] == [1, 2, 2]
    assert short.config.depth == 17 and models.name_of(short.config) == "resnext17_4x32d"
    assert short(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_a_block_moved_to_the_next_stage_keeps_the_macs():
    """Benchmark 3's default model, blocks 1/1/3: a block of stage 3 (256 channels on 8x8) has the MACs of
    one of stage 2 (128 on 16x16): every convolution has twice the input and output channels on a quarter of the
    pixels. Its parameters are those of the two blocks built on their own (C = 4, d = 16 and 32)."""
    lesson = dict(stage_widths=(16, 32, 64), stem_width=16)
    before = models.create("resnext20_4x32d", **lesson, blocks_per_stage=[1, 2, 2])
    after = models.create("resnext20_4x32d", **lesson, blocks_per_stage=[1, 1, 3])
    stage2, stage3 = (
        ResNeXtBlock(w, w, cardinality=4, bottleneck_width=d) for w, d in ((128, 16), (256, 32))
    )
    assert n_params(after) - n_params(before) == n_params(stage3) - n_params(stage2) == 77_312
    assert count(after, 32).macs == count(before, 32).macs == 41_077_248


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("resnext29_8x64", {}, "Did you mean resnext29_8x64d"),
        ("resnet5O", {}, "Did you mean resnet50"),
        ("resnext30_8x64d", {}, "no template supports"),
        ("resnext29_0x64d", {}, "cardinality must be a positive integer"),
        ("resnext29_8x64d", {"form": "D"}, "form must be one of"),
        ("resnext29_8x64d", {"stage_widths": (16, 32)}, "stage_widths needs 3 values"),
        ("resnext29_8x64d", {"stage_widths": (16, -32, 64)}, "positive integer"),
        ("resnext29_32x4d", {"stage_widths": (8, 16, 32)}, "bottleneck width floor"),
        ("resnext29_8x64d", {"colour": "red"}, "Unknown override"),
        ("resnext29_8x64d", {"blocks_per_stage": (1, 2)}, "blocks_per_stage needs 3 whole numbers"),
        (
            "resnext29_8x64d",
            {"blocks_per_stage": (1, 0, 2)},
            "blocks_per_stage needs 3 whole numbers",
        ),
        ("resnext29_8x64d", {"cardinality": 2.5}, "cardinality must be a positive integer"),
    ],
)
def test_bad_names_and_overrides(name, overrides, message):
    with pytest.raises(ValueError, match=message):
        models.create(name, **overrides)

"""Counts against the paper, torchvision's recorded figures and hand-derived formulas."""

import itertools

import pytest
import torch

from reference_figures import GMACS, PARAMS, TABLE2_D, TABLE2_EQ4
from resnext_edu import counting, models
from resnext_edu.blocks import ResNeXtBlock


def test_table1_counts_match_torchvisions_recorded_figures():
    """torchvision records params and GFLOPS (= MACs) for its pretrained weights: an independent source."""
    tv = pytest.importorskip("torchvision")
    for name, weights in [
        ("resnext50_32x4d", tv.models.ResNeXt50_32X4D_Weights.IMAGENET1K_V1),
        ("resnet50", tv.models.ResNet50_Weights.IMAGENET1K_V1),
        ("resnext101_32x8d", tv.models.ResNeXt101_32X8D_Weights.IMAGENET1K_V1),
    ]:
        counts = counting.count(name)
        assert counts.params == weights.meta["num_params"]
        assert round(counts.macs / 1e9, 3) == weights.meta["_ops"]  # torchvision records 3 decimals
        assert counts.flops == 2 * counts.macs


def test_table1_in_the_papers_rounding():
    resnet, resnext = counting.count("resnet50"), counting.count("resnext50_32x4d")
    assert (round(resnet.params / 1e6, 1), round(resnet.macs / 1e9, 1)) == (
        25.6,
        4.1,
    )  # paper prints 25.5 M
    assert (resnet.params, resnext.params) == (PARAMS["resnet50"], PARAMS["resnext50_32x4d"])
    assert (round(resnext.params / 1e6, 1), round(resnext.macs / 1e9, 1)) == (25.0, 4.2)


def test_table7_macs():
    for name in ("resnext29_8x64d", "resnext29_16x64d"):
        counts = counting.count(name)
        assert (round(counts.macs / 1e9, 2), counts.params) == (GMACS[name], PARAMS[name])


def test_eq4_values_from_the_paper():
    assert {C: counting.eq4_params(C, d) for C, d in TABLE2_D.items()} == TABLE2_EQ4
    assert 256 * 64 + 3 * 3 * 64 * 64 + 64 * 256 == counting.eq4_params(1, 64)


def test_width_solver_reproduces_table2():
    assert {C: counting.solve_bottleneck_width(C) for C in TABLE2_D} == TABLE2_D


def test_model_level_solver_reproduces_table2_and_matches_params():
    """On the whole ResNeXt-29 (lesson-size widths too), matching params gives Table 2's widths again."""
    for widths in [(64, 128, 256), (32, 64, 128)]:
        budget = counting.count(
            models.create("resnet29", stage_widths=widths, stem_width=widths[0])
        ).params
        for C, d in TABLE2_D.items():
            assert (
                counting.match_base_width("resnet29", C, stage_widths=widths, stem_width=widths[0])
                == d
            )
            params = counting.count(
                models.create(
                    "resnet29",
                    cardinality=C,
                    base_width=d,
                    stage_widths=widths,
                    stem_width=widths[0],
                )
            ).params
            assert abs(params - budget) / budget < 0.05


def test_solver_says_when_a_budget_cannot_hold_a_cardinality():
    with pytest.raises(ValueError, match="cannot hold"):
        counting.solve_bottleneck_width(1024)
    with pytest.raises(ValueError, match="cannot hold"):
        counting.match_base_width("resnet29", 256, stage_widths=(16, 32, 64), stem_width=16)


CASES = list(
    itertools.product(
        [1, 3, 8], [1, 5, 16], [(64, 64, 1), (32, 128, 1), (64, 128, 2), (96, 192, 2)], [7, 8, 16]
    )
)


@pytest.mark.parametrize("C, d, shape, size", CASES)
def test_closed_forms_match_the_measured_counts(C, d, shape, size):
    in_channels, out_channels, stride = shape
    for form in ("A", "C"):
        block = ResNeXtBlock(
            in_channels, out_channels, stride=stride, cardinality=C, bottleneck_width=d, form=form
        )
        measured = counting.count(block, size)
        kwargs = dict(cardinality=C, bottleneck_width=d, stride=stride)
        assert measured.params == counting.block_params(in_channels, out_channels, **kwargs)
        assert measured.macs == counting.block_macs(
            in_channels, out_channels, input_size=size, **kwargs
        )


def test_per_layer_counts_add_up_and_name_real_layers():
    model = models.create("resnext29_4x16d", stage_widths=(16, 32, 64), stem_width=16)
    counts = counting.count(model)
    assert sum(layer.macs for layer in counts.layers) == counts.macs
    assert sum(layer.params for layer in counts.layers) == counts.params
    names = dict(model.named_modules())
    assert all(layer.name in names for layer in counts.layers)
    conv = next(
        layer for layer in counts.layers if layer.name == "layer1.0.conv2"
    )  # grouped 3x3 at 32x32
    assert conv.macs == 32 * 32 * 3 * 3 * (16 * 16 // 64) * (4 * (16 * 16 // 64))
    stages = counts.by_stage()
    assert [row["stage"] for row in stages] == ["stem", "layer1", "layer2", "layer3", "head"]
    assert sum(row["macs"] for row in stages) == counts.macs


def test_counting_leaves_the_model_as_it_was():
    model = models.create("resnext29_2x8d", stage_widths=(8, 16, 32), stem_width=8).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    counting.count(model)
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_solver_prefers_the_smallest_width_among_equal_counts():
    """At stage widths 8/16/32, d = 64 and d = 65 give identical models (floor(8·65/64) = 8): the solver must name
    the template's own width, 64, not a larger twin."""
    assert counting.match_base_width("resnet29", 1, stage_widths=(8, 16, 32), stem_width=8) == 64

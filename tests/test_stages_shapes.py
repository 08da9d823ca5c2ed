"""The lesson 01-02 helpers: the shape tracer and the stage-by-stage table (the paper's design rules)."""

from __future__ import annotations

import pytest
import torch

from resnext_edu import counting, models, stages
from resnext_edu.blocks import BasicBlock, Bottleneck, ResNeXtBlock
from resnext_edu.inspect_shapes import shape_table, trace_shapes


def test_trace_shapes_of_a_downsampling_bottleneck():
    block = Bottleneck(256, 512, stride=2, bottleneck_width=128).train()
    steps = trace_shapes(block, torch.zeros(2, 256, 32, 32))
    assert block.training  # mode restored
    by_name = {s.name: s for s in steps}
    assert by_name["conv1"].output_shape == (2, 128, 32, 32)
    assert by_name["conv2"].output_shape == (2, 128, 16, 16)  # the stride sits in the 3x3
    assert by_name["downsample.0"].output_shape == (2, 512, 16, 16)
    assert steps[-1].name == "(output)" and steps[-1].output_shape == (2, 512, 16, 16)
    assert [s.name for s in steps].count("relu") == 2  # one ReLU module, called twice
    assert sum(s.params for s in steps) == sum(p.numel() for p in block.parameters())
    assert not block.conv1._forward_hooks  # hooks removed


def test_shape_table_text():
    text = shape_table(BasicBlock(64, 64), torch.zeros(1, 64, 8, 8))
    assert "Conv2d 64->64, 3x3, stride 1" in text and "73,984" in text  # 2·3·3·64·64 + 4·64 (BN)


def test_trace_shapes_of_form_a_lists_every_branch():
    block = ResNeXtBlock(16, 16, cardinality=3, bottleneck_width=2, form="A")
    names = [s.name for s in trace_shapes(block, torch.zeros(1, 16, 4, 4))]
    assert {"branches.0.conv3", "branches.1.conv3", "branches.2.conv3", "bn3"} <= set(names)


@pytest.mark.parametrize(
    "name", ["resnext50_32x4d", "resnet50", "resnext29_8x64d", "resnext29_16x64d"]
)
def test_stage_table_shows_the_design_rules(name):
    rows = stages.stage_table(name)  # measured by torch's FLOP counter
    # the same stages summed from the closed forms of lesson 04 (Eq. 4 + BN + projection), block by block
    config = models.config_for(name)
    size = 56 if config.template == "imagenet" else 32  # the map after the stem (and max-pool)
    in_channels = config.stem_width
    for row, n, width, d in zip(
        rows, config.blocks_per_stage, config.stage_widths, config.stage_bottleneck_widths()
    ):
        params = macs = 0
        for b in range(n):
            stride = 2 if (b == 0 and row.stage != "layer1") else 1
            kw = dict(cardinality=config.cardinality, bottleneck_width=d, stride=stride)
            params += counting.block_params(in_channels, 4 * width, **kw)
            macs += counting.block_macs(in_channels, 4 * width, input_size=size, **kw)
            in_channels, size = 4 * width, (size - 1) // stride + 1
        assert (row.params, row.macs, row.map_size) == (params, macs, size)
    for a, b in zip(rows, rows[1:]):
        assert b.map_size * 2 == a.map_size  # rule (ii): the map halves ...
        assert b.group_width == 2 * a.group_width  # ... and the width doubles
    assert len({r.block_macs for r in rows}) == 1  # so every non-first block costs the same
    for r in rows:  # rule (i): blocks in a stage are alike
        assert r.macs == r.first_block_macs + (r.blocks - 1) * r.block_macs


def test_stage_table_matches_closed_form_and_table1_notation():
    first = stages.stage_table("resnext50_32x4d")[0]
    assert first.map_size == 56 and first.notation.startswith(
        "[1x1, 128; 3x3, 128, C=32; 1x1, 256]"
    )
    assert first.block_macs == counting.block_macs(
        256, 256, cardinality=32, bottleneck_width=4, input_size=56
    )
    text = stages.format_stage_table(stages.stage_table("resnext29_8x64d"))
    assert "32x32" in text and "8x8" in text and "MACs" in text

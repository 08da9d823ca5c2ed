"""torchinfo, a second, independent counter (lesson 04 shows it beside the package's table), agrees with
``counting.count`` on params exactly and on MACs once its own conventions are accounted for: torchinfo adds one
multiply-add per BatchNorm scale/shift and per fc bias; the package counts convolution and fc weights only."""

import pytest
from torch import nn

torchinfo = pytest.importorskip("torchinfo")

from resnext_edu import counting, models  # noqa: E402
from resnext_edu.blocks import ResNeXtBlock  # noqa: E402


def torchinfo_counts(model, input_size):
    summary = torchinfo.summary(model, input_size=input_size, verbose=0)
    extra = 0
    for layer in summary.summary_list:
        if isinstance(layer.module, nn.BatchNorm2d):
            extra += layer.macs  # torchinfo: batch x (gamma + beta)
        elif isinstance(layer.module, nn.Linear) and layer.module.bias is not None:
            extra += layer.module.bias.numel()
    return summary.total_params, summary.total_mult_adds - extra


@pytest.mark.parametrize(
    "model, size",
    [
        (ResNeXtBlock(256, 256, cardinality=32, bottleneck_width=4), 56),  # lesson 04's block
        (
            ResNeXtBlock(256, 512, stride=2, cardinality=32, bottleneck_width=8),
            28,
        ),  # a stride and a projection
        (models.create("resnext29_4x16d", stage_widths=(16, 32, 64), stem_width=16), 32),
    ],
)
def test_torchinfo_and_the_counter_give_the_same_totals(model, size):
    params, macs = torchinfo_counts(model.eval(), (1, model_in_channels(model), size, size))
    counts = counting.count(model, input_size=size)
    assert params == counts.params
    assert macs == counts.macs


def model_in_channels(model):
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d)).in_channels

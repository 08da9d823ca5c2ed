"""The three forms of Fig. 3 compute the same function; grouped convolution = separate convs on slices."""

import itertools

import pytest
import torch
from torch import nn

from resnext_edu.blocks import FORMS, BasicBlock, Bottleneck, ResNeXtBlock, convert

# (in, out, stride, C, d): identity and projection shortcuts, downsampling, odd values such as C = 3, d = 5
CASES = [
    (64, 64, 1, 4, 4),
    (32, 128, 1, 3, 5),
    (64, 128, 2, 8, 2),
    (48, 96, 2, 3, 5),
    (16, 16, 1, 1, 7),
]


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights *and* BN statistics, so that an equality cannot pass by accident (BN's init is 1/0).
    Conv weights have He-init scale (std sqrt(2 / fan_in)), so activations stay O(1) as in a real network."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if tensor.dim() == 4:  # conv weight
                values = torch.randn(tensor.shape, generator=g) * (2 / tensor[0].numel()) ** 0.5
            elif "running_var" in name:
                values = torch.rand(tensor.shape, generator=g) + 0.5
            elif "weight" in name:  # BN gamma
                values = 1 + 0.2 * torch.randn(tensor.shape, generator=g)
            else:  # BN beta, running mean
                values = 0.2 * torch.randn(tensor.shape, generator=g)
            tensor.copy_(values)
    return module


@pytest.mark.parametrize("source, target", list(itertools.permutations(FORMS, 2)))
@pytest.mark.parametrize("in_channels, out_channels, stride, C, d", CASES)
def test_convert_gives_the_same_function_in_eval_mode(
    source, target, in_channels, out_channels, stride, C, d
):
    block = randomise(
        ResNeXtBlock(
            in_channels, out_channels, stride=stride, cardinality=C, bottleneck_width=d, form=source
        )
    ).eval()
    other = convert(block, target)
    assert other.form == target and not other.training
    x = torch.randn(4, in_channels, 10, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = block(x), other(x)
    assert got.shape == (4, out_channels, 10 // stride, 10 // stride)
    assert 0.1 < expected.abs().max().item() < 100  # a meaningful scale for an absolute tolerance
    assert (got - expected).abs().max().item() <= 1e-5
    assert sum(p.numel() for p in block.parameters()) == sum(p.numel() for p in other.parameters())


@pytest.mark.parametrize("source, target", list(itertools.permutations(FORMS, 2)))
def test_training_mode_batch_statistics_match_too(source, target):
    """BN is per channel and form A normalises after the sum, so even training-mode BN (batch statistics, and the
    running statistics they update) agrees across all three forms: no pair of forms is exempt."""
    block = randomise(
        ResNeXtBlock(32, 64, stride=2, cardinality=4, bottleneck_width=3, form=source)
    ).train()
    other = convert(block, target)
    x = torch.randn(8, 32, 8, 8, generator=torch.Generator().manual_seed(2))
    y1, y2 = block(x), other(x)
    assert (y1 - y2).abs().max().item() <= 1e-5
    # the running statistics they updated, compared in form C's layout
    s1, s2 = convert(block.eval(), "C").state_dict(), convert(other.eval(), "C").state_dict()
    for key in s1:
        if "running" in key:
            assert torch.allclose(s1[key], s2[key], atol=1e-5), key
    # and gradients flow to the same values (compare the dense conv3 gradient in form C's layout)
    y1.square().mean().backward()
    y2.square().mean().backward()
    assert block.bn3.weight.grad is not None
    assert torch.allclose(block.bn3.weight.grad, other.bn3.weight.grad, atol=1e-5)


def test_grouped_conv_equals_separate_convs_on_channel_slices():
    """oneDNN has had grouped-convolution bugs: check groups=C against C independent F.conv2d calls."""
    C, d = 5, 3
    g = torch.Generator().manual_seed(3)
    weight = torch.randn(C * d, d, 3, 3, generator=g)
    x = torch.randn(2, C * d, 9, 9, generator=g)
    for stride in (1, 2):
        grouped = nn.functional.conv2d(x, weight, stride=stride, padding=1, groups=C)
        separate = torch.cat(
            [
                nn.functional.conv2d(
                    x[:, i * d : (i + 1) * d], weight[i * d : (i + 1) * d], stride=stride, padding=1
                )
                for i in range(C)
            ],
            dim=1,
        )
        assert (grouped - separate).abs().max().item() <= 1e-5


def test_form_a_sums_explicit_branches():
    """Form A is literally F(x) = sum_i T_i(x) (Eq. 2): recompute it from the branches by hand."""
    block = randomise(ResNeXtBlock(16, 16, cardinality=3, bottleneck_width=4, form="A")).eval()
    x = torch.randn(2, 16, 6, 6)
    with torch.no_grad():
        aggregated = sum(branch(x) for branch in block.branches)
        expected = torch.relu(block.bn3(aggregated) + x)
        assert torch.allclose(block(x), expected, atol=1e-6)


def test_resnet_blocks_match_torchvision():
    torchvision = pytest.importorskip("torchvision")
    ours = Bottleneck(256, 256, bottleneck_width=64).eval()
    theirs = torchvision.models.resnet.Bottleneck(256, 64).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 256, 8, 8)
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)
    basic, tv_basic = BasicBlock(64, 64).eval(), torchvision.models.resnet.BasicBlock(64, 64).eval()
    basic.load_state_dict(tv_basic.state_dict(), strict=True)
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        assert torch.allclose(basic(x), tv_basic(x), atol=1e-5)


def test_shortcut_types():
    assert (
        ResNeXtBlock(64, 64, cardinality=2, bottleneck_width=4).downsample is None
    )  # projection-when-needed, same shape
    assert (
        ResNeXtBlock(
            64, 64, cardinality=2, bottleneck_width=4, shortcut="projection-always"
        ).downsample
        is not None
    )
    assert (
        ResNeXtBlock(64, 128, cardinality=2, bottleneck_width=4).downsample is not None
    )  # shape changes
    plain = ResNeXtBlock(64, 128, cardinality=2, bottleneck_width=4, residual=False)
    assert plain.downsample is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(cardinality=0, bottleneck_width=4), "cardinality must be a positive integer"),
        (dict(cardinality=-2, bottleneck_width=4), "cardinality must be a positive integer"),
        (dict(cardinality=2.5, bottleneck_width=4), "cardinality must be a positive integer"),
        (dict(cardinality=2, bottleneck_width=0), "bottleneck_width must be a positive integer"),
        (dict(cardinality=2, bottleneck_width=4, form="D"), "form must be one of 'A', 'B', 'C'"),
        (dict(cardinality=2, bottleneck_width=4, shortcut="A"), "shortcut must be one of"),
        (
            dict(cardinality=2, bottleneck_width=4, shortcut="C"),
            "named in words.*'projection-always'",
        ),
        (dict(cardinality=2, bottleneck_width=4, stride=3), "stride must be one of"),
    ],
)
def test_bad_block_arguments_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResNeXtBlock(16, 16, **kwargs)


def test_convert_refuses_other_modules():
    with pytest.raises(ValueError, match="takes a ResNeXtBlock"):
        convert(nn.Conv2d(3, 3, 1), "A")
    with pytest.raises(ValueError, match="form must be one of"):
        convert(ResNeXtBlock(8, 8, cardinality=2, bottleneck_width=2), "Z")

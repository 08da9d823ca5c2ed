"""Gradient norms per convolution (resnext_edu/gradients.py, lesson 01), against gradients derived
by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from resnext_edu import models
from resnext_edu.gradients import conv_gradient_norms


def one_pixel_net(a: float, b: tuple[float, float]) -> nn.Sequential:
    """conv1: 1x1, 1 -> 1 channel, weight a; conv2: 1x1, 1 -> 2 channels, weights b; logits = b · a
    · x."""
    net = nn.Sequential(
        nn.Conv2d(1, 1, 1, bias=False), nn.Conv2d(1, 2, 1, bias=False), nn.Flatten()
    )
    with torch.no_grad():
        net[0].weight.fill_(a)
        net[1].weight.copy_(torch.tensor(b).view(2, 1, 1, 1))
    return net


def test_norms_equal_the_hand_derivation_of_softmax_cross_entropy():
    # x = 1 on one pixel, a = 1, b = (1, -1): logits z = (1, -1), label 0.
    # dL/dz = softmax(z) - e_0 = (p - 1, 1 - p) with p = 1 / (1 + e^-2);
    # dL/db_k = (dL/dz_k) · a · x  -> norm sqrt(2) (1 - p);
    # dL/da = sum_k (dL/dz_k) b_k x = -2 (1 - p).
    p = 1 / (1 + math.exp(-2))
    result = conv_gradient_norms(
        one_pixel_net(1.0, (1.0, -1.0)), torch.ones(1, 1, 1, 1), torch.tensor([0])
    )
    assert result.layers == ["0", "1"]
    assert result.norms == pytest.approx([2 * (1 - p), math.sqrt(2) * (1 - p)], rel=1e-6)
    assert result.first_over_last == pytest.approx(math.sqrt(2), rel=1e-6)
    assert result.spread == pytest.approx(math.sqrt(2), rel=1e-6)


def test_the_learners_model_is_left_without_gradients_and_in_its_mode():
    net = one_pixel_net(0.5, (2.0, 1.0)).eval()
    conv_gradient_norms(net, torch.ones(2, 1, 1, 1), torch.tensor([0, 1]))
    assert not net.training and all(p.grad is None for p in net.parameters())


def test_a_network_without_convolutions_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="no nn.Conv2d"):
        conv_gradient_norms(
            nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), torch.ones(1, 1, 2, 2), torch.tensor([0])
        )


def test_every_convolution_of_a_cifar_resnet_is_measured_once():
    torch.manual_seed(0)
    net = models.create("resnet20", stage_widths=(4, 8, 16), stem_width=8)
    result = conv_gradient_norms(net, torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))
    convs = [name for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    assert result.layers == convs and all(n > 0 for n in result.norms)

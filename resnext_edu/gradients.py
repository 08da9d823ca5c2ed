"""Gradient norms per layer at initialisation: what a shortcut does for the signal that trains a
deep network (lesson 01).

One backward pass of the cross-entropy loss on one batch gives every convolution's weight gradient
:math:`\\partial L / \\partial W`; its Frobenius norm :math:`\\lVert \\partial L / \\partial W
\\rVert` says how hard that layer is pushed by the first step of gradient descent. In a plain
network the norms change by orders of magnitude from the last layer to the first; the shortcuts of a
residual network (He et al. 2016, Eq. 1) pass the gradient of each block's output straight to its
input, and the norms stay within a narrow band."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from torch import Tensor, nn


@dataclass(frozen=True)
class GradientNorms:
    """The result of :func:`conv_gradient_norms`: one norm per convolution, in the order the model
    holds them."""

    label: str
    layers: list[str]  # the convolutions' names in the model, e.g. "layer1.0.conv1"
    norms: list[float]  # ||dL/dW|| of each, Frobenius norm, same order

    @property
    def spread(self) -> float:
        """The largest norm over the smallest: 1 means every layer gets an equally strong
        gradient."""
        return max(self.norms) / min(self.norms)

    @property
    def first_over_last(self) -> float:
        """The first convolution's norm over the last one's: far from 1 when the gradient grows or
        fades with depth on its way back from the loss."""
        return self.norms[0] / self.norms[-1]


def conv_gradient_norms(
    model: nn.Module, images: Tensor, labels: Tensor, label: str = ""
) -> GradientNorms:
    """The weight-gradient norm of every ``nn.Conv2d`` of ``model`` after one backward pass of the
    cross-entropy loss on ``(images, labels)``, in training mode (batch norm uses the batch's
    statistics, as in the first step).

    The model is copied: the learner's model keeps its mode and has no gradients left on it.

    Args:
        model: a classifier returning logits of shape (N, classes).
        images: a batch, e.g. ``torch.randn(32, 3, 32, 32)``.
        labels: the batch's classes, shape (N,).
        label: the name printed with the result.
    """
    net = copy.deepcopy(model).train()
    net.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(net(images), labels)
    loss.backward()
    names, norms = [], []
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d) and module.weight.grad is not None:
            names.append(name)
            norms.append(module.weight.grad.norm().item())
    if not norms:
        raise ValueError(
            f"{type(model).__name__} has no nn.Conv2d whose weight received a gradient: "
            f"conv_gradient_norms measures convolutional networks."
        )
    return GradientNorms(label or type(model).__name__, names, norms)

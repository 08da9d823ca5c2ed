"""Shapes through a block or a model, layer by layer, recorded with forward hooks. Lesson 01.

``torchinfo.summary`` gives a similar table for whole models; this one is small enough to read, lists layers in the
order they run (a module used twice, like a shared ReLU, appears twice), and ends with the block's own output, so
the shortcut's addition shows up as the last step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ShapeStep:
    """One call of a leaf module (one that has no children) during a forward pass."""

    name: str  # dotted name in model.named_modules(); "(output)" for the whole module's result
    layer: str  # e.g. "Conv2d 256->64, 1x1, stride 1"
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int  # learnable numbers of this layer (counted once even if it runs twice)


def describe(module: nn.Module) -> str:
    """A short description of a layer: convolutions in the paper's terms (in->out, kernel, stride, groups)."""
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0]
        groups = f", groups {module.groups}" if module.groups > 1 else ""
        return f"Conv2d {module.in_channels}->{module.out_channels}, {k}x{k}, stride {module.stride[0]}{groups}"
    if isinstance(module, nn.BatchNorm2d):
        return f"BatchNorm2d {module.num_features}"
    if isinstance(module, nn.Linear):
        return f"Linear {module.in_features}->{module.out_features}"
    return type(module).__name__


def trace_shapes(module: nn.Module, x: Tensor) -> list[ShapeStep]:
    """Run ``module(x)`` once (no gradients, eval mode, training mode restored after) and record every leaf
    module's input and output shape in the order they ran, then the module's output as the last step."""
    steps: list[ShapeStep] = []
    seen: set[str] = set()

    def record(name: str):
        def hook(layer: nn.Module, inputs: tuple, output: Tensor) -> None:
            params = 0 if name in seen else sum(p.numel() for p in layer.parameters(recurse=False))
            seen.add(name)
            steps.append(
                ShapeStep(
                    name, describe(layer), tuple(inputs[0].shape), tuple(output.shape), params
                )
            )

        return hook

    handles = [
        m.register_forward_hook(record(name))
        for name, m in module.named_modules()
        if name and not list(m.children())
    ]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(x)
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    steps.append(
        ShapeStep(
            "(output)",
            "F(x) + shortcut(x), then ReLU"
            if hasattr(module, "_finish")
            else "the module's result",
            tuple(x.shape),
            tuple(out.shape),
            0,
        )
    )
    return steps


def shape_table(module: nn.Module, x: Tensor) -> str:
    """:func:`trace_shapes` as a text table: name, layer, input shape -> output shape, params."""
    steps = trace_shapes(module, x)
    width = max(len(s.name) for s in steps)
    kind = max(len(s.layer) for s in steps)
    lines = [
        f"{'module':<{width}}  {'layer':<{kind}}  {'input shape':<18} -> {'output shape':<18} {'params':>9}"
    ]
    for s in steps:
        shapes = f"{str(s.input_shape):<18} -> {str(s.output_shape):<18}"
        lines.append(f"{s.name:<{width}}  {s.layer:<{kind}}  {shapes} {s.params:>9,}")
    lines.append(f"{'total':<{width}}  {'':<{kind}}  {'':<40} {sum(s.params for s in steps):>9,}")
    return "\n".join(lines)

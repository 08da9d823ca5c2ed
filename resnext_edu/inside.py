"""Looking inside a trained ResNeXt (lesson 07): the C paths of a block, its grouped weights, class activation maps.

* :func:`path_maps`: what each of a block's C paths (Fig. 3(a)'s T_i) responds to: the mean of path i's d channels
  after its 3x3 (BN and ReLU included), channels i·d:(i+1)·d of the grouped layer (lesson 03's slicing).
* :func:`dense_weight`: a grouped convolution written as the dense, block-diagonal convolution it equals (lesson 03).
* :func:`grad_cam`: Grad-CAM (Selvaraju et al. 2017) from the ``torchcam`` library (pure PyTorch hooks, no OpenCV:
  lighter than ``grad-cam``, which pulls in opencv-python and scikit-learn).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn

from .blocks import ResNeXtBlock
from .models import ResNeXt


def block_names(model: ResNeXt) -> list[str]:
    """ "layer1.0", "layer1.1", ...: every block, as named in ``model.named_modules()``."""
    return [f"layer{s + 1}.{b}" for s, stage in enumerate(model.stages) for b in range(len(stage))]


def block_inputs(model: nn.Module, x: Tensor, names: list[str]) -> dict[str, Tensor]:
    """The input of each named block when ``model`` runs on ``x`` (one forward pass, eval mode, no gradients)."""
    modules = dict(model.named_modules())
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise ValueError(
            f"No block named {', '.join(unknown)}. Blocks are named like 'layer3.0': see block_names()."
        )
    seen: dict[str, Tensor] = {}
    handles = [
        modules[n].register_forward_pre_hook(
            lambda m, args, n=n: seen.__setitem__(n, args[0].detach())
        )
        for n in names
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def path_maps(block: ResNeXtBlock, x: Tensor) -> Tensor:
    """(N, C, H', W'): for each of the block's C paths, the mean over its d channels of its 3x3's output (after BN
    and ReLU) on the block input ``x``. Works on form "C" (slices of the grouped layer) and forms "A"/"B"."""
    with torch.no_grad():
        if block.form == "C":
            y = block.relu(
                block.bn2(block.conv2(block.relu(block.bn1(block.conv1(x)))))
            )  # (N, C·d, H', W')
            return y.unflatten(1, (block.cardinality, block.bottleneck_width)).mean(dim=2)
        return torch.stack(
            [branch[:6](x).mean(dim=1) for branch in block.branches], dim=1
        )  # up to relu2


def dense_weight(conv: nn.Conv2d) -> Tensor:
    """The (out, in, k, k) weight of the dense convolution equal to the grouped ``conv``: its ``groups`` blocks on
    the diagonal, zeros elsewhere (lesson 03, Fig. 3(b) = 3(c))."""
    weight = conv.weight.detach()
    out_channels, d_in = weight.shape[:2]
    d_out = out_channels // conv.groups
    dense = weight.new_zeros(out_channels, d_in * conv.groups, *weight.shape[2:])
    for g in range(conv.groups):
        dense[g * d_out : (g + 1) * d_out, g * d_in : (g + 1) * d_in] = weight[
            g * d_out : (g + 1) * d_out
        ]
    return dense


def grad_cam(
    model: nn.Module, x: Tensor, class_idx: list[int] | None = None, layer: str = "layer4"
) -> Tensor:
    """Grad-CAM maps (N, h, w) in [0, 1] at ``layer``'s resolution, for ``class_idx`` (default: each image's top-1),
    by ``torchcam.methods.GradCAM``. The model's mode and gradients are left as they were."""
    from torchcam.methods import GradCAM  # heavy optional dependency (the notebook extra)

    was_training = model.training
    model.eval()
    try:
        with GradCAM(model, target_layer=layer) as extractor, torch.enable_grad():
            scores = model(x)
            if class_idx is None:
                class_idx = scores.argmax(dim=1).tolist()
            maps = extractor(class_idx=list(class_idx), scores=scores)[0].detach()
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return maps


def upsample(maps: Tensor, size: tuple[int, int]) -> np.ndarray:
    """(N, h, w) maps resized (bilinear) to ``size`` = (H, W), as a numpy array for drawing over a photo."""
    return (
        F.interpolate(maps[:, None].float(), size=size, mode="bilinear", align_corners=False)[:, 0]
        .cpu()
        .numpy()
    )


def draw_paths(image: np.ndarray, maps: Tensor, path: int, title: str = "") -> Figure:
    """The photo with path ``path``'s map over it, and the C maps as a grid (each on its own colour scale; the
    chosen path framed in red). ``image`` is the (H, W, 3) crop the network saw; ``maps`` is (C, h, w)."""
    C = maps.shape[0]
    cols = 8 if C >= 8 else C
    rows = -(-C // cols)
    fig = Figure(figsize=(11, max(3.2, 1.1 * rows + 1)))
    grid = fig.add_gridspec(rows, cols + 4)
    ax = fig.add_subplot(grid[:, :4])
    ax.imshow(image)
    ax.imshow(upsample(maps[path : path + 1], image.shape[:2])[0], cmap="magma", alpha=0.6)
    ax.set_title(f"path {path} over the photo", fontsize=9)
    ax.set_axis_off()
    for i in range(C):
        a = fig.add_subplot(grid[i // cols, 4 + i % cols])
        a.imshow(maps[i].cpu().numpy(), cmap="magma")
        a.set_xticks([]), a.set_yticks([])
        a.set_title(str(i), fontsize=7, pad=1)
        for spine in a.spines.values():
            spine.set(color="red" if i == path else "none", linewidth=2)
    fig.suptitle(title, fontsize=10)
    return fig


def draw_block_diagonal(conv: nn.Conv2d, ax, title: str = "") -> None:
    """|weight| summed over the kernel positions of ``conv``'s dense equivalent: a block-diagonal matrix (white is 0)."""
    ax.imshow(dense_weight(conv).abs().sum(dim=(2, 3)).cpu().numpy(), cmap="Blues")
    ax.set(xlabel="input channel", ylabel="output channel")
    ax.set_title(title or f"grouped 3x3 as a dense matrix ({conv.groups} blocks)", fontsize=9)


def draw_cams(image: np.ndarray, cams: dict[str, Tensor], labels: dict[str, str]) -> Figure:
    """The photo, then each model's Grad-CAM map (h, w) over it, titled with ``labels[model]``."""
    fig = Figure(figsize=(3.2 * (1 + len(cams)), 3.4))
    axes = fig.subplots(1, 1 + len(cams))
    axes[0].imshow(image)
    axes[0].set_title("photo (the network's crop)", fontsize=9)
    for ax, (model, cam) in zip(axes[1:], cams.items()):
        ax.imshow(image)
        ax.imshow(upsample(cam[None], image.shape[:2])[0], cmap="jet", alpha=0.45)
        ax.set_title(f"{model}\n{labels[model]}", fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    return fig

"""Real photos through an ImageNet classifier (lesson 07): scikit-image's sample photos, top-k, ResNet vs ResNeXt.

The photos ship inside scikit-image's wheel (``skimage.data.chelsea()`` and others): nothing is downloaded.
Preprocessing is torchvision's for the weights (:attr:`Pretrained.transforms`: resize, center crop 224, normalise).
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms.functional as TF
from matplotlib.figure import Figure
from torch import Tensor

from . import paper
from .checks import check_choice, check_positive_int
from .counting import count
from .pretrained import Pretrained
from .timing import time_module

PHOTOS = {
    "cat": "chelsea",
    "coffee": "coffee",
    "astronaut": "astronaut",
    "rocket": "rocket",
}  # label -> skimage


def load_photos(labels=None) -> dict[str, np.ndarray]:
    """The photos as (H, W, 3) uint8 arrays, by label (all of :data:`PHOTOS` by default)."""
    import skimage.data  # heavy optional dependency (the notebook extra), imported only when photos are asked for

    labels = list(PHOTOS) if labels is None else list(labels)
    for label in labels:
        check_choice("photo", label, tuple(PHOTOS))
    return {label: getattr(skimage.data, PHOTOS[label])() for label in labels}


def to_batch(images, transforms) -> Tensor:
    """A (N, 3, 224, 224) float batch from (H, W, 3) uint8 arrays, through the weights' own ``transforms``."""
    return torch.stack(
        [transforms(torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)) for im in images]
    )


def network_crop(image: np.ndarray, transforms) -> np.ndarray:
    """The (224, 224, 3) uint8 part of ``image`` that the network sees: the weights' resize and center crop, without
    the normalisation (for drawing maps over it)."""
    t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    t = TF.center_crop(
        TF.resize(
            t, transforms.resize_size, interpolation=transforms.interpolation, antialias=True
        ),
        transforms.crop_size,
    )
    return t.permute(1, 2, 0).numpy()


def top_k(logits: Tensor, categories: list[str], k: int = 5) -> list[list[tuple[str, float]]]:
    """For each row of ``logits`` (N, classes): the ``k`` most probable categories with their softmax probability."""
    check_positive_int("k", k)
    probabilities = logits.float().softmax(dim=1)
    values, indices = probabilities.topk(k, dim=1)
    return [
        [(categories[i], p) for i, p in zip(row_i.tolist(), row_p.tolist())]
        for row_i, row_p in zip(indices, values)
    ]


def classify(
    loaded: Pretrained, photos: dict[str, np.ndarray], k: int = 5
) -> dict[str, list[tuple[str, float]]]:
    """Top-``k`` predictions of ``loaded`` for each photo, one photo at a time (low memory on a laptop)."""
    device = next(loaded.model.parameters()).device
    out = {}
    with torch.no_grad():
        for label, image in photos.items():
            logits = loaded.model(to_batch([image], loaded.transforms).to(device))
            out[label] = top_k(logits.cpu(), loaded.categories, k)[0]
    return out


def draw_predictions(
    photos: dict[str, np.ndarray], predictions: dict[str, dict], trained: dict[str, bool]
) -> Figure:
    """One row per photo: the photo, then for each model (``predictions[model][photo]``) its top-k as bars."""
    models = list(predictions)
    fig = Figure(figsize=(4 + 4.2 * len(models), 2.4 * len(photos)))
    axes = fig.subplots(
        len(photos),
        1 + len(models),
        squeeze=False,
        gridspec_kw={"width_ratios": [1] + [1.6] * len(models)},
    )
    for row, (label, image) in zip(axes, photos.items()):
        row[0].imshow(image)
        row[0].set_axis_off()
        row[0].set_title(label, fontsize=9)
        for ax, model in zip(row[1:], models):
            names, probs = zip(*predictions[model][label])
            ax.barh(
                range(len(names))[::-1], probs, color="#4c72b0" if trained[model] else "#999999"
            )
            ax.set_yticks(range(len(names))[::-1], [n[:22] for n in names], fontsize=8)
            ax.set_xlim(0, 1)
            ax.tick_params(axis="x", labelsize=7)
            note = "" if trained[model] else "\nUNTRAINED weights: meaningless"
            ax.set_title(f"{model}: top-{len(names)} probability{note}", fontsize=8)
    fig.tight_layout()
    return fig


def paper_top1(loaded: Pretrained) -> float | None:
    """Top-1 accuracy (%) = 100 - Table 3's 50-layer top-1 error for this model's setting (None if not in it)."""
    c = loaded.model.config
    if c.depth != 50:
        return None
    for row in paper.table("table3")["rows"]:
        if (row["cardinality"], row["bottleneck_width"]) == (c.cardinality, c.base_width):
            return round(100 - row["error_50"], 1)
    return None


def compare(
    loaded: list[Pretrained], x: Tensor, *, repeats: int = 3, warmup: int = 1
) -> list[dict]:
    """One row per model: params and MACs per 224x224 image (:func:`counting.count`), measured latency of a forward
    pass on ``x`` (its device; ms, median of ``repeats``), torchvision's published top-1 and the paper's."""
    rows = []
    for p in loaded:
        counts = count(p.name, 224)
        t = time_module(p.model, x, repeats=repeats, warmup=warmup, label=p.name)
        rows.append(
            {
                "model": p.name,
                "params": counts.params,
                "macs": counts.macs,
                "latency_ms": t.median_ms,
                "input": tuple(x.shape),
                "device": x.device.type,
                "published_top1": p.published_top1,
                "weights": p.weights.name,
                "paper_top1": paper_top1(p),
            }
        )
    return rows


def comparison_table(rows: list[dict]) -> str:
    """The rows of :func:`compare` as an aligned text table, with units."""
    head = (
        f"{'model':<18}{'params':>13}{'G MACs':>8}{'latency ms':>12}   {'top-1 % (torchvision weights)':<32}"
        f"{'top-1 % (paper, Table 3)':>24}"
    )
    lines = [head]
    for r in rows:
        paper_value = "-" if r["paper_top1"] is None else f"{r['paper_top1']:.1f}"
        lines.append(
            f"{r['model']:<18}{r['params']:>13,}{r['macs'] / 1e9:>8.2f}{r['latency_ms']:>12.1f}   "
            f"{r['published_top1']:<7.3f} ({r['weights']})".ljust(len(head) - 24)
            + f"{paper_value:>24}"
        )
    n, _, h, w = rows[0]["input"]
    lines.append(
        f"(latency: forward pass of {n} image(s) of {h}x{w} on {rows[0]['device']}; "
        f"params and MACs at 224x224; MACs = multiply-accumulates)"
    )
    return "\n".join(lines)

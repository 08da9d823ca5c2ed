"""Lesson 07's explorer: choose a photo, a block of the trained network and one of its paths; the maps redraw.

For each photo the network runs once (its block inputs are kept, :func:`resnext_edu.inside.block_inputs`); changing
the block or the path only recomputes that block's :func:`~resnext_edu.inside.path_maps`.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ..inside import block_inputs, block_names, draw_paths, path_maps
from ..photos import network_crop, to_batch
from ..pretrained import Pretrained
from .base import Explorer, slider


class InsideExplorer(Explorer):
    """Dropdowns photo and block, slider path -> the photo with the chosen path's map over it and the C paths' maps.

    ``state`` holds what is shown: ``photo``, ``block``, ``path``, ``cardinality``, ``bottleneck_width``,
    ``map_size`` (h, w), ``maps`` (C, h, w), ``path_mean`` (the chosen path's mean activation) and ``strongest``
    (the path with the largest mean activation).

    Args:
        loaded: the network (:func:`resnext_edu.pretrained.load`).
        photos: label -> (H, W, 3) uint8 photo (:func:`resnext_edu.photos.load_photos`).
        blocks: the blocks offered (default: every block of the network).
    """

    def __init__(
        self, loaded: Pretrained, photos: dict[str, np.ndarray], blocks: list[str] | None = None
    ):
        if not photos:
            raise ValueError("InsideExplorer needs at least one photo: pass photos.load_photos().")
        self.loaded, self.photos = loaded, photos
        self.blocks = blocks or block_names(loaded.model)
        self.modules = dict(loaded.model.named_modules())
        self.inputs: dict[str, dict] = {}  # photo -> block -> its input (computed on first use)
        width = max(m.cardinality for m in (self.modules[b] for b in self.blocks))
        controls = {
            "photo": widgets.Dropdown(
                options=list(photos), value=list(photos)[0], description="photo"
            ),
            "block": widgets.Dropdown(
                options=self.blocks, value=self.blocks[len(self.blocks) // 2], description="block"
            ),
            "path": slider("path", 0, 0, width - 1),
        }
        super().__init__(controls)

    def compute(self, photo: str, block: str, path: int) -> dict:
        module = self.modules[block]
        if path >= module.cardinality:
            raise ValueError(
                f"Block {block} has {module.cardinality} paths (0 to {module.cardinality - 1}); "
                f"choose a path below {module.cardinality}."
            )
        if photo not in self.inputs:
            device = next(self.loaded.model.parameters()).device
            x = to_batch([self.photos[photo]], self.loaded.transforms).to(device)
            self.inputs[photo] = block_inputs(self.loaded.model, x, self.blocks)
        maps = path_maps(module, self.inputs[photo][block])[0].cpu()  # (C, h, w)
        means = maps.mean(dim=(1, 2))
        return {
            "photo": photo,
            "block": block,
            "path": path,
            "cardinality": module.cardinality,
            "bottleneck_width": module.bottleneck_width,
            "map_size": tuple(maps.shape[1:]),
            "maps": maps,
            "path_mean": means[path].item(),
            "strongest": int(means.argmax()),
        }

    def draw(self, state: dict) -> Figure:
        crop = network_crop(self.photos[state["photo"]], self.loaded.transforms)
        title = self.loaded.label(
            f"{self.loaded.name}, block {state['block']}: what each of its "
            f"{state['cardinality']} paths responds to"
        )
        return draw_paths(crop, state["maps"], state["path"], title)

    def readout(self, state: dict) -> str:
        h, w = state["map_size"]
        return (
            f"block <b>{state['block']}</b>: C = {state['cardinality']} paths of d = "
            f"{state['bottleneck_width']} channels, maps of {h}x{w}; path {state['path']}: mean activation "
            f"{state['path_mean']:.3f}; the most active path here: {state['strongest']}"
        )


def inside_explorer(loaded: Pretrained, photos: dict[str, np.ndarray], **kwargs) -> InsideExplorer:
    """Lesson 07's explorer (see :class:`InsideExplorer`); display it by leaving it last in a cell."""
    return InsideExplorer(loaded, photos, **kwargs)

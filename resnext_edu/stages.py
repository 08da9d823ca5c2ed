"""A model stage by stage, with measured counts: the paper's two design rules made visible. Lesson 02.

Sec. 3.1 of the paper: (i) blocks that produce spatial maps of the same size share hyper-parameters (width and
filter sizes); (ii) each time the map is downsampled by 2, the width of the blocks is multiplied by 2, which keeps the
computational complexity (MACs) of every block about the same. :func:`stage_table` shows both on any registered model:
each stage's blocks in Table 1's notation, its map size, and the MACs of its blocks, all measured by :func:`counting.count`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .blocks import group_width
from .counting import Counts, G, M, count
from .models import EXPANSION, config_for, create


@dataclass
class StageRow:
    """One stage of a model. MACs are per image, measured (conv + fc), as everywhere in the project."""

    stage: str  # "layer1", ...
    blocks: int  # blocks in the stage
    map_size: int  # height (= width) of the maps the stage outputs
    cardinality: int  # C
    bottleneck_width: int  # d of this stage: floor(stage width · d / 64)
    out_channels: int  # channels the blocks output (4 x the stage width)
    params: int  # learnable numbers of the whole stage
    macs: int  # MACs of the whole stage
    first_block_macs: (
        int  # the first block: it changes the shape (stride 2 and/or a projection shortcut)
    )
    block_macs: int  # each of the other blocks (the same for all of them: rule (i))

    @property
    def group_width(self) -> int:
        return group_width(self.cardinality, self.bottleneck_width)

    @property
    def notation(self) -> str:
        """The paper's Table 1 notation: [1x1, C·d; 3x3, C·d, C=...; 1x1, out]."""
        w = self.group_width
        return (
            f"[1x1, {w}; 3x3, {w}, C={self.cardinality}; 1x1, {self.out_channels}] x {self.blocks}"
        )


def macs_per_block(counts: Counts) -> dict[str, int]:
    """MACs of every block, keyed by its name ("layer2.0", ...), summed from the counter's per-layer rows."""
    blocks: dict[str, int] = {}
    for layer in counts.layers:
        parts = layer.name.split(".")
        if parts[0].startswith("layer") and len(parts) > 1:
            key = ".".join(parts[:2])
            blocks[key] = blocks.get(key, 0) + layer.macs
    return blocks


def map_sizes(name: str, **overrides) -> list[int]:
    """The output map size of each stage, found by running the model on the meta device (no memory, no compute)."""
    config = config_for(name, **overrides)
    input_size = 224 if config.template == "imagenet" else 32
    sizes: list[int] = []
    with torch.device("meta"):
        model = create(name, **overrides)
        handles = [
            stage.register_forward_hook(lambda m, i, out: sizes.append(out.shape[-1]))
            for stage in model.stages
        ]
        model(torch.empty(1, 3, input_size, input_size))
    for handle in handles:
        handle.remove()
    return sizes


def stage_table(name: str) -> list[StageRow]:
    """Stage by stage: Table 1 notation, map size, params and MACs (measured), MACs of the first and of the other blocks."""
    config = config_for(name)
    counts = count(name)
    stages = {row["stage"]: row for row in counts.by_stage()}
    per_block = macs_per_block(counts)
    rows = []
    for s, (n, width, d, size) in enumerate(
        zip(
            config.blocks_per_stage,
            config.stage_widths,
            config.stage_bottleneck_widths(),
            map_sizes(name),
        )
    ):
        stage = f"layer{s + 1}"
        rest = [per_block[f"{stage}.{b}"] for b in range(1, n)]
        rows.append(
            StageRow(
                stage,
                n,
                size,
                config.cardinality,
                d,
                EXPANSION * width,
                stages[stage]["params"],
                stages[stage]["macs"],
                per_block[f"{stage}.0"],
                rest[0] if rest else 0,
            )
        )
    return rows


def format_stage_table(rows: list[StageRow]) -> str:
    """:func:`stage_table` as text, with units: params in millions, MACs in millions per image."""
    lines = [
        f"{'stage':<7} {'output':>7}  {'blocks (Table 1 notation)':<44} {'params':>8}  {'MACs':>8}  {'MACs of':>9}  {'MACs of':>9}",
        f"{'':<7} {'map':>7}  {'':<44} {'(M)':>8}  {'(M)':>8}  {'1st block':>9}  {'each other':>9}",
    ]
    for r in rows:
        lines.append(
            f"{r.stage:<7} {f'{r.map_size}x{r.map_size}':>7}  {r.notation:<44} {r.params / M:>8.3f}  "
            f"{r.macs / M:>8.1f}  {r.first_block_macs / M:>9.1f}  {r.block_macs / M:>9.1f}"
        )
    total_params, total_macs = sum(r.params for r in rows), sum(r.macs for r in rows)
    lines.append(
        f"{'sum':<7} {'':>7}  {'(stages only: stem and fc not included)':<44} {total_params / M:>8.3f}  "
        f"{total_macs / M:>8.1f}   (= {total_macs / G:.3f} G MACs per image)"
    )
    return "\n".join(lines)

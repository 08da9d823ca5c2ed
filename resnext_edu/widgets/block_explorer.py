"""Lesson 02's explorer: choose C and d, see the block drawn as C paths with its parameters and MACs.

The block is built on the "meta" device (shapes only, no memory, no compute), in form A (the C paths the drawing
shows), and measured with :func:`resnext_edu.counting.count`; Eq. 4 is evaluated beside it by hand. With "match
ResNet's budget" ticked, d is no longer free: it is solved for C (:func:`~resnext_edu.counting.solve_bottleneck_width`,
Table 2), and a cardinality whose nearest whole d misses the budget by more than the tolerance shows a message.
"""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..blocks import ResNeXtBlock, group_width
from ..checks import check_positive_int
from ..counting import block_macs, count, eq4_params, solve_bottleneck_width
from ..drawing import MAX_BRANCHES, draw_resnext_block, drawn_branches
from .base import Explorer, slider

RESNET_WIDTH = 64          # ResNet-50's conv2 bottleneck: 256 -> 64 -> 256, the budget of Table 2
# The largest slider maximum for C: each position builds the block's C paths as 3·C modules and counts them, which
# takes about half a second at C = 128 on a busy 2-core CPU (twice the paper's largest, 64x4d) and grows with C.
CARDINALITY_LIMIT = 128


class BlockExplorer(Explorer):
    """Sliders C (cardinality) and d (bottleneck width) -> the block drawn as C paths (Fig. 1 right, Fig. 3(a)),
    its conv weights by Eq. 4 and as measured, all its learnable parameters and its MACs.

    ``state`` holds what is shown: ``cardinality``, ``bottleneck_width``, ``group_width``, ``eq4_params``,
    ``conv_params`` (measured conv weights), ``params`` (measured, BN included), ``macs`` (measured) and
    ``macs_by_hand``, ``budget`` (ResNet's block, Eq. 4 with C = 1, d = 64), ``drawn_branches``.

    Args:
        cardinality, bottleneck_width: the starting values (the paper's 32x4d).
        in_channels, out_channels: the block's channels (256 in ResNeXt-50's first stage).
        input_size: the map size the MACs are counted at (56: ResNeXt-50's first stage at 224x224 input).
        tolerance: how far from ResNet's budget a block may be in "match ResNet's budget" mode (0.05 = 5%).
    """

    def __init__(self, cardinality: int = 32, bottleneck_width: int = 4, *, in_channels: int = 256,
                 out_channels: int = 256, input_size: int = 56, max_cardinality: int = 64, max_width: int = 64,
                 tolerance: float = 0.05, max_branches: int = MAX_BRANCHES):
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("input_size", input_size),
                            ("max_width", max_width), ("max_branches", max_branches)):
            check_positive_int(name, value)
        check_positive_int("max_cardinality", max_cardinality)
        if max_cardinality > CARDINALITY_LIMIT:
            raise ValueError(f"max_cardinality is at most {CARDINALITY_LIMIT} (each slider position builds and counts "
                             f"a block of C paths, slower as C grows), got {max_cardinality:,}. For larger C, count "
                             f"a block in form C directly: counting.count(ResNeXtBlock(..., cardinality=C), size).")
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
            raise ValueError(f"tolerance is a fraction of ResNet's budget in (0, 1), e.g. 0.05 for 5%, got "
                             f"{tolerance!r}.")
        self.in_channels, self.out_channels, self.input_size = in_channels, out_channels, input_size
        self.tolerance, self.max_branches = tolerance, max_branches
        self._fitting = None                  # the cardinalities that fit the budget, worked out once when needed
        self.budget = eq4_params(1, RESNET_WIDTH, in_channels, out_channels)
        controls = {
            "cardinality": slider("C (cardinality)", cardinality, 1, max_cardinality),
            "bottleneck_width": slider("d (bottleneck width)", bottleneck_width, 1, max_width),
            "match_budget": widgets.Checkbox(value=False, description="match ResNet's budget (solve d for C)",
                                             indent=False),
        }
        super().__init__(controls)

    def update(self) -> None:
        self.controls["bottleneck_width"].disabled = self.controls["match_budget"].value  # d is solved, not chosen
        super().update()

    def compute(self, cardinality: int, bottleneck_width: int, match_budget: bool = False) -> dict:
        C, d = cardinality, bottleneck_width
        if match_budget:
            d = self._solve(C)
        with torch.device("meta"):
            block = ResNeXtBlock(self.in_channels, self.out_channels, cardinality=C, bottleneck_width=d, form="A")
        counts = count(block, self.input_size)
        return {"cardinality": C, "bottleneck_width": d, "group_width": group_width(C, d),
                "match_budget": match_budget, "in_channels": self.in_channels, "out_channels": self.out_channels,
                "input_size": self.input_size,
                "eq4_params": eq4_params(C, d, self.in_channels, self.out_channels),
                "conv_params": sum(layer.params for layer in counts.layers if layer.kind == "Conv2d"),
                "params": counts.params, "macs": counts.macs,
                "macs_by_hand": block_macs(self.in_channels, self.out_channels, cardinality=C, bottleneck_width=d,
                                           input_size=self.input_size),
                "budget": self.budget, "drawn_branches": drawn_branches(C, self.max_branches)}

    def _solve(self, C: int) -> int:
        """d for C at ResNet's budget; a ValueError (the widget's message) when no whole d comes close enough."""
        d = solve_bottleneck_width(C, in_channels=self.in_channels, out_channels=self.out_channels,
                                   resnet_width=RESNET_WIDTH)
        params = eq4_params(C, d, self.in_channels, self.out_channels)
        off = params / self.budget - 1
        if abs(off) <= self.tolerance:
            return d
        raise ValueError(f"C = {C} does not fit ResNet's budget of {self.budget:,} conv weights: d must be a whole "
                         f"number, and the closest, d = {d}, gives {params:,} ({off:+.1%}, more than the "
                         f"{self.tolerance:.0%} allowed). Cardinalities that fit: {', '.join(map(str, self.fitting()))}"
                         f". The drawing still shows the last block that fitted.")

    def fitting(self) -> list[int]:
        """The slider's cardinalities whose solved d is within the tolerance of ResNet's budget."""
        if self._fitting is None:
            self._fitting = []
            for c in range(1, self.controls["cardinality"].max + 1):
                try:
                    d = solve_bottleneck_width(c, in_channels=self.in_channels, out_channels=self.out_channels,
                                               resnet_width=RESNET_WIDTH)
                except ValueError:          # even d = 1 is over the budget: so for every larger C too
                    break
                if abs(eq4_params(c, d, self.in_channels, self.out_channels) / self.budget - 1) <= self.tolerance:
                    self._fitting.append(c)
        return self._fitting

    def draw(self, state: dict) -> Figure:
        return draw_resnext_block(state["cardinality"], state["bottleneck_width"], in_channels=state["in_channels"],
                                  out_channels=state["out_channels"], max_branches=self.max_branches)

    def readout(self, state: dict) -> str:
        C, d, cin, cout = state["cardinality"], state["bottleneck_width"], state["in_channels"], state["out_channels"]
        solved = " (solved for the budget)" if state["match_budget"] else ""
        off = state["eq4_params"] / state["budget"] - 1
        rows = [
            ("C, d, group width C·d", f"{C}, {d}{solved}, {state['group_width']:,}"),
            ("Eq. 4 by hand", f"C·({cin}·d + 3·3·d·d + d·{cout}) = "
                              f"{C}·({cin}·{d} + 3·3·{d}·{d} + {d}·{cout}) = "
                              f"<b>{state['eq4_params']:,}</b> conv weights"),
            ("measured (counting.count)", f"{state['conv_params']:,} conv weights; {state['params']:,} params with "
                                          f"BN's scale and shift"),
            ("vs ResNet's bottleneck", f"{state['budget']:,} conv weights (C = 1, d = 64): {off:+.1%}"),
            (f"MACs on a {state['input_size']}x{state['input_size']} map",
             f"{state['macs']:,} measured = {state['macs'] / 1e6:.1f} M (by hand: {state['macs_by_hand']:,})"),
        ]
        cells = "".join(f"<tr><td style='padding-right:12px'>{k}</td><td>{v}</td></tr>" for k, v in rows)
        return f"<table>{cells}</table>"


def block_explorer(cardinality: int = 32, bottleneck_width: int = 4, **kwargs) -> BlockExplorer:
    """Lesson 02's explorer (see :class:`BlockExplorer`); display it by leaving it last in a cell."""
    return BlockExplorer(cardinality, bottleneck_width, **kwargs)

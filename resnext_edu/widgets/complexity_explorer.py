"""Lesson 04's explorer: a block's params and MACs for chosen C and d, and the constant-complexity curve d(C).

Choose a reference block, the cardinality C, the bottleneck width d and a budget (a percentage of that
block's ResNet version, C = 1). The explorer shows

* the block's parameters, by the paper's Eq. 4 (:func:`~resnext_edu.counting.eq4_params`) and measured on the
  block itself (:func:`~resnext_edu.counting.count`, on the "meta" device: no memory, no compute);
* its MACs per image (multiply-accumulates; FLOPs = 2 x MACs), by formula and measured;
* the curve of complexity-matched widths, d(C) = :func:`~resnext_edu.counting.solve_bottleneck_width` for every C
  the budget can hold (Table 2 is five points of it), with the chosen (C, d) marked above or below it and its
  percentage of the budget.

``explorer.state`` holds every number shown and the plotted curve, so tests check them without a browser.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from .. import counting, paper
from ..blocks import ResNeXtBlock, group_width
from ..checks import check_positive_int
from .base import MUTED, Explorer, StrictIntText, slider

MAX_CARDINALITY = 64
MAX_BOTTLENECK_WIDTH = 128


@dataclass(frozen=True)
class ReferenceBlock:
    """A block whose ResNet version (C = 1, d = ``resnet_width``) sets the budget."""

    label: str
    in_channels: int
    out_channels: int
    resnet_width: int     # d of the ResNet block (C = 1) that defines 100 % of the budget
    input_size: int         # height (= width) of the block's input map, for the MACs


REFERENCE_BLOCKS = {
    "resnext50_conv2": ReferenceBlock("ResNeXt-50 conv2 block (256 -> 256, 56x56)", 256, 256, 64, 56),
    "cifar_lesson": ReferenceBlock("CIFAR lesson-size block (64 -> 64, 32x32)", 64, 64, 16, 32),
}


def check_budget(budget_percent) -> int:
    """A budget is a whole percentage of the ResNet block, from 1 to 10,000 (100 times ResNet's)."""
    if isinstance(budget_percent, bool) or not isinstance(budget_percent, int) or not 0 < budget_percent <= 10_000:
        raise ValueError(f"The budget must be a whole percentage of the ResNet block from 1 to 10,000: 100 is the "
                         f"paper's budget (Table 2), 200 the doubled complexity of Table 4. You typed "
                         f"{budget_percent!r}.")
    return budget_percent


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


class ComplexityExplorer(Explorer):
    """Sliders for C and d, a reference-block dropdown and a budget box; see the module docstring."""

    def __init__(self, reference: str = "resnext50_conv2", cardinality: int = 32, bottleneck_width: int = 4,
                 budget_percent: int = 100):
        if reference not in REFERENCE_BLOCKS:
            raise ValueError(f"Unknown reference block {reference!r}; choose one of {', '.join(REFERENCE_BLOCKS)}.")
        check_budget(budget_percent)
        controls = {
            "reference": widgets.Dropdown(options=[(t.label, key) for key, t in REFERENCE_BLOCKS.items()], value=reference,
                                         description="block", style={"description_width": "initial"},
                                         layout=widgets.Layout(width="360px")),
            "cardinality": slider("cardinality C", cardinality, 1, MAX_CARDINALITY),
            "bottleneck_width": slider("bottleneck width d", bottleneck_width, 1, MAX_BOTTLENECK_WIDTH),
            "budget_percent": StrictIntText(value=budget_percent, description="budget (% of the ResNet block)",
                                              style={"description_width": "initial"},
                                              layout=widgets.Layout(width="260px")),
        }
        super().__init__(controls)

    def compute(self, reference: str, cardinality: int, bottleneck_width: int, budget_percent: int) -> dict:
        if reference not in REFERENCE_BLOCKS:
            raise ValueError(f"Unknown reference block {reference!r}; choose one of {', '.join(REFERENCE_BLOCKS)}.")
        t = REFERENCE_BLOCKS[reference]
        C = check_positive_int("cardinality C", cardinality)
        d = check_positive_int("bottleneck width d", bottleneck_width)
        check_budget(budget_percent)
        resnet_params = counting.eq4_params(1, t.resnet_width, t.in_channels, t.out_channels)
        budget = round(resnet_params * budget_percent / 100)
        curve_C, curve_d = [], []
        for c in range(1, MAX_CARDINALITY + 1):
            try:
                curve_d.append(counting.solve_bottleneck_width(c, in_channels=t.in_channels,
                                                               out_channels=t.out_channels, budget=budget))
            except ValueError:      # this budget cannot hold c (nor any larger cardinality)
                break
            curve_C.append(c)
        if not curve_C:
            raise ValueError(f"A budget of {budget:,} params ({budget_percent}% of the ResNet block) cannot hold "
                             f"even C = 1 with d = 1 ({counting.eq4_params(1, 1, t.in_channels, t.out_channels):,} "
                             f"params). Raise the budget.")
        with torch.device("meta"):   # a real block of C = 64, d = 128 would need ~54 MB and seconds of compute
            block = ResNeXtBlock(t.in_channels, t.out_channels, cardinality=C, bottleneck_width=d)
        measured = counting.count(block, input_size=t.input_size)
        params_eq4 = counting.eq4_params(C, d, t.in_channels, t.out_channels)
        d_matched = dict(zip(curve_C, curve_d)).get(C)
        if d_matched is None:
            position = "above"          # even d = 1 is over budget at this C
        else:
            position = "on" if d == d_matched else ("above" if d > d_matched else "below")
        return {
            "reference": reference, "in_channels": t.in_channels, "out_channels": t.out_channels,
            "input_size": t.input_size, "cardinality": C, "bottleneck_width": d, "group_width": group_width(C, d),
            "params_eq4": params_eq4,
            "params_conv_measured": sum(layer.params for layer in measured.layers if layer.kind == "Conv2d"),
            "params_formula": counting.block_params(t.in_channels, t.out_channels, cardinality=C, bottleneck_width=d),
            "params_measured": measured.params,
            "macs_formula": counting.block_macs(t.in_channels, t.out_channels, cardinality=C, bottleneck_width=d,
                                                input_size=t.input_size),
            "macs_measured": measured.macs,
            "budget_percent": budget_percent, "budget": budget,
            "percent_of_budget": 100 * params_eq4 / budget,
            "curve_C": curve_C, "curve_d": curve_d, "d_matched": d_matched, "position": position,
        }

    def draw(self, state: dict):
        figure, ax = plt.subplots(figsize=(7.5, 4.2))
        C_max, d_max = MAX_CARDINALITY * 1.15, MAX_BOTTLENECK_WIDTH * 1.15
        Cs, ds = state["curve_C"], state["curve_d"]
        ax.fill_between(Cs, ds, d_max, color="#fce8e6", label="above the curve: more params")
        ax.fill_between(Cs, 0.85, ds, color="#e6f4ea", label="below the curve: fewer params")
        if Cs[-1] < MAX_CARDINALITY:     # beyond the curve's end even d = 1 is over budget
            ax.axvspan(Cs[-1], C_max, color="#fce8e6")
        ax.plot(Cs, ds, "-o", color="#1a73e8", markersize=3, label=f"d(C) at {state['budget_percent']}% budget")
        if state["reference"] == "resnext50_conv2" and state["budget_percent"] == 100:
            rows = paper.table("table2")["rows"]
            ax.plot([r["cardinality"] for r in rows], [r["bottleneck_width"] for r in rows], "s", mfc="none",
                    mec="black", markersize=9, label="paper, Table 2")
        colour = {"above": "#b3261e", "below": "#188038", "on": "#1a73e8"}[state["position"]]
        ax.plot([state["cardinality"]], [state["bottleneck_width"]], "*", color=colour, markersize=16,
                markeredgecolor="black", label=f"your block: {state['percent_of_budget']:.1f}% of the budget")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ticks = [1, 2, 4, 8, 16, 32, 64]
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_yticks(ticks + [128], [str(t) for t in ticks + [128]])
        ax.set_xlim(0.85, C_max)
        ax.set_ylim(0.85, d_max)
        ax.set_xlabel("cardinality C")
        ax.set_ylabel("bottleneck width d")
        ax.set_title(f"{REFERENCE_BLOCKS[state['reference']].label}: budget {state['budget']:,} params (Eq. 4)",
                     fontsize=10)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3, which="both")
        figure.tight_layout()
        return figure

    def readout(self, state: dict) -> str:
        s = state
        if s["d_matched"] is None:
            where = (f"<b>above</b> the curve: this budget cannot hold C = {s['cardinality']} even with d = 1; "
                     f"the curve stops at C = {s['curve_C'][-1]}")
        elif s["position"] == "on":
            where = f"<b>on</b> the curve (d = {s['d_matched']} is the matched width for C = {s['cardinality']})"
        else:
            where = (f"<b>{s['position']}</b> the curve (the matched width for C = {s['cardinality']} is "
                     f"d = {s['d_matched']})")
        rows = [
            ("group width C&middot;d", _fmt(s["group_width"]), ""),
            ("conv weights, Eq. 4 C&middot;(in&middot;d + 3&middot;3&middot;d&middot;d + d&middot;out)",
             _fmt(s["params_eq4"]), f"measured: {_fmt(s['params_conv_measured'])}"),
            ("all params (+ BN &gamma;, &beta;)", _fmt(s["params_formula"]), f"measured: {_fmt(s['params_measured'])}"),
            (f"MACs per image ({s['input_size']}x{s['input_size']} map)", _fmt(s["macs_formula"]),
             f"measured: {_fmt(s['macs_measured'])} = {2 * s['macs_measured'] / 1e9:.3f} G FLOPs"),
            ("budget (conv weights)", _fmt(s["budget"]), f"{s['percent_of_budget']:.1f}% used"),
        ]
        body = "".join(f"<tr><td style='padding-right:12px'>{a}</td><td style='text-align:right'>{b}</td>"
                       f"<td style='padding-left:12px;color:{MUTED}'>{html.escape(c)}</td></tr>" for a, b, c in rows)
        return f"<table>{body}</table><div>Your block is {where}.</div>"


def complexity_explorer(reference: str = "resnext50_conv2", cardinality: int = 32, bottleneck_width: int = 4,
                        budget_percent: int = 100) -> ComplexityExplorer:
    """Lesson 04's explorer of params, MACs and the constant-complexity curve d(C); display it in a notebook cell.

    Args:
        reference: "resnext50_conv2" (256 -> 256 channels at 56x56, the block of Table 2) or "cifar_lesson"
            (64 -> 64 at 32x32, a block of the lesson-size ResNeXt-29).
        cardinality: the starting C.
        bottleneck_width: the starting d.
        budget_percent: the budget as a percentage of the reference block's ResNet version (C = 1): 100 for Table 2,
            200 for the doubled complexity of Table 4.
    """
    return ComplexityExplorer(reference, cardinality, bottleneck_width, budget_percent)

"""Lesson 04's cardinality dashboard: one slider for C, and at once what C does to a block and to a
network.

For ResNeXt-50's first-stage block (256 -> 256 channels on a 56x56 map, the block of the paper's
Tables 2 and 3) with cardinality C and bottleneck width d, the dashboard shows

* d: matched to ResNet's budget by the width solver
  (:func:`~resnext_edu.counting.solve_bottleneck_width`, Table 2), or held at the value of the d
  slider ("hold d");
* parameters by Eq. 4 and by the closed form with BN (:func:`~resnext_edu.counting.eq4_params`,
  :func:`~resnext_edu.counting.block_params`) beside the counter's measurement
  (:func:`~resnext_edu.counting.count`, on the "meta" device), and the MACs per image, by formula
  and measured;
* the forward and forward+backward time of the block on this device, interleaved with ResNet's block
  (1x64d) and taken as medians (:func:`~resnext_edu.timing.time_interleaved`, lesson 03);
* the grouped 3x3 as the dense, block-diagonal matrix of lesson 03 (the absolute weight summed over
  the 3x3 positions, C·d x C·d);
* the channels per group (d in each stage) of the full sweep's CIFAR model with this C, at the
  lesson's stage widths (16, 32, 64) and at the paper's (64, 128, 256);
* the full sweep's test error at this C (shipped results, ``resnext_edu/results/full``: mean and SD
  over its seeds) beside the paper's Table 3 (ImageNet top-1 error of ResNeXt-50; the paper's
  numbers, never mixed with ours).

``dashboard.state`` holds every number shown and ``dashboard.block`` the form-C block drawn, so
tests check them without a browser.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .. import counting, paper, timing
from ..blocks import ResNeXtBlock, group_width
from ..checks import check_positive_int
from ..device import pick_device
from ..models import REFERENCE_PLANES
from ..sweep import shipped, summarize
from .base import MUTED, Explorer, slider

CHANNELS = 256  # in and out of ResNeXt-50's first-stage block
MAP = 56  # its map: 224x224 after the stem and the max-pool
RESNET_WIDTH = 64  # ResNet's bottleneck (C = 1, d = 64) sets the budget
MAX_CARDINALITY = 64
MAX_BOTTLENECK_WIDTH = 64
MAX_GROUP_WIDTH = 1024  # a larger C·d would take seconds to time and draw at every move
LESSON_WIDTHS = (16, 32, 64)  # the stage widths of the lesson-size CIFAR models (the full sweep)
PAPER_WIDTHS = (64, 128, 256)  # the paper's ResNeXt-29 (Appendix A)
TIME_BATCH, TIME_MAP = (
    4,
    14,
)  # the timed input: 4 images of 256 x 14 x 14 (small, so a move takes < 1 s)


def full_sweep_rows() -> dict[int, object]:
    """The full sweep's complexity-matched ladder (1x scale, cardinality axis) by C: shipped rows of
    test error."""
    rows = summarize(shipped("full").results, "test_error")
    return {
        row.config.cardinality: row
        for row in rows
        if row.config.scale == 1 and row.config.axis == "cardinality"
    }


def stage_group_widths(base_width: int, stage_widths: tuple[int, ...]) -> tuple[int, ...]:
    """d in each stage of a CIFAR model of ``base_width``: floor(stage width · base_width / 64)
    (models.py)."""
    return tuple(width * base_width // REFERENCE_PLANES for width in stage_widths)


def dense_grouped_weight(conv: torch.nn.Conv2d) -> torch.Tensor:
    """The grouped ``conv`` as its dense equivalent (out x in), ``|weight|`` summed over the kernel
    positions: the diagonal blocks are the groups' weights, every other entry is exactly zero
    (lesson 03, Section 3)."""
    weight = conv.weight.detach().abs().sum(dim=(2, 3))  # (out, in / groups)
    out_channels, d_in = weight.shape
    d_out = out_channels // conv.groups
    dense = torch.zeros(out_channels, d_in * conv.groups)
    for g in range(conv.groups):
        dense[g * d_out : (g + 1) * d_out, g * d_in : (g + 1) * d_in] = weight[
            g * d_out : (g + 1) * d_out
        ]
    return dense


class CardinalityDashboard(Explorer):
    """A slider for C (d matched, or held with the checkbox and the d slider); see the module
    docstring.

    Args:
        cardinality: the starting C (the paper's 32).
        bottleneck_width: the starting d of the d slider (used when "hold d" is ticked).
        hold_d: start with d held instead of matched.
        device: where the block is timed (default: the lessons' device, ``course.device()``'s
            choice).
        repeats: timed steps per block and mode (the median is shown).
    """

    def __init__(
        self,
        cardinality: int = 32,
        bottleneck_width: int = 4,
        *,
        hold_d: bool = False,
        device: str | torch.device | None = None,
        repeats: int = 3,
    ):
        check_positive_int("repeats", repeats, "Time at least one step.")
        if not isinstance(hold_d, bool):
            raise ValueError(
                f"hold_d is True (hold d at the d slider) or False (match d to the budget), "
                f"got {hold_d!r}."
            )
        self.device = pick_device("auto") if device is None else torch.device(device)
        self.repeats = repeats
        self.budget = counting.eq4_params(1, RESNET_WIDTH, CHANNELS, CHANNELS)
        self.sweep = full_sweep_rows()
        self.table3 = {row["cardinality"]: row for row in paper.table("table3")["rows"]}
        self._times: dict[tuple[int, int], dict] = {}
        self.block: ResNeXtBlock | None = None
        controls = {
            "cardinality": slider("C (cardinality)", cardinality, 1, MAX_CARDINALITY),
            "hold_d": widgets.Checkbox(
                value=hold_d,
                description="hold d (instead of matching ResNet's budget)",
                indent=False,
            ),
            "bottleneck_width": slider(
                "d (bottleneck width)", bottleneck_width, 1, MAX_BOTTLENECK_WIDTH
            ),
        }
        super().__init__(controls)

    def update(self) -> None:
        self.controls["bottleneck_width"].disabled = not self.controls[
            "hold_d"
        ].value  # matched d is solved
        super().update()

    def compute(self, cardinality: int, hold_d: bool, bottleneck_width: int) -> dict:
        C = check_positive_int("C (cardinality)", cardinality)
        d = (
            bottleneck_width
            if hold_d
            else counting.solve_bottleneck_width(C, resnet_width=RESNET_WIDTH)
        )
        if group_width(C, d) > MAX_GROUP_WIDTH:
            raise ValueError(
                f"C = {C} with d = {d} has a group width C·d = {C * d:,}; the dashboard times and "
                f"draws blocks up to C·d = {MAX_GROUP_WIDTH:,}. Lower C or d."
            )
        with torch.device("meta"):
            meta_block = ResNeXtBlock(CHANNELS, CHANNELS, cardinality=C, bottleneck_width=d)
        measured = counting.count(meta_block, input_size=MAP)
        torch.manual_seed(0)
        self.block = ResNeXtBlock(CHANNELS, CHANNELS, cardinality=C, bottleneck_width=d)
        times = self._time(C, d)
        row, t3 = self.sweep.get(C), self.table3.get(C)
        base_width = row.config.base_width if row else None
        params_eq4 = counting.eq4_params(C, d, CHANNELS, CHANNELS)
        return {
            "cardinality": C,
            "bottleneck_width": d,
            "hold_d": hold_d,
            "group_width": group_width(C, d),
            "params_eq4": params_eq4,
            "params_conv_measured": sum(
                layer.params for layer in measured.layers if layer.kind == "Conv2d"
            ),
            "params_formula": counting.block_params(
                CHANNELS, CHANNELS, cardinality=C, bottleneck_width=d
            ),
            "params_measured": measured.params,
            "macs_formula": counting.block_macs(
                CHANNELS, CHANNELS, cardinality=C, bottleneck_width=d, input_size=MAP
            ),
            "macs_measured": measured.macs,
            "budget": self.budget,
            "percent_of_budget": 100 * params_eq4 / self.budget,
            **times,
            "matrix": dense_grouped_weight(self.block.conv2),
            "sweep_setting": row.config.setting if row else None,
            "lesson_group_widths": stage_group_widths(base_width, LESSON_WIDTHS) if row else None,
            "paper_group_widths": stage_group_widths(base_width, PAPER_WIDTHS) if row else None,
            "sweep_error_mean": row.mean if row else None,
            "sweep_error_sd": row.std if row else None,
            "sweep_seeds": row.n if row else 0,
            "sweep_curve": {c: (r.mean, r.std) for c, r in sorted(self.sweep.items())},
            "table3_setting": t3["setting"] if t3 else None,
            "table3_error": t3["error_50"] if t3 else None,
            "table3_curve": {c: r["error_50"] for c, r in sorted(self.table3.items())},
        }

    def _time(self, C: int, d: int) -> dict:
        """Forward and forward+backward medians of this block and of ResNet's, interleaved; once per
        (C, d)."""
        if (C, d) not in self._times:
            torch.manual_seed(0)
            resnet = ResNeXtBlock(CHANNELS, CHANNELS, cardinality=1, bottleneck_width=RESNET_WIDTH)
            x = torch.randn(TIME_BATCH, CHANNELS, TIME_MAP, TIME_MAP, device=self.device)
            found = {}
            for mode, key in (("forward", "forward_ms"), ("forward+backward", "backward_ms")):
                this, ref = timing.time_interleaved(
                    {f"this block, {C}x{d}d": self.block, "ResNet's, 1x64d": resnet},
                    x,
                    mode=mode,
                    repeats=self.repeats,
                    warmup=1,
                )
                found[key], found[f"resnet_{key}"] = this.median_ms, ref.median_ms
            self._times[(C, d)] = found
        return self._times[(C, d)]

    def draw(self, state: dict) -> Figure:
        figure, (ax_matrix, ax_error) = plt.subplots(
            1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 1.3]}
        )
        C, d = state["cardinality"], state["bottleneck_width"]
        ax_matrix.imshow(state["matrix"].numpy(), cmap="Blues", interpolation="nearest")
        ax_matrix.set(
            title=f"grouped 3x3 as a dense {C * d} x {C * d} matrix\n"
            f"({C} blocks of {d} x {d}; white = 0)",
            xlabel="input channel",
            ylabel="output channel",
        )
        ax_matrix.title.set_fontsize(9)
        sweep_C = list(state["sweep_curve"])
        ax_error.errorbar(
            sweep_C,
            [m for m, _ in state["sweep_curve"].values()],
            yerr=[s for _, s in state["sweep_curve"].values()],
            fmt="o-",
            capsize=3,
            label="full sweep, CIFAR-10 test error (measured, mean ± SD)",
        )
        ax_error.plot(
            list(state["table3_curve"]),
            list(state["table3_curve"].values()),
            "s--",
            color="grey",
            label="paper, Table 3: ImageNet top-1 error, ResNeXt-50",
        )
        ax_error.axvline(C, color="#b3261e", lw=1.5, label=f"C = {C}")
        ax_error.set_xscale("log", base=2)
        ticks = [1, 2, 4, 8, 16, 32, 64]
        ax_error.set_xticks(ticks, [str(t) for t in ticks])
        ax_error.set(
            xlabel="cardinality C (complexity-matched)", ylabel="error (%)", xlim=(0.8, 80)
        )
        ax_error.legend(fontsize=8)
        ax_error.grid(alpha=0.3)
        figure.tight_layout()
        return figure

    def readout(self, state: dict) -> str:
        s = state
        d_how = "held" if s["hold_d"] else "matched to ResNet's budget by the width solver"
        if s["sweep_setting"]:
            sweep = (
                f"{s['sweep_error_mean']:.2f}% ± {s['sweep_error_sd']:.2f} "
                f"over {s['sweep_seeds']} seeds "
                f"({s['sweep_setting']})"
            )
            groups = (
                f"lesson widths {', '.join(map(str, s['lesson_group_widths']))}; "
                f"paper widths {', '.join(map(str, s['paper_group_widths']))} "
                f"({s['sweep_setting']})"
            )
        else:
            sweep = groups = f"C = {s['cardinality']} is not in the full sweep"
        table3 = (
            f"{s['table3_error']}% ({s['table3_setting']}, the paper's number)"
            if s["table3_setting"]
            else f"C = {s['cardinality']} is not in Table 3"
        )
        rows = [
            (
                "C, d, group width C&middot;d",
                f"{s['cardinality']}, {s['bottleneck_width']} ({d_how}), {s['group_width']:,}",
            ),
            (
                "conv weights (Eq. 4)",
                f"{s['params_eq4']:,} = {s['percent_of_budget']:.1f}% of ResNet's "
                f"{s['budget']:,}; measured {s['params_conv_measured']:,}",
            ),
            ("all params (+ BN)", f"{s['params_formula']:,}; measured {s['params_measured']:,}"),
            (
                f"MACs per image ({MAP}x{MAP})",
                f"{s['macs_formula']:,}; measured {s['macs_measured']:,}",
            ),
            (
                f"time on {self.device.type} "
                f"({TIME_BATCH} x {CHANNELS} x {TIME_MAP} x {TIME_MAP}, median)",
                f"forward {s['forward_ms']:.2f} ms (ResNet's block {s['resnet_forward_ms']:.2f}); "
                f"forward+backward {s['backward_ms']:.2f} ms ({s['resnet_backward_ms']:.2f})",
            ),
            ("channels per group, stages 1-3 of the CIFAR model", groups),
            ("full sweep test error (CIFAR-10, measured)", sweep),
            ("Table 3 top-1 error (ImageNet, ResNeXt-50)", table3),
        ]
        body = "".join(
            f"<tr><td style='padding-right:12px;color:{MUTED}'>{a}</td>"
            f"<td>{html.escape(b)}</td></tr>"
            for a, b in rows
        )
        return f"<table>{body}</table>"


def cardinality_dashboard(
    cardinality: int = 32, bottleneck_width: int = 4, **kwargs
) -> CardinalityDashboard:
    """Lesson 04's dashboard (see :class:`CardinalityDashboard`); display it by leaving it last in a
    cell."""
    return CardinalityDashboard(cardinality, bottleneck_width, **kwargs)

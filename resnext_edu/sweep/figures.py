"""Two sweeps side by side, in error as the paper reports it: the tiny lesson sweep, the full-data one, and the
paper's Table 3 and Fig. 5 in their own panels (lesson 05, section 4).

Every value axis starts at zero, so a gap of a point looks like a point. Measured numbers come from result files;
the paper's are drawn in grey and labelled "paper", never in a measured series.
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker

from ..stats import welch
from .report import _cardinality_axis, _cardinality_rows, _figure, plot_accuracy, plot_paper_table3
from .results import Result, Row

CURVE_COLOURS = {1: "#d62728", 32: "#1f77b4"}


def _top(rows: list[Row]) -> float:
    values = [v for r in _cardinality_rows(rows) for v in r.values] + [r.mean + r.std for r in _cardinality_rows(rows)]
    return 1.1 * max(values, default=1.0)


def plot_error_vs_cardinality(ax, rows: list[Row], name: str, top: float) -> None:
    """Test error vs C: mean +- sample SD over seeds, each seed a dot, "n = seeds" over each point, from zero."""
    if not _cardinality_rows(rows):
        ax.text(0.5, 0.5, "not shipped yet", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(f"Measured: {name} sweep")
        return
    plot_accuracy(ax, rows, "test_error")
    for r in _cardinality_rows(rows):
        ax.annotate(f"n={r.n}", (r.config.cardinality, r.mean + r.std), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=7)
    ax.set_ylim(0, top)
    ax.get_legend().remove()
    experiment = _cardinality_rows(rows)[0].experiment.split(": ", 1)[-1]
    ax.set_title(f"Measured: {name} sweep ({experiment})\nmean +- sample SD over seeds; dots: single seeds",
                 fontsize=8)


def sweeps_figure(tiny: list[Row], full: list[Row]) -> matplotlib.figure.Figure:
    """Three panels, test error (%) vs cardinality: the tiny sweep | the full sweep (same y scale) | the paper.

    ``tiny`` and ``full`` are rows summarised with the metric "test_error"."""
    fig, axes = _figure(1, 3, width=13, height=4.0)
    top = max(_top(tiny), _top(full))
    plot_error_vs_cardinality(axes[0, 0], tiny, "tiny", top)
    plot_error_vs_cardinality(axes[0, 1], full, "full", top)
    plot_paper_table3(axes[0, 2])
    axes[0, 2].set_ylim(0, None)
    return fig


def _error_curves(results: list[Result], cardinality: int, key: str) -> list[list[float]]:
    """Per seed: 100 x (1 - accuracy) after each epoch, from the history (``key``: train_acc or test_acc)."""
    mine = [r for r in results if r.config.cardinality == cardinality and r.config.scale == 1
            and r.config.axis == "cardinality"]
    return [[100 * (1 - e[key]) for e in r.history] for r in sorted(mine, key=lambda r: r.seed)]


def fig5_figure(results: list[Result], cardinalities=(1, 32)) -> matplotlib.figure.Figure:
    """The paper's Fig. 5 at this scale: training error and test error per epoch, C = 1 against C = 32.

    Thin lines: each seed; thick: the mean over seeds. Training error: 100 - train_acc, on the augmented batches
    during each epoch (label smoothing in the loss, not in the count of correct answers)."""
    fig, axes = _figure(1, 2, width=11, height=3.8)
    panels = (("train_acc", "training error (%)"), ("test_acc", "test error (%)"))
    for ax, (key, label) in zip(axes[0], panels):
        for c in cardinalities:
            curves = _error_curves(results, c, key)
            if not curves:
                continue
            colour = CURVE_COLOURS.get(c)
            setting = next(r.config.setting for r in results if r.config.cardinality == c)
            for curve in curves:
                ax.plot(range(1, len(curve) + 1), curve, "-", color=colour, alpha=0.3, lw=1)
            length = min(map(len, curves))
            mean = [sum(cv[i] for cv in curves) / len(curves) for i in range(length)]
            ax.plot(range(1, length + 1), mean, "o-", color=colour, lw=2, ms=3,
                    label=f"{setting} (C = {c}), mean of {len(curves)} seed{'s' * (len(curves) != 1)}")
        ax.set_ylim(0, None)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not shipped yet", ha="center", va="center", transform=ax.transAxes)
    axes[0, 0].set_title("Measured: training error (cf. the paper's Fig. 5)\non augmented batches, during each epoch",
                         fontsize=9)
    axes[0, 1].set_title("Measured: test error\nafter each epoch", fontsize=9)
    return fig


def plot_seconds(ax, rows: list[Row]) -> None:
    """Seconds per training epoch vs C (each run's fastest epoch: a dot per seed, the line through the means)."""
    rows = _cardinality_rows(rows)
    if not rows:
        ax.text(0.5, 0.5, "not shipped yet", ha="center", va="center", transform=ax.transAxes)
        return
    xs = [r.config.cardinality for r in rows]
    line = ax.plot(xs, [sum(r.seconds_per_epoch) / len(r.seconds_per_epoch) for r in rows], "o-",
                   label="mean over seeds")
    for r in rows:
        ax.plot([r.config.cardinality] * len(r.seconds_per_epoch), r.seconds_per_epoch, ".",
                color=line[0].get_color(), alpha=0.4)
    _cardinality_axis(ax, rows)
    ax.set_ylim(0, None)
    ax.set_ylabel("seconds per training epoch (fastest)")
    ax.set_title("Full sweep: time per epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_relative_cost(ax, sweeps: dict[str, list[Row]]) -> None:
    """Time per epoch and MACs of each C relative to its sweep's C = 1 model: equal work, unequal time."""
    ticks = set()
    for name, rows in sweeps.items():
        rows = _cardinality_rows(rows)
        if not rows or rows[0].config.cardinality != 1:
            continue
        secs = [sum(r.seconds_per_epoch) / len(r.seconds_per_epoch) for r in rows]
        xs = [r.config.cardinality for r in rows]
        line = ax.plot(xs, [s / secs[0] for s in secs], "o-", label=f"{name}: time per epoch")
        ax.plot(xs, [r.config.macs / rows[0].config.macs for r in rows], "s:", color=line[0].get_color(),
                label=f"{name}: MACs per image")
        ticks.update(xs)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(ticks), [str(c) for c in sorted(ticks)])
    ax.minorticks_off()
    ax.set_xlabel("cardinality C")
    ax.axhline(1, color="black", lw=0.8)
    ax.set_ylim(0, None)
    ax.set_ylabel("relative to the sweep's C = 1 model (x)")
    ax.set_title("Equal MACs, unequal time")
    ax.grid(alpha=0.3)
    if ax.lines[:-1]:
        ax.legend(fontsize=7)


def time_figure(tiny: list[Row], full: list[Row]) -> matplotlib.figure.Figure:
    """Seconds per epoch of the full sweep | time and MACs relative to C = 1 for both sweeps."""
    fig, axes = _figure(1, 2, width=11, height=3.8)
    plot_seconds(axes[0, 0], full)
    plot_relative_cost(axes[0, 1], {"tiny": tiny, "full": full})
    return fig



def plot_differences(ax, rows: list[Row], confidence: float = 0.95, quantity: str = "value") -> None:
    """Each C's mean minus the C = 1 model's (same experiment), with its Welch confidence interval.

    The interval is drawn as a bar, its Welch degrees of freedom written beside it; the zero line is
    "no difference". ``rows`` are one experiment's rows in one metric (e.g. "test_error"), named
    ``quantity`` on the axis ("test error")."""
    ladder = {r.config.cardinality: r for r in _cardinality_rows(rows)}
    if 1 not in ladder or len(ladder) < 2:
        ax.text(0.5, 0.5, "no C = 1 model and another C", ha="center", va="center",
                transform=ax.transAxes)
        return
    base = ladder[1]
    others = [ladder[c] for c in sorted(ladder) if c != 1 and ladder[c].n > 1]
    comparisons = [welch(r.values, base.values, confidence) for r in others]
    xs = [r.config.cardinality for r in others]
    diffs = [w.diff for w in comparisons]
    below = [w.diff - w.low for w in comparisons]
    above = [w.high - w.diff for w in comparisons]
    ax.errorbar(xs, diffs, yerr=[below, above], fmt="o", capsize=4, color="#1f77b4",
                label=f"mean difference, {confidence:.0%} Welch interval")
    for x, w in zip(xs, comparisons):
        ax.annotate(f"df {w.df:.1f}", (x, w.high), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=7)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [f"{r.config.setting}\nC = {r.config.cardinality}" for r in others])
    ax.minorticks_off()
    ax.set_xlim(min(xs) / 1.5, max(xs) * 1.5)
    ax.set_xlabel("cardinality C (complexity-matched)")
    ax.set_ylabel(f"{quantity} minus {base.config.setting}'s\n(percentage points)")
    ax.margins(y=0.15)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def differences_figure(rows: list[Row], title: str, quantity: str = "test error",
                       confidence: float = 0.95):
    """One panel: :func:`plot_differences` of ``rows`` under ``title``."""
    fig, axes = _figure(1, 1, width=6.5, height=3.8)
    plot_differences(axes[0, 0], rows, confidence, quantity)
    axes[0, 0].set_title(title, fontsize=9)
    return fig

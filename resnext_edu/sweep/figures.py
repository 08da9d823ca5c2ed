"""Every plot of a sweep's results, and the paper's numbers beside them in panels of their own
(lesson 05).

Every plot says what it shows and in which unit; every value axis of a bar chart or an error plot
starts at zero, so a gap of a point looks like a point. Measured numbers come from result files; the
paper's come from :mod:`resnext_edu.paper` (ImageNet-1K or full-scale CIFAR, 300 epochs) and are
drawn in grey, labelled "paper", never in the same series as a measured one."""

from __future__ import annotations

import matplotlib
import matplotlib.ticker

from .. import paper
from ..stats import welch
from .results import Result, Row, get_metric, summarize

PAPER_COLOUR = "#7f7f7f"
COLOURS = {"cardinality": "#1f77b4", "wider": "#d62728", "deeper": "#2ca02c"}


def _figure(nrows: int, ncols: int, width: float = 11.0, height: float = 3.6):
    """A figure made by pyplot (so that a notebook's inline backend is loaded and draws it when a
    cell returns it), then closed at once (so that the backend does not draw it a second time at the
    end of the cell)."""
    import matplotlib.pyplot as plt  # heavy (about 1 s): only when a plot is drawn

    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height * nrows), layout="constrained", squeeze=False
    )
    plt.close(fig)
    return fig, axes


def _cardinality_rows(rows: list[Row]) -> list[Row]:
    rows = [r for r in rows if r.config.scale == 1 and r.config.axis == "cardinality"]
    return sorted(rows, key=lambda r: r.config.cardinality)


def _groups(rows: list[Row]) -> dict[tuple, list[Row]]:
    """Rows by the group of results they summarise (Row.key), in order."""
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        groups.setdefault(r.key, []).append(r)
    return groups


def _log2_axis(ax, cardinalities, labels, xlabel="cardinality C (setting C x d)") -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(cardinalities, labels)
    ax.minorticks_off()
    ax.set_xlabel(xlabel)


def _cardinality_axis(ax, rows: list[Row]) -> None:
    _log2_axis(
        ax,
        [r.config.cardinality for r in rows],
        [f"{r.config.cardinality}\n{r.config.setting}" for r in rows],
    )


def _note(ax, text: str) -> None:
    """``text`` in the middle of an empty panel."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def plot_accuracy(ax, rows: list[Row], metric: str = "test_acc", show_seeds: bool = True) -> None:
    """Mean +- sample std over seeds vs cardinality, at equal params; each seed as a faint dot."""
    m = get_metric(metric)
    rows = _cardinality_rows(rows)
    if not rows:
        _note(ax, "no cardinality runs")
        return
    for mine in _groups(rows).values():
        xs = [r.config.cardinality for r in mine]
        line = ax.errorbar(
            xs,
            [r.mean for r in mine],
            yerr=[r.std for r in mine],
            marker="o",
            capsize=4,
            label=f"{mine[0].label} (mean +- std over seeds)",
        )
        if show_seeds:
            for r in mine:
                ax.plot(
                    [r.config.cardinality] * r.n,
                    r.values,
                    ".",
                    color=line[0].get_color(),
                    alpha=0.35,
                )
    _cardinality_axis(ax, rows)
    ax.set_ylabel(m.label)
    ax.set_title("Measured: equal params, more cardinality")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def plot_paper_table3(ax) -> None:
    """The paper's Table 3: ImageNet-1K top-1 error vs cardinality, 50 and 101 layers (its own
    panel)."""
    t = paper.table("table3")
    xs = [row["cardinality"] for row in t["rows"]]
    for key, style in (("error_50", "o-"), ("error_101", "s--")):
        ax.plot(
            xs,
            [row[key] for row in t["rows"]],
            style,
            color=PAPER_COLOUR,
            label=f"paper: ResNeXt-{key.split('_')[1]}",
        )
    _log2_axis(ax, xs, [f"{row['cardinality']}\n{row['setting']}" for row in t["rows"]])
    ax.set_ylabel("top-1 error (%), lower is better")
    ax.set_title("Paper, Table 3: ImageNet-1K, full scale", color=PAPER_COLOUR)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_complexity(ax, rows: list[Row]) -> None:
    """Params and MACs of each model relative to the 1x64d template: flat by construction (the width
    solver)."""
    rows = _cardinality_rows(rows)
    seen = {}
    for r in rows:
        seen.setdefault(r.config.cardinality, r)
    rows = list(seen.values())
    if not rows:
        return
    base_params, base_macs = rows[0].config.target_params, rows[0].config.macs
    xs = [r.config.cardinality for r in rows]
    ax.plot(xs, [100 * r.config.params / base_params for r in rows], "o-", label="params")
    ax.plot(xs, [100 * r.config.macs / base_macs for r in rows], "s--", label="MACs per image")
    ax.axhline(100, color="black", lw=0.8)
    ax.set_ylim(80, 120)
    _cardinality_axis(ax, rows)
    ax.set_ylabel(f"% of {rows[0].config.setting} ({base_params:,} params)")
    ax.set_title("Complexity: flat across the sweep")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_time(ax, rows: list[Row]) -> None:
    """Measured seconds per training epoch vs cardinality: equal MACs, unequal time (grouped
    convolutions).

    Each run's fastest epoch (the one least slowed by other programs on a shared machine), mean over
    seeds."""
    rows = _cardinality_rows(rows)
    if not rows:
        return
    for mine in _groups(rows).values():
        means = [sum(r.seconds_per_epoch) / len(r.seconds_per_epoch) for r in mine]
        ax.plot([r.config.cardinality for r in mine], means, "o-", label=mine[0].label)
    _cardinality_axis(ax, rows)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("seconds per training epoch (fastest)")
    ax.set_title("Time: equal MACs, unequal time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_curves(ax, rows: list[Row], metric: str = "test_acc") -> None:
    """Learning curves: the metric after each epoch, mean over seeds, one line per model."""
    m = get_metric(metric)
    from matplotlib import cm  # heavy: only when a plot is drawn

    rows = [r for r in rows if r.curves and r.mean_curve]
    for i, r in enumerate(rows):
        curve = r.mean_curve
        colour = (
            COLOURS.get(r.config.axis)
            if r.config.scale == 2
            else cm.viridis(i / max(1, len(rows) - 1))
        )
        ax.plot(
            range(1, len(curve) + 1),
            curve,
            "-",
            color=colour,
            label=r.config.setting + ("" if r.config.scale == 1 else f" 2x {r.config.axis}"),
        )
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(m.label + (" (per-epoch test subset)" if m.curve_key.startswith("test") else ""))
    ax.set_title("Learning curves (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)


def plot_table4(ax, rows: list[Row], metric: str = "test_acc") -> None:
    """Table 4 at a learner's scale: the 1x baselines, then 2x complexity spent deeper, wider or on
    cardinality."""
    m = get_metric(metric)
    ones = _cardinality_rows(rows)
    chosen = ([ones[0], ones[-1]] if len(ones) > 1 else ones) + [
        r for r in rows if r.config.scale == 2
    ]
    if not chosen:
        _note(ax, "no 2x-complexity runs")
        return
    labels = [f"{r.config.scale}x {r.config.axis}\n{r.config.model_name}" for r in chosen]
    colours = [
        COLOURS.get(r.config.axis, "#1f77b4") if r.config.scale == 2 else "#bbbbbb" for r in chosen
    ]
    ys = range(len(chosen))
    bars = ax.barh(
        ys, [r.mean for r in chosen], xerr=[r.std for r in chosen], color=colours, capsize=3
    )
    _label_bars(
        ax, bars, [f"{r.mean:.1f} (n={r.n})" for r in chosen], [r.mean + r.std for r in chosen]
    )
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.invert_yaxis()
    _from_zero(ax, max(r.mean + r.std for r in chosen))
    ax.set_xlabel(m.label)
    ax.set_title("Measured: spending 2x complexity")
    ax.grid(alpha=0.3, axis="x")


def plot_paper_table4(ax) -> None:
    t = paper.table("table4")
    rows = t["rows"]
    ys = range(len(rows))
    bars = ax.barh(ys, [r["top1"] for r in rows], color=PAPER_COLOUR)
    _label_bars(ax, bars, [f"{r['top1']:.1f}" for r in rows])
    ax.set_yticks(
        list(ys), [f"{r['model']} {r['setting']}\n({r['axis']})" for r in rows], fontsize=7
    )
    ax.invert_yaxis()
    _from_zero(ax, max(r["top1"] for r in rows))
    ax.set_xlabel("top-1 error (%), lower is better")
    ax.set_title("Paper, Table 4: ImageNet-1K, ~15 G MACs", color=PAPER_COLOUR)
    ax.grid(alpha=0.3, axis="x")


def _label_bars(ax, bars, texts: list[str], ends: list[float] | None = None) -> None:
    """Each bar's value written past its end (or its error bar's, ``ends``): the bars start at zero,
    so a gap of a few tenths needs the number."""
    for bar, text, end in zip(bars, texts, ends or [b.get_width() for b in bars]):
        ax.annotate(
            text,
            (end, bar.get_y() + bar.get_height() / 2),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )


def _from_zero(ax, largest: float) -> None:
    """A bar's length is its value (lesson 05, Section 3): the axis starts at zero, with room for
    the labels."""
    ax.set_xlim(0.0, largest * 1.3)


def table4_figure(rows: list[Row], metric: str = "test_acc") -> matplotlib.figure.Figure:
    """Measured 2x-complexity models beside the paper's Table 4 (two panels)."""
    fig, axes = _figure(1, 2, height=4.2)
    plot_table4(axes[0, 0], rows, metric)
    plot_paper_table4(axes[0, 1])
    return fig


def overview(rows: list[Row], metric: str = "test_acc") -> matplotlib.figure.Figure:
    """Four panels for lesson 05: measured accuracy vs C | paper's Table 3 / complexity | time per
    epoch."""
    fig, axes = _figure(2, 2, height=3.8)
    plot_accuracy(axes[0, 0], rows, metric)
    plot_paper_table3(axes[0, 1])
    plot_complexity(axes[1, 0], rows)
    plot_time(axes[1, 1], rows)
    return fig


CURVE_COLOURS = {1: "#d62728", 32: "#1f77b4"}


def _top(rows: list[Row]) -> float:
    ladder = _cardinality_rows(rows)
    values = [v for r in ladder for v in r.values] + [r.mean + r.std for r in ladder]
    return 1.1 * max(values, default=1.0)


def plot_error_vs_cardinality(ax, rows: list[Row], name: str, top: float) -> None:
    """Test error vs C: mean +- sample SD over seeds, each seed a dot, "n = seeds" over each point,
    from zero."""
    ladder = _cardinality_rows(rows)
    if not ladder:
        _note(ax, "not shipped yet")
        ax.set_title(f"Measured: {name} sweep")
        return
    plot_accuracy(ax, ladder, "test_error")
    for r in ladder:
        ax.annotate(
            f"n={r.n}",
            (r.config.cardinality, r.mean + r.std),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=7,
        )
    ax.set_ylim(0, top)
    ax.get_legend().remove()
    what = ladder[0].label.split(": ", 1)[-1]
    ax.set_title(
        f"Measured: {name} sweep ({what})\nmean +- sample SD over seeds; dots: single seeds",
        fontsize=8,
    )


def sweeps_figure(tiny: list[Row], full: list[Row]) -> matplotlib.figure.Figure:
    """Three panels, test error (%) vs cardinality: the tiny sweep | the full sweep (same y scale) |
    the paper.

    ``tiny`` and ``full`` are rows summarised with the metric "test_error"."""
    fig, axes = _figure(1, 3, width=13, height=4.0)
    top = max(_top(tiny), _top(full))
    plot_error_vs_cardinality(axes[0, 0], tiny, "tiny", top)
    plot_error_vs_cardinality(axes[0, 1], full, "full", top)
    plot_paper_table3(axes[0, 2])
    axes[0, 2].set_ylim(0, None)
    return fig


def fig5_figure(results: list[Result], cardinalities=(1, 32)) -> matplotlib.figure.Figure:
    """The paper's Fig. 5 at this scale: training and test error per epoch, C = 1 against C = 32.

    Thin lines: each seed; thick: the mean over seeds. Training error: 100 - train_acc, on the
    augmented batches during each epoch (label smoothing in the loss, not in the count of correct
    answers)."""
    fig, axes = _figure(1, 2, width=11, height=3.8)
    for ax, metric in zip(axes[0], ("train_error", "test_error")):
        ladder = {r.config.cardinality: r for r in _cardinality_rows(summarize(results, metric))}
        for row in (ladder[c] for c in cardinalities if c in ladder):
            colour = CURVE_COLOURS.get(row.config.cardinality)
            for curve in row.curves:
                ax.plot(range(1, len(curve) + 1), curve, "-", color=colour, alpha=0.3, lw=1)
            seeds = f"{row.n} seed{'s' * (row.n != 1)}"
            ax.plot(
                range(1, len(row.mean_curve) + 1),
                row.mean_curve,
                "o-",
                color=colour,
                lw=2,
                ms=3,
                label=f"{row.config.setting} (C = {row.config.cardinality}), mean of {seeds}",
            )
        ax.set_ylim(0, None)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel(get_metric(metric).label)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        else:
            _note(ax, "not shipped yet")
    axes[0, 0].set_title(
        "Measured: training error (cf. the paper's Fig. 5)\non augmented batches, during each "
        "epoch",
        fontsize=9,
    )
    axes[0, 1].set_title("Measured: test error\nafter each epoch", fontsize=9)
    return fig


def plot_differences(
    ax, rows: list[Row], confidence: float = 0.95, quantity: str = "value"
) -> None:
    """Each C's mean minus the C = 1 model's (same experiment), with its Welch confidence interval.

    The interval is drawn as a bar, its Welch degrees of freedom written beside it; the zero line is
    "no difference". ``rows`` are one experiment's rows in one metric (e.g. "test_error"), named
    ``quantity`` on the axis ("test error")."""
    ladder = {r.config.cardinality: r for r in _cardinality_rows(rows)}
    if 1 not in ladder or len(ladder) < 2:
        _note(ax, "no C = 1 model and another C")
        return
    base = ladder[1]
    others = [ladder[c] for c in sorted(ladder) if c != 1 and ladder[c].n > 1]
    comparisons = [welch(r.values, base.values, confidence) for r in others]
    xs = [r.config.cardinality for r in others]
    diffs = [w.diff for w in comparisons]
    below = [w.diff - w.low for w in comparisons]
    above = [w.high - w.diff for w in comparisons]
    ax.errorbar(
        xs,
        diffs,
        yerr=[below, above],
        fmt="o",
        capsize=4,
        color="#1f77b4",
        label=f"mean difference, {confidence:.0%} Welch interval",
    )
    for x, w in zip(xs, comparisons):
        ax.annotate(
            f"df {w.df:.1f}",
            (x, w.high),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=7,
        )
    ax.axhline(0, color="black", lw=0.8)
    labels = [f"{r.config.setting}\nC = {r.config.cardinality}" for r in others]
    _log2_axis(ax, xs, labels, "cardinality C (complexity-matched)")
    ax.set_xlim(min(xs) / 1.5, max(xs) * 1.5)
    ax.set_ylabel(f"{quantity} minus {base.config.setting}'s\n(percentage points)")
    ax.margins(y=0.15)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def differences_figure(
    rows: list[Row], title: str, quantity: str = "test error", confidence: float = 0.95
):
    """One panel: :func:`plot_differences` of ``rows`` under ``title``."""
    fig, axes = _figure(1, 1, width=6.5, height=3.8)
    plot_differences(axes[0, 0], rows, confidence, quantity)
    axes[0, 0].set_title(title, fontsize=9)
    return fig


def curves_figure(rows: list[Row], metric: str = "test_acc") -> matplotlib.figure.Figure:
    """The learning curves of every model (:func:`plot_curves`) in a figure of their own."""
    fig, axes = _figure(1, 1, width=7, height=4.5)
    plot_curves(axes[0, 0], rows, metric)
    return fig

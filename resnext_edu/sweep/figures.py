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
from .results import Result, Row, get_metric, ladder, summarize

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


def _ladders(rows: list[Row]) -> list[dict[int, Row]]:
    """Each group's 1x cardinality models (:func:`~.results.ladder`), by C from the smallest."""
    found = (ladder(rows, key) for key in dict.fromkeys(r.key for r in rows))
    return [dict(sorted(models.items())) for models in found if models]


def _first_ladder(rows: list[Row]) -> dict[int, Row]:
    """The first group's 1x cardinality models, by C (empty if there are none)."""
    return next(iter(_ladders(rows)), {})


def _cardinality_axis(ax, settings: dict[int, str]) -> None:
    """A log2 axis of cardinality, each tick C over its setting C x d (``settings``: C -> setting)."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(settings), [f"{c}\n{setting}" for c, setting in settings.items()])
    ax.minorticks_off()
    ax.set_xlabel("cardinality C (setting C x d)")


def _from_zero(*axes) -> None:
    """Value axes from zero, on one scale: a point's height is its value. The largest value drawn
    (an interval's end included) plus a tenth leaves room for the notes written above it."""
    top = 1.1 * max((ax.dataLim.ymax for ax in axes if ax.has_data()), default=1.0)
    for ax in axes:
        ax.set_ylim(0, top)


def _intervals(ax, xs, values, lows, highs, notes: list[str], **style):
    """Each value drawn with its interval (an error bar from ``lows`` to ``highs``), ``notes`` over
    the bars (the seeds, the degrees of freedom)."""
    below = [v - low for v, low in zip(values, lows)]
    above = [high - v for v, high in zip(values, highs)]
    line = ax.errorbar(xs, values, yerr=[below, above], marker="o", capsize=4, **style)
    for x, high, note in zip(xs, highs, notes):
        ax.annotate(
            note, (x, high), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7
        )
    return line


def _note(ax, text: str) -> None:
    """``text`` in the middle of an empty panel."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _bars(ax, labels: list[str], values: list[float], texts: list[str], colours, errors=None):
    """Horizontal bars from zero, first on top, each with its ``texts`` written past its end (past
    its error bar): the bars start at zero, so a gap of a few tenths needs the number."""
    ys = range(len(values))
    ax.barh(ys, values, xerr=errors, color=colours, capsize=3)
    for y, value, error, text in zip(ys, values, errors or [0] * len(values), texts):
        ax.annotate(
            text,
            (value + error, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.3 * ax.dataLim.xmax)
    ax.grid(alpha=0.3, axis="x")


def plot_accuracy(
    ax,
    rows: list[Row],
    metric: str = "test_acc",
    title: str = "Measured: equal params, more cardinality",
) -> None:
    """Table 3's question at this scale: ``metric`` vs cardinality at equal params, one line per
    group of results (named in the title if there is one, else in a legend). Each point is the mean
    +- sample SD over seeds with n = seeds above it, each seed a faint dot; an error starts at 0."""
    m = get_metric(metric)
    ladders = _ladders(rows)
    for models in ladders:
        means, sds = [r.mean for r in models.values()], [r.std for r in models.values()]
        line = _intervals(
            ax,
            list(models),
            means,
            [mean - sd for mean, sd in zip(means, sds)],
            [mean + sd for mean, sd in zip(means, sds)],
            [f"n={r.n}" for r in models.values()],
            label=next(iter(models.values())).label,
        )
        for c, r in models.items():
            ax.plot([c] * r.n, r.values, ".", color=line[0].get_color(), alpha=0.35)
    if not ladders:
        _note(ax, "no cardinality runs")
    else:
        _cardinality_axis(ax, {c: r.config.setting for lad in ladders for c, r in lad.items()})
    ax.margins(y=0.12)  # room for the notes over the points
    if m.complement:
        _from_zero(ax)
    ax.set_ylabel(m.label)
    named = [next(iter(ladders[0].values())).label] if len(ladders) == 1 else []
    ax.set_title(
        "\n".join([title, *named, "mean +- sample SD over seeds; dots: single seeds"]), fontsize=8
    )
    ax.grid(alpha=0.3)
    if len(ladders) > 1:
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
    _cardinality_axis(ax, {row["cardinality"]: row["setting"] for row in t["rows"]})
    _from_zero(ax)
    ax.set_ylabel("top-1 error (%), lower is better")
    ax.set_title("Paper, Table 3: ImageNet-1K, full scale", color=PAPER_COLOUR)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_curves(ax, rows: list[Row], metric: str = "test_acc", seeds: bool = False) -> None:
    """Learning curves: the metric after each epoch, the mean over seeds as one line per model (and,
    if ``seeds``, each seed's curve as a thin line of the same colour)."""
    m = get_metric(metric)
    from matplotlib import cm  # heavy: only when a plot is drawn

    rows = [r for r in rows if r.mean_curve]
    for i, r in enumerate(rows):
        c = r.config
        colour = COLOURS[c.axis] if c.scale == 2 else cm.viridis(0.85 * i / max(1, len(rows) - 1))
        name = c.setting + ("" if c.scale == 1 else f" 2x {c.axis}")
        if seeds:
            name += f" (C = {c.cardinality}), mean of {r.n} seed{'s' * (r.n != 1)}"
        for curve in r.curves if seeds else []:
            ax.plot(range(1, len(curve) + 1), curve, "-", color=colour, alpha=0.3, lw=1)
        ax.plot(
            range(1, len(r.mean_curve) + 1),
            r.mean_curve,
            "o-" if seeds else "-",
            color=colour,
            lw=2 if seeds else 1.5,
            ms=3,
            label=name,
        )
    if m.complement:
        _from_zero(ax)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(m.label + (" (per-epoch test subset)" if m.curve_key.startswith("test") else ""))
    ax.set_title("Learning curves (mean over seeds)")
    ax.grid(alpha=0.3)
    if rows:
        ax.legend(fontsize=7, ncol=2)
    else:
        _note(ax, "no learning curves")


def plot_table4(ax, rows: list[Row], metric: str = "test_acc") -> None:
    """Table 4 at a learner's scale: the 1x baselines (the smallest and the largest C), then 2x
    complexity spent deeper, wider or on cardinality."""
    ones = list(_first_ladder(rows).values())
    chosen = ([ones[0], ones[-1]] if len(ones) > 1 else ones) + [
        r for r in rows if r.config.scale == 2
    ]
    if not chosen:
        _note(ax, "no 2x-complexity runs")
        return
    _bars(
        ax,
        [f"{r.config.scale}x {r.config.axis}\n{r.config.model_name}" for r in chosen],
        [r.mean for r in chosen],
        [f"{r.mean:.1f} (n={r.n})" for r in chosen],
        [COLOURS[r.config.axis] if r.config.scale == 2 else "#bbbbbb" for r in chosen],
        [r.std for r in chosen],
    )
    ax.set_xlabel(get_metric(metric).label)
    ax.set_title("Measured: spending 2x complexity")


def plot_paper_table4(ax) -> None:
    """The paper's Table 4: ImageNet-1K top-1 error of the models of twice ResNet-101's complexity
    (its own panel)."""
    rows = paper.table("table4")["rows"]
    _bars(
        ax,
        [f"{r['model']} {r['setting']}\n({r['axis']})" for r in rows],
        [r["top1"] for r in rows],
        [f"{r['top1']:.1f}" for r in rows],
        PAPER_COLOUR,
    )
    ax.set_xlabel("top-1 error (%), lower is better")
    ax.set_title("Paper, Table 4: ImageNet-1K, ~15 G MACs", color=PAPER_COLOUR)


VIEWS = {  # each measured view, and the paper's panel on the same question
    "cardinality": (plot_accuracy, plot_paper_table3),
    "curves": (plot_curves, plot_paper_table3),
    "table4": (plot_table4, plot_paper_table4),
}


def beside_paper(
    view: str, rows: list[Row], metric: str = "test_acc", paper: bool = True
) -> matplotlib.figure.Figure:
    """One of :data:`VIEWS` of ``rows`` and, if ``paper``, the paper's panel on the same question
    beside it: the sweep explorer's figure, and those ``sweep-report --plots`` saves."""
    measured, papers = VIEWS[view]
    fig, axes = _figure(1, 1 + paper, width=5.5 * (1 + paper), height=4.2)
    measured(axes[0, 0], rows, metric)
    if paper:
        papers(axes[0, 1])
    return fig


def sweeps_figure(tiny: list[Row], full: list[Row]) -> matplotlib.figure.Figure:
    """Three panels, test error (%) vs cardinality: the tiny sweep | the full sweep (same y scale) |
    the paper.

    ``tiny`` and ``full`` are rows summarised with the metric "test_error"."""
    fig, axes = _figure(1, 3, width=13, height=4.0)
    for ax, name, rows in zip(axes[0], ("tiny", "full"), (tiny, full)):
        plot_accuracy(ax, rows, "test_error", f"Measured: {name} sweep")
    _from_zero(*axes[0, :2])
    plot_paper_table3(axes[0, 2])
    return fig


def fig5_figure(results: list[Result], cardinalities=(1, 32)) -> matplotlib.figure.Figure:
    """The paper's Fig. 5 at this scale: training and test error per epoch, C = 1 against C = 32.

    Thin lines: each seed; thick: the mean over seeds. Training error: 100 - train_acc, on the
    augmented batches during each epoch (label smoothing in the loss, not in the count of correct
    answers)."""
    fig, axes = _figure(1, 2, width=11, height=3.8)
    for ax, metric in zip(axes[0], ("train_error", "test_error")):
        models = _first_ladder(summarize(results, metric))
        plot_curves(ax, [models[c] for c in cardinalities if c in models], metric, seeds=True)
        ax.set_ylabel(get_metric(metric).label)
    axes[0, 0].set_title(
        "Measured: training error (cf. the paper's Fig. 5)\non augmented batches, during each "
        "epoch",
        fontsize=9,
    )
    axes[0, 1].set_title("Measured: test error\nafter each epoch", fontsize=9)
    return fig


def differences_figure(
    rows: list[Row], title: str, quantity: str = "test error", confidence: float = 0.95
) -> matplotlib.figure.Figure:
    """Each C's mean minus the C = 1 model's (same experiment), with its Welch confidence interval,
    in one panel under ``title``.

    The interval is drawn as a bar, its Welch degrees of freedom written above it; the zero line is
    "no difference". ``rows`` are one experiment's rows in one metric (e.g. "test_error"), named
    ``quantity`` on the axis ("test error")."""
    fig, axes = _figure(1, 1, width=6.5, height=3.8)
    ax = axes[0, 0]
    ax.set_title(title, fontsize=9)
    models = _first_ladder(rows)
    base = models.get(1)
    others = {c: r for c, r in models.items() if c != 1 and r.n > 1}
    if base is None or base.n < 2 or not others:
        _note(ax, "no C = 1 model and another C, two seeds each at least")
        return fig
    comparisons = [welch(r.values, base.values, confidence) for r in others.values()]
    _intervals(
        ax,
        list(others),
        [w.diff for w in comparisons],
        [w.low for w in comparisons],
        [w.high for w in comparisons],
        [f"df {w.df:.1f}" for w in comparisons],
        linestyle="none",
        color="#1f77b4",
        label=f"mean difference, {confidence:.0%} Welch interval",
    )
    ax.axhline(0, color="black", lw=0.8)
    _cardinality_axis(ax, {c: r.config.setting for c, r in others.items()})
    ax.set_xlim(min(others) / 1.5, max(others) * 1.5)
    ax.set_ylabel(f"{quantity} minus {base.config.setting}'s\n(percentage points)")
    ax.margins(y=0.15)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig

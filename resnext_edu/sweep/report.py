"""The sweep's table and plots; the paper's numbers beside them in their own panels (lesson 05).

Every plot says what it shows and in which unit. Measured numbers come from result files; the paper's come from
:mod:`resnext_edu.paper` (ImageNet-1K or full-scale CIFAR, 300 epochs) and are drawn in separate panels, labelled
"paper", never in the same series as a measured one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import matplotlib.ticker

from .. import paper
from ..files import check_out_folder
from .evidence import comparison_table, say_difference, say_fig5, say_table4, say_time
from .results import Gathered, Row, gather, get_metric, summarize, summary_table

PAPER_COLOUR = "#7f7f7f"
COLOURS = {"cardinality": "#1f77b4", "wider": "#d62728", "deeper": "#2ca02c"}


def _figure(nrows: int, ncols: int, width: float = 11.0, height: float = 3.6):
    """A figure made by pyplot (so that a notebook's inline backend is loaded and draws it when a cell returns it),
    then closed at once (so that the backend does not draw it a second time at the end of the cell)."""
    import matplotlib.pyplot as plt   # heavy (about 1 s): only when a plot is drawn
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows), layout="constrained", squeeze=False)
    plt.close(fig)
    return fig, axes


def _cardinality_rows(rows: list[Row], experiment: str | None = None) -> list[Row]:
    rows = [r for r in rows if r.config.scale == 1 and r.config.axis == "cardinality"]
    if experiment is not None:
        rows = [r for r in rows if r.experiment == experiment]
    return sorted(rows, key=lambda r: r.config.cardinality)


def _cardinality_axis(ax, rows: list[Row]) -> None:
    ax.set_xscale("log", base=2)
    ticks = [r.config.cardinality for r in rows]
    ax.set_xticks(ticks, [f"{r.config.cardinality}\n{r.config.setting}" for r in rows])
    ax.minorticks_off()
    ax.set_xlabel("cardinality C (setting C x d)")


def plot_accuracy(ax, rows: list[Row], metric: str = "test_acc", show_seeds: bool = True) -> None:
    """Mean +- sample std over seeds vs cardinality, at equal params; each seed as a faint dot."""
    m = get_metric(metric)
    rows = _cardinality_rows(rows)
    if not rows:
        ax.text(0.5, 0.5, "no cardinality runs", ha="center", va="center", transform=ax.transAxes)
        return
    for experiment in dict.fromkeys(r.experiment for r in rows):
        mine = [r for r in rows if r.experiment == experiment]
        xs = [r.config.cardinality for r in mine]
        line = ax.errorbar(xs, [r.mean for r in mine], yerr=[r.std for r in mine], marker="o", capsize=4,
                           label=f"{experiment} (mean +- std over seeds)")
        if show_seeds:
            for r in mine:
                ax.plot([r.config.cardinality] * r.n, r.values, ".", color=line[0].get_color(), alpha=0.35)
    _cardinality_axis(ax, rows)
    ax.set_ylabel(m.label)
    ax.set_title("Measured: equal params, more cardinality")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def plot_paper_table3(ax) -> None:
    """The paper's Table 3: ImageNet-1K top-1 error vs cardinality, 50 and 101 layers (its own panel)."""
    t = paper.table("table3")
    xs = [row["cardinality"] for row in t["rows"]]
    for key, style in (("error_50", "o-"), ("error_101", "s--")):
        ax.plot(xs, [row[key] for row in t["rows"]], style, color=PAPER_COLOUR,
                label=f"paper: ResNeXt-{key.split('_')[1]}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [f"{row['cardinality']}\n{row['setting']}" for row in t["rows"]])
    ax.minorticks_off()
    ax.set_xlabel("cardinality C (setting C x d)")
    ax.set_ylabel("top-1 error (%), lower is better")
    ax.set_title("Paper, Table 3: ImageNet-1K, full scale", color=PAPER_COLOUR)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_complexity(ax, rows: list[Row]) -> None:
    """Params and MACs of each model relative to the 1x64d template: flat by construction (the width solver)."""
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
    """Measured seconds per training epoch vs cardinality: equal MACs, unequal time (grouped convolutions).

    Each run's fastest epoch (the one least slowed by other programs on a shared machine), mean over seeds."""
    rows = _cardinality_rows(rows)
    if not rows:
        return
    for experiment in dict.fromkeys(r.experiment for r in rows):
        mine = [r for r in rows if r.experiment == experiment]
        means = [sum(r.seconds_per_epoch) / len(r.seconds_per_epoch) for r in mine]
        ax.plot([r.config.cardinality for r in mine], means, "o-", label=experiment)
    _cardinality_axis(ax, rows)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("seconds per training epoch (fastest)")
    ax.set_title("Time: equal MACs, unequal time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def plot_curves(ax, rows: list[Row], metric: str = "test_acc") -> None:
    """Learning curves: the metric after each epoch, mean over seeds, one line per model."""
    m = get_metric(metric)
    if m.curve_key is None:
        return
    import matplotlib.cm as cm        # heavy: only when a plot is drawn
    rows = [r for r in rows if r.curves and r.mean_curve]
    for i, r in enumerate(rows):
        curve = r.mean_curve
        colour = COLOURS.get(r.config.axis) if r.config.scale == 2 else cm.viridis(i / max(1, len(rows) - 1))
        ax.plot(range(1, len(curve) + 1), curve, "-", color=colour,
                label=r.config.setting + ("" if r.config.scale == 1 else f" 2x {r.config.axis}"))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel(m.label + (" (per-epoch test subset)" if m.curve_key.startswith("test") else ""))
    ax.set_title("Learning curves (mean over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)


def plot_table4(ax, rows: list[Row], metric: str = "test_acc") -> None:
    """Table 4 at a learner's scale: the 1x baselines, then 2x complexity spent deeper, wider or on cardinality."""
    m = get_metric(metric)
    ones = _cardinality_rows(rows)
    chosen = ([ones[0], ones[-1]] if len(ones) > 1 else ones) + [r for r in rows if r.config.scale == 2]
    if not chosen:
        ax.text(0.5, 0.5, "no 2x-complexity runs", ha="center", va="center", transform=ax.transAxes)
        return
    labels = [f"{r.config.scale}x {r.config.axis}\n{r.config.model_name}" for r in chosen]
    colours = [COLOURS.get(r.config.axis, "#1f77b4") if r.config.scale == 2 else "#bbbbbb" for r in chosen]
    ys = range(len(chosen))
    bars = ax.barh(ys, [r.mean for r in chosen], xerr=[r.std for r in chosen], color=colours, capsize=3)
    _label_bars(ax, bars, [f"{r.mean:.1f} (n={r.n})" for r in chosen], [r.mean + r.std for r in chosen])
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
    ax.set_yticks(list(ys), [f"{r['model']} {r['setting']}\n({r['axis']})" for r in rows], fontsize=7)
    ax.invert_yaxis()
    _from_zero(ax, max(r["top1"] for r in rows))
    ax.set_xlabel("top-1 error (%), lower is better")
    ax.set_title("Paper, Table 4: ImageNet-1K, ~15 G MACs", color=PAPER_COLOUR)
    ax.grid(alpha=0.3, axis="x")


def _label_bars(ax, bars, texts: list[str], ends: list[float] | None = None) -> None:
    """Each bar's value written past its end (or its error bar's, ``ends``): the bars start at zero, so a gap of a
    few tenths needs the number."""
    for bar, text, end in zip(bars, texts, ends or [b.get_width() for b in bars]):
        ax.annotate(text, (end, bar.get_y() + bar.get_height() / 2), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)


def _from_zero(ax, largest: float) -> None:
    """A bar's length is its value (lesson 05, Section 3): the axis starts at zero, with room for the labels."""
    ax.set_xlim(0.0, largest * 1.3)


def table4_figure(rows: list[Row], metric: str = "test_acc") -> matplotlib.figure.Figure:
    """Measured 2x-complexity models beside the paper's Table 4 (two panels)."""
    fig, axes = _figure(1, 2, height=4.2)
    plot_table4(axes[0, 0], rows, metric)
    plot_paper_table4(axes[0, 1])
    return fig


def overview(rows: list[Row], metric: str = "test_acc") -> matplotlib.figure.Figure:
    """Four panels for lesson 05: measured accuracy vs C | paper's Table 3 / complexity | time per epoch."""
    fig, axes = _figure(2, 2, height=3.8)
    plot_accuracy(axes[0, 0], rows, metric)
    plot_paper_table3(axes[0, 1])
    plot_complexity(axes[1, 0], rows)
    plot_time(axes[1, 1], rows)
    return fig


def paper_table(which: str = "table3", terms: str = "error") -> str:
    """The paper's Table 3, 4 or 7 as text, with its source: printed beside the measured table.

    ``terms="accuracy"`` shows Table 3 as top-1 accuracy, 100 minus the paper's top-1 error, beside a measured
    accuracy (the paper's table and a measured one are always in the same terms, never one of each)."""
    if terms not in ("error", "accuracy") or (terms == "accuracy" and which != "table3"):
        raise ValueError(f"paper_table shows table3 as error or accuracy, the others as error; got {which!r} as "
                         f"{terms!r}.")
    t = paper.table(which)
    lines = [t["caption"] + "  [the paper's numbers, not measured here]"]
    if which == "table3" and terms == "accuracy":
        lines[0] += "\n  shown as top-1 accuracy (%) = 100 - the paper's top-1 error"
        lines.append(f"  {'setting':<10}{'50 layers':>10}{'101 layers':>12}")
        lines += [f"  {r['setting']:<10}{100 - r['error_50']:>10.1f}{100 - r['error_101']:>12.1f}" for r in t["rows"]]
    elif which == "table3":
        lines.append(f"  {'setting':<10}{'50 layers':>10}{'101 layers':>12}")
        lines += [f"  {r['setting']:<10}{r['error_50']:>10.1f}{r['error_101']:>12.1f}" for r in t["rows"]]
    elif which == "table4":
        lines.append(f"  {'model':<20}{'setting':<8}{'axis':<13}{'top-1':>6}{'top-5':>6}")
        lines += [f"  {r['model']:<20}{r['setting']:<8}{r['axis']:<13}{r['top1']:>6.1f}{r['top5']:>6.1f}"
                  for r in t["rows"]]
    elif which == "table7":
        lines.append(f"  {'model':<22}{'params':>8}{'CIFAR-10':>10}{'CIFAR-100':>11}")
        lines += [f"  {r['model']:<22}{r['params_millions']:>7.1f}M{r['cifar10']:>10.2f}{r['cifar100']:>11.2f}"
                  for r in t["rows"]]
    else:
        raise ValueError(f"paper_table shows table3, table4 or table7, not {which!r}.")
    lines.append(f"  source: {paper.source()}")
    return "\n".join(lines)


def write_report(folders, plots: str | Path | None = None, metric: str = "test_acc", print_fn=print) -> int:
    """Gather ``folders``, print the table (and the problems), save the plots as PNG files into ``plots``.

    Returns 0 when at least one result was found (corrupt or foreign files are reported, not fatal), else 2.
    """
    get_metric(metric)
    if plots is not None:
        check_out_folder(plots, "--plots", create=False)      # before any work: a file there is refused at once
    found: Gathered = gather(*folders)
    for problem in found.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if found.in_progress:
        print_fn(f"in progress (not in the table): {', '.join(found.in_progress)}")
    if not found.results:
        print(f"error: no sweep result files in {', '.join(map(str, folders))}. Run a sweep first: "
              f"python -m resnext_edu sweep --out DIR", file=sys.stderr)
        return 2
    rows = summarize(found.results, metric)
    print_fn(summary_table(rows, metric))
    print_fn(f"\nEach cardinality against C = 1, {get_metric(metric).label}; std. error: of the difference, "
             f"sqrt(s1^2/n1 + s2^2/n2);\nratio: difference / std. error")
    print_fn(comparison_table(rows))
    print_fn("\n" + say_difference(rows, metric))
    if any(r.config.scale == 2 for r in rows):
        print_fn("\n" + say_table4(rows, metric))
    print_fn("\n" + say_fig5(found.results))
    print_fn("\n" + say_time(summarize(found.results), found.results))
    print_fn("")
    if metric in ("test_acc", "test_error"):
        print_fn(paper_table("table3", "accuracy" if metric == "test_acc" else "error"))
    else:
        print_fn("The paper's Table 3 is top-1 error: --metric test_error shows it beside the measured test error.")
    if plots is not None:
        out = Path(plots)
        out.mkdir(parents=True, exist_ok=True)
        figures = {"overview.png": overview(rows, metric)}
        fig, axes = _figure(1, 1, width=7, height=4.5)
        plot_curves(axes[0, 0], rows, metric)
        figures["curves.png"] = fig
        if any(r.config.scale == 2 for r in rows):
            figures["table4.png"] = table4_figure(rows, metric)
        for name, fig in figures.items():
            fig.savefig(out / name, dpi=110)
        print_fn(f"plots: {', '.join(str(out / n) for n in figures)}")
    if found.problems:
        print_fn(f"{len(found.problems)} file(s) skipped (listed above on stderr).")
    return 0

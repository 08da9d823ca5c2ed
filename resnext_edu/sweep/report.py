"""What ``sweep-report`` prints and saves: the table of a sweep's results, each model against 1x64d
with Welch's test, Table 4's comparison, the paper's tables beside (never mixed with) the measured
ones, and the plots."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import paper
from ..files import check_out_folder
from . import figures
from .results import (
    Row,
    comparison_table,
    difference,
    gather,
    get_metric,
    ladder,
    summarize,
    summary_table,
)


def paper_table(which: str = "table3", terms: str = "error") -> str:
    """The paper's Table 3 or 4 as text, with its source: printed beside the measured table.

    ``terms="accuracy"`` shows Table 3 as top-1 accuracy, 100 minus the paper's top-1 error, beside
    a measured accuracy (the paper's table and a measured one are always in the same terms)."""
    if (which, terms) not in (("table3", "error"), ("table3", "accuracy"), ("table4", "error")):
        raise ValueError(
            f"paper_table shows table3 as error or accuracy and table4 as error, not {which!r} as "
            f"{terms!r}."
        )
    t = paper.table(which)
    lines = [t["caption"] + "  " + paper.MARK]
    if which == "table3":
        if terms == "accuracy":
            lines.append("  shown as top-1 accuracy (%) = 100 - the paper's top-1 error")
        lines.append(f"  {'setting':<10}{'50 layers':>10}{'101 layers':>12}")
        for r in t["rows"]:
            errors = (r["error_50"], r["error_101"])
            shown = [100 - e for e in errors] if terms == "accuracy" else errors
            lines.append(f"  {r['setting']:<10}{shown[0]:>10.1f}{shown[1]:>12.1f}")
    else:
        lines.append(f"  {'model':<20}{'setting':<8}{'axis':<13}{'top-1':>6}{'top-5':>6}")
        for r in t["rows"]:
            scores = f"{r['top1']:>6.1f}{r['top5']:>6.1f}"
            lines.append(f"  {r['model']:<20}{r['setting']:<8}{r['axis']:<13}{scores}")
    lines.append(f"  source: {paper.source()}")
    return "\n".join(lines)


def table4_name(row: Row) -> str:
    """A Table 4 model by the paper's words: "2x deeper (resnet38)", "2x cardinality (64x5d)"."""
    c = row.config
    return f"2x {c.axis} ({c.setting if c.axis == 'cardinality' else c.model_name})"


def _welch_cells(high: Row, low: Row) -> str:
    w = difference(high, low)
    interval = "one seed" if w is None else f"[{w.low:+.2f}, {w.high:+.2f}] {w.p:.3f}"
    return f"{high.mean - low.mean:>+12.2f}  {interval}"


def table4_table(rows: list[Row], metric: str = "test_error") -> str:
    """Table 4's question at this scale, per group: each 2x model's mean +- SD over seeds, its
    params and MACs as multiples of 1x64d's, its difference from 1x64d with Welch's 95% confidence
    interval and p; then each 2x cardinality model against the deeper and the wider one."""
    out = []
    for key in dict.fromkeys(r.key for r in rows if r.config.scale == 2):
        twice = [r for r in rows if r.key == key and r.config.scale == 2]
        base = ladder(rows, key).get(1)
        lines = [
            f"{twice[0].label}: Table 4's question, {get_metric(metric).label}:",
            f"  {'model':<28}{'seeds':>6}  {'mean +- SD':<15}{'params':>7}{'MACs':>7}"
            f"{'minus 1x64d':>13}  95% CI (Welch), p",
        ]
        for r in twice:
            sd = f" +- {r.std:.2f}" if r.n > 1 else ""
            cost = "  (no 1x64d run to compare with)"
            if base:
                cost = (
                    f"{r.config.params / base.config.params:>7.2f}x"
                    f"{r.config.macs / base.config.macs:>6.2f}x{_welch_cells(r, base)}"
                )
            lines.append(f"  {table4_name(r):<28}{r.n:>6}  {f'{r.mean:.2f}{sd}':<15}{cost}")
        for high in (r for r in twice if r.config.axis == "cardinality"):
            for low in (r for r in twice if r.config.axis != "cardinality"):
                names = f"{table4_name(high)} minus {table4_name(low)}"
                lines.append(f"  {names}:{_welch_cells(high, low)}")
        out.append("\n".join(lines))
    return "\n\n".join(out) or "No 2x-complexity (Table 4) runs yet: `sweep --table4` trains them."


def write_report(folders, plots=None, metric: str = "test_acc", print_fn=print) -> int:
    """Gather ``folders``, print the tables (and the problems), save the plots as PNG files into
    ``plots``: the cardinality view, the learning curves and (when there are 2x runs) Table 4's.

    Returns 0 when at least one result was found (corrupt or foreign files are reported, not fatal),
    else 2."""
    m = get_metric(metric)  # the arguments are checked before any work
    if plots is not None:
        check_out_folder(plots, "--plots", create=False)
    found = gather(*folders)
    for problem in found.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    if not found.results:
        print(
            f"error: no sweep result files in {', '.join(map(str, folders))}. Run a sweep first: "
            f"python -m resnext_edu sweep --out DIR",
            file=sys.stderr,
        )
        return 2
    rows = summarize(found.results, metric)
    twice = any(r.config.scale == 2 for r in rows)
    print_fn(summary_table(rows, metric))
    print_fn(
        f"\nEach cardinality against C = 1, {m.label}: the difference of the means, its 95% "
        "confidence interval and p from Welch's t-test"
    )
    print_fn(comparison_table(rows))
    if twice:
        print_fn("\n" + table4_table(rows, metric))
    print_fn("\nThe same in training error, the final epoch (the paper's Fig. 5):")
    print_fn(comparison_table(summarize(found.results, "train_error")))
    print_fn("")
    if metric in ("test_acc", "test_error"):
        print_fn(paper_table("table3", "accuracy" if metric == "test_acc" else "error"))
    else:
        print_fn(
            "The paper's Table 3 is top-1 error: --metric test_error shows it beside the measured "
            "test error."
        )
    if plots is not None:
        out = Path(plots)
        out.mkdir(parents=True, exist_ok=True)
        drawn = {
            "cardinality.png": figures.beside_paper("cardinality", rows, metric),
            "curves.png": figures.beside_paper("curves", rows, metric, paper=False),
        }
        if twice:
            drawn["table4.png"] = figures.beside_paper("table4", rows, metric)
        for name, figure in drawn.items():
            figure.savefig(out / name, dpi=110)
        print_fn(f"plots: {', '.join(str(out / name) for name in drawn)}")
    if found.problems:
        print_fn(f"{len(found.problems)} file(s) skipped (listed above on stderr).")
    return 0

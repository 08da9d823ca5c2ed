"""Lesson 05's explorer over cardinality-sweep results (shipped, and the learner's own), and its
train button.

The explorer only reads result files (:mod:`resnext_edu.sweep.results`); it never trains. Controls:

* **results**: one experiment, i.e. runs that can be averaged together (same source, budget and
  training settings), e.g. "shipped: lesson, 5 epochs on 5,000 CIFAR-10 images" or the learner's own
  "mine: ...";
* **metric**: test accuracy or error, test or training loss, seconds per epoch;
* **seeds**: which seeds enter the mean and the spread (one seed alone has no spread: that is the
  point);
* **view**: the metric vs cardinality (mean +- sample std over seeds, each seed a dot), the learning
  curves (mean over seeds, epoch by epoch), Table 4's 2x-complexity comparison when the results have
  it, or the **seed resampler**: model A minus model B recomputed from every subset of k seeds of
  each, k = 1, 2, ..., showing how often their order flips and how wide the 95% Welch interval is at
  each k (and, beyond the seeds there are, the width a pooled SD predicts);
* **A**, **B**: the two models the resampler compares;
* **paper**: the paper's numbers on the same question (ImageNet-1K top-1 error: Table 4 in Table 4's
  view, else Table 3) in a panel of their own beside the measured one.

``explorer.state`` holds every number drawn; tests drive the controls and read it without a browser.
:class:`TrainButton` is the one control that trains: it runs a function (the learner's quick sweep)
with its printout in an ``Output``, then reloads the explorer so the new runs appear.
"""

from __future__ import annotations

import html
import itertools
import math
import os
import statistics
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from scipy.stats import t as t_distribution

from .. import stats
from ..sweep import figures
from ..sweep.report import table4_table
from ..sweep.results import METRICS, Gathered, gather, get_metric, ladder, shipped, summarize
from .base import Explorer, error_html

VIEWS = (
    ("accuracy vs cardinality", "cardinality"),
    ("learning curves", "curves"),
    ("2x complexity (Table 4)", "table4"),
    ("seed resampler", "resample"),
)
PROJECTED_SEEDS = 10  # the resampler's predicted interval width reaches this many seeds per model


def resample(a: list[float], b: list[float]) -> list[dict]:
    """Mean of ``a`` minus mean of ``b`` from every pair of k-seed subsets, k = 1 .. min(len): per k
    the differences, the share whose sign differs from the all-seed difference ("flips"), and the
    mean half-width of the 95% Welch interval (None at k = 1: one seed has no spread)."""
    full = statistics.mean(a) - statistics.mean(b)
    out = []
    for k in range(1, min(len(a), len(b)) + 1):
        diffs, halves = [], []
        for sub_a in itertools.combinations(a, k):
            for sub_b in itertools.combinations(b, k):
                diffs.append(statistics.mean(sub_a) - statistics.mean(sub_b))
                if k > 1 and (max(sub_a) > min(sub_a) or max(sub_b) > min(sub_b)):
                    w = stats.welch(sub_a, sub_b)
                    halves.append((w.high - w.low) / 2)
        flips = sum((d > 0) != (full > 0) for d in diffs if d != 0) / len(diffs)
        out.append(
            {
                "k": k,
                "diffs": diffs,
                "flips": flips,
                "half_width": statistics.mean(halves) if halves else None,
            }
        )
    return out


def projected_half_width(sd: float, k: int) -> float:
    """The 95% half-width of a difference of two k-seed means: spread ``sd``, df 2k - 2."""
    return t_distribution.ppf(0.975, 2 * k - 2) * sd * math.sqrt(2 / k)


def load_results(
    own_dir: str | os.PathLike | None = None, include_shipped: bool = True
) -> Gathered:
    """The shipped results (source "shipped") and, when the folder exists, the learner's own (source
    "mine")."""
    found = shipped() if include_shipped else Gathered()
    if own_dir is not None and os.path.isdir(own_dir):
        found = found + gather(own_dir, source="mine")
    return found


class SweepExplorer(Explorer):
    """See the module docstring. Build with :func:`sweep_explorer`."""

    def __init__(
        self,
        own_dir: str | os.PathLike | None = None,
        include_shipped: bool = True,
        found: Gathered | None = None,
    ):
        self.own_dir, self.include_shipped = own_dir, include_shipped
        self.found = found if found is not None else load_results(own_dir, include_shipped)
        experiments = self._experiments()
        seeds = sorted({r.seed for r in self.found.results}) or [0]
        style = {"description_width": "initial"}
        controls = {
            "experiment": widgets.Dropdown(
                options=experiments,
                value=experiments[0][1],
                description="results",
                style=style,
                layout=widgets.Layout(width="460px"),
            ),
            "metric": widgets.Dropdown(
                options=[(m.label, key) for key, m in METRICS.items()],
                value="test_acc",
                description="metric",
                style=style,
            ),
            "seeds": widgets.SelectMultiple(
                options=seeds,
                value=tuple(seeds),
                description="seeds",
                rows=3,
                style=style,
                layout=widgets.Layout(width="150px"),
            ),
            "view": widgets.Dropdown(
                options=VIEWS, value="cardinality", description="view", style=style
            ),
            "a": widgets.Dropdown(
                options=self._settings(), value=self._settings()[-1], description="A", style=style
            ),
            "b": widgets.Dropdown(
                options=self._settings(), value=self._settings()[0], description="B", style=style
            ),
            "paper": widgets.Checkbox(
                value=True, description="the paper's Table 3 beside", style=style
            ),
        }
        self.problems = widgets.HTML()
        super().__init__(controls, extra=[self.problems])
        self._show_problems()

    # -- data --------------------------------------------------------------------------------------
    def _settings(self) -> list[str]:
        """The complexity-matched models' settings ("1x64d", "2x40d", ...) of all results, by C."""
        ladder = {
            r.config.cardinality: r.config.setting
            for r in self.found.results
            if r.config.scale == 1 and r.config.axis == "cardinality"
        }
        return [ladder[c] for c in sorted(ladder)] or ["(none)"]

    def _experiments(self) -> list[tuple[str, tuple]]:
        """(label, key) of each group of results, for the dropdown."""
        found = self.found.experiments().items()
        return [(label, key) for key, label in found] or [("(no results yet)", ())]

    def reload(self, select_source: str | None = None) -> None:
        """Read the result folders again (after training) and refresh the choices; optionally select
        the first experiment of ``select_source`` ("mine")."""
        self.found = load_results(self.own_dir, self.include_shipped)
        experiments = self._experiments()
        keys = [key for _, key in experiments]
        seeds = sorted({r.seed for r in self.found.results}) or [0]
        wanted = self.controls["experiment"].value
        if select_source is not None:
            wanted = next((key for key in keys if key and key[0] == select_source), wanted)
        self._quiet = True  # one redraw at the end, not one per changed control
        try:
            self.controls["experiment"].options = experiments
            self.controls["experiment"].value = wanted if wanted in keys else keys[0]
            self.controls["seeds"].options = seeds
            self.controls["seeds"].value = tuple(seeds)
            for name, pick in (("a", -1), ("b", 0)):
                keep = self.controls[name].value
                self.controls[name].options = self._settings()
                self.controls[name].value = (
                    keep if keep in self._settings() else self._settings()[pick]
                )
        finally:
            self._quiet = False
        self._show_problems()
        self.update()

    def update(self) -> None:
        if getattr(self, "_quiet", False):
            return
        resampling = self.controls["view"].value == "resample"
        for name in ("a", "b"):  # the resampler's two models: shown with it only
            self.controls[name].layout.display = None if resampling else "none"
        super().update()

    def _show_problems(self) -> None:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.found.problems)
        self.problems.value = (
            (
                f"<details><summary>{len(self.found.problems)} file(s) skipped</summary><ul>{items}"
                f"</ul></details>"
            )
            if self.found.problems
            else ""
        )

    def compute(
        self, experiment: tuple, metric: str, seeds: tuple, view: str, a: str, b: str, paper: bool
    ) -> dict:
        if not self.found.results:
            raise ValueError(
                "No results to show yet. The shipped results are missing from this installation, "
                "and you have not trained a sweep: press the train button below."
            )
        if not seeds:
            raise ValueError("Select at least one seed (Ctrl/Cmd-click to select several).")
        chosen = [r for r in self.found.results if r.key == experiment]
        rows = summarize(chosen, metric, seeds=set(seeds))
        if not rows:
            available = sorted({r.seed for r in chosen})
            raise ValueError(
                f"The selected seeds {list(seeds)} have no runs in these results; they have seeds "
                f"{available}."
            )
        if view == "table4" and not any(r.config.scale == 2 for r in rows):
            raise ValueError(
                "These results have no 2x-complexity runs (Table 4's deeper / wider / more "
                "cardinality). Train them with `python -m resnext_edu sweep --table4 ...`, or "
                "choose another view."
            )
        models = ladder(rows, experiment)
        ones = [models[c] for c in sorted(models)]
        resampled = self._resample(ones, a, b) if view == "resample" else None
        return {
            "resampled": resampled,
            "a": a,
            "b": b,
            "metric": metric,
            "label": get_metric(metric).label,
            "view": view,
            "paper": paper,
            "seeds": sorted(seeds),
            "rows": rows,
            "cardinalities": [r.config.cardinality for r in ones],
            "settings": [r.config.setting for r in ones],
            "means": [r.mean for r in ones],
            "stds": [r.std for r in ones],
            "n": [r.n for r in ones],
            "values": [list(r.values) for r in ones],
            "curves": {
                r.config.setting
                + ("" if r.config.scale == 1 else f" 2x {r.config.axis}"): r.mean_curve
                for r in rows
            },
        }

    @staticmethod
    def _resample(ones, a: str, b: str) -> dict:
        by_setting = {r.config.setting: r for r in ones}
        if a == b:
            raise ValueError("Choose two different models as A and B for the seed resampler.")
        missing = [s for s in (a, b) if s not in by_setting]
        if missing:
            raise ValueError(
                f"These results have no {' or '.join(missing)} among the selected seeds; "
                f"they have {', '.join(by_setting) or 'no complexity-matched models'}."
            )
        ra, rb = by_setting[a], by_setting[b]
        levels = resample(ra.values, rb.values)
        both = {a: ra.values, b: rb.values}
        spread = stats.pooled(both).sd if min(ra.n, rb.n) > 1 else None
        projected = (
            {k: projected_half_width(spread, k) for k in range(2, PROJECTED_SEEDS + 1)}
            if spread
            else {}
        )
        return {
            "levels": levels,
            "difference": ra.mean - rb.mean,
            "pooled_sd": spread,
            "projected": projected,
        }

    # -- drawing
    # ----------------------------------------------------------------------------------------------
    def draw(self, state: dict):
        if state["view"] == "resample":
            return self._draw_resample(state)
        return figures.beside_paper(state["view"], state["rows"], state["metric"], state["paper"])

    def _draw_resample(self, state: dict):
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.9), layout="constrained", squeeze=False)
        left, right = axes[0]
        found = state["resampled"]
        for level in found["levels"]:
            left.plot(
                [level["k"]] * len(level["diffs"]), level["diffs"], "o", alpha=0.5, color="#1f77b4"
            )
        left.axhline(0, color="black", lw=0.8)
        left.axhline(found["difference"], color="#d62728", lw=1, ls="--", label="all seeds")
        left.set_xlabel("seeds per model (k)")
        left.set_ylabel(f"{state['a']} minus {state['b']} (points)")
        left.set_title("the difference from every subset of k seeds", fontsize=9)
        left.legend(fontsize=7)
        measured = [(lv["k"], lv["half_width"]) for lv in found["levels"] if lv["half_width"]]
        if measured:
            right.plot(*zip(*measured), "o", color="#1f77b4", label="measured (mean over subsets)")
        if found["projected"]:
            right.plot(
                list(found["projected"]),
                list(found["projected"].values()),
                "-",
                color="#7f7f7f",
                label=f"predicted from the pooled SD {found['pooled_sd']:.2f}",
            )
        right.axhline(
            abs(found["difference"]), color="#d62728", lw=1, ls="--", label="|difference|"
        )
        right.set_ylim(0, None)
        right.set_xlabel("seeds per model (k)")
        right.set_ylabel("half-width of the 95% interval (points)")
        right.set_title("below the dashed line, the interval excludes 0", fontsize=9)
        right.legend(fontsize=7)
        return fig

    def readout(self, state: dict) -> str:
        if state["view"] == "resample":
            found = state["resampled"]
            cells = "".join(
                f"<td style='padding:0 8px'>k = {lv['k']}<br>"
                f"order flips <b>{lv['flips']:.0%}</b><br>"
                + (
                    "<small>no interval</small>"
                    if lv["half_width"] is None
                    else f"<small>&plusmn; {lv['half_width']:.2f}</small>"
                )
                + "</td>"
                for lv in found["levels"]
            )
            return (
                f"<div><b>{html.escape(state['a'])} minus {html.escape(state['b'])}</b>: "
                f"{found['difference']:+.2f} with all seeds; per k seeds, how often a subset "
                f"reverses the order and the mean 95% Welch half-width:</div>"
                f"<table><tr>{cells}</tr></table>"
            )
        cells = "".join(
            f"<td style='padding:0 8px'>{s}<br><b>{m:.2f}</b>"
            + (f" &plusmn; {sd:.2f}" if n > 1 else "")
            + f"<br><small>n = {n}</small></td>"
            for s, m, sd, n in zip(state["settings"], state["means"], state["stds"], state["n"])
        )
        table4 = (
            f"<pre style='font-size:11px'>{html.escape(table4_table(state['rows'], state['metric']))}"
            "</pre>"
            if state["view"] == "table4"
            else ""
        )  # each 2x model with its real cost and interval
        return (
            f"<div><b>{html.escape(state['label'])}</b>, mean &plusmn; sample std over seeds "
            f"{', '.join(map(str, state['seeds']))}:</div><table><tr>{cells}</tr></table>{table4}"
        )


def sweep_explorer(
    own_dir: str | os.PathLike | None = None, include_shipped: bool = True
) -> SweepExplorer:
    """Lesson 05's explorer over the shipped results and (when ``own_dir`` exists) the learner's own
    runs."""
    return SweepExplorer(own_dir, include_shipped)


class TrainButton:
    """A button that runs ``train(print_fn)`` with its printout in an ``Output``, then reloads
    ``explorer``.

    While it runs, the button is disabled (no second sweep from a double click). :meth:`click` is
    the handler: the lesson calls it from code in quick mode, so the tests exercise exactly what the
    button does.
    """

    def __init__(
        self,
        train: Callable[[Callable[[str], None]], object],
        explorer: SweepExplorer | None = None,
        description: str = "Train my quick sweep",
    ):
        self.train, self.explorer = train, explorer
        self.button = widgets.Button(
            description=description,
            button_style="primary",
            icon="play",
            layout=widgets.Layout(width="240px"),
        )
        self.output = widgets.Output(layout=widgets.Layout(max_height="260px", overflow="auto"))
        self.status = widgets.HTML()
        self.button.on_click(lambda _: self.click())
        self.widget = widgets.VBox([widgets.HBox([self.button, self.status]), self.output])
        self.result = None

    def click(self):
        if self.button.disabled:
            return None
        self.button.disabled = True
        self.status.value = "training... (the explorer above updates when it is done)"
        try:
            with self.output:
                self.result = self.train(lambda line: print(line, flush=True))
            self.status.value = "done."
            if self.explorer is not None:
                self.explorer.reload(select_source="mine")
        except Exception as error:  # shown in the widget, not as a traceback
            self.status.value = error_html(f"{type(error).__name__}: {error}")
        finally:
            self.button.disabled = False
        return self.result

    def _ipython_display_(self) -> None:
        from IPython.display import display  # only inside a notebook

        display(self.widget)

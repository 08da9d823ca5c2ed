"""Lesson 05's explorer over cardinality-sweep results (shipped, and the learner's own), and its train button.

The explorer only reads result files (:mod:`resnext_edu.sweep.results`); it never trains. Controls:

* **results**: one group of runs that can be averaged together (same source, budget and training settings),
  e.g. "shipped: lesson, 4 epochs on 5,000 CIFAR-10 images" or the learner's own "mine: ...";
* **metric**: test accuracy or error, test or training loss, seconds per epoch;
* **seeds**: which seeds enter the mean and the spread (one seed alone has no spread: that is the point);
* **view**: the metric vs cardinality (mean +- sample std over seeds, each seed a dot), the learning curves
  (mean over seeds, epoch by epoch), or Table 4's 2x-complexity comparison when the results have it;
* **paper**: the paper's Table 3 (ImageNet-1K top-1 error) in its own panel beside the measured one.

``explorer.state`` holds every number drawn; tests drive the controls and read it without a browser.
:class:`TrainButton` is the one control that trains: it runs a function (the learner's quick sweep) with its
printout in an ``Output``, then reloads the explorer so the new runs appear.
"""

from __future__ import annotations

import html
import os
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..sweep import figures
from ..sweep.report import table4_table
from ..sweep.results import METRICS, Gathered, gather, get_metric, shipped, summarize
from .base import Explorer, error_html

VIEWS = (("accuracy vs cardinality", "cardinality"), ("learning curves", "curves"),
         ("2x complexity (Table 4)", "table4"))


def load_results(own_dir: str | os.PathLike | None = None, include_shipped: bool = True) -> Gathered:
    """The shipped results (source "shipped") and, when the folder exists, the learner's own (source "mine")."""
    found = shipped() if include_shipped else Gathered()
    if own_dir is not None and os.path.isdir(own_dir):
        found = found + gather(own_dir, source="mine")
    return found


class SweepExplorer(Explorer):
    """See the module docstring. Build with :func:`sweep_explorer`."""

    def __init__(self, own_dir: str | os.PathLike | None = None, include_shipped: bool = True,
                 found: Gathered | None = None):
        self.own_dir, self.include_shipped = own_dir, include_shipped
        self.found = found if found is not None else load_results(own_dir, include_shipped)
        experiments = self._experiments()
        seeds = sorted({r.seed for r in self.found.results}) or [0]
        style = {"description_width": "initial"}
        controls = {
            "experiment": widgets.Dropdown(options=experiments, value=experiments[0][1], description="results",
                                           style=style, layout=widgets.Layout(width="460px")),
            "metric": widgets.Dropdown(options=[(m.label, key) for key, m in METRICS.items()], value="test_acc",
                                       description="metric", style=style),
            "seeds": widgets.SelectMultiple(options=seeds, value=tuple(seeds), description="seeds", rows=3,
                                            style=style, layout=widgets.Layout(width="150px")),
            "view": widgets.Dropdown(options=VIEWS, value="cardinality", description="view", style=style),
            "paper": widgets.Checkbox(value=True, description="the paper's Table 3 beside", style=style),
        }
        self.problems = widgets.HTML()
        super().__init__(controls, extra=[self.problems])
        self._show_problems()

    # -- data -------------------------------------------------------------------------------------------------
    def _experiments(self) -> list[tuple[str, tuple]]:
        """(label, key) of each group of results, for the dropdown."""
        return [(label, key) for key, label in self.found.experiments().items()] or [("(no results yet)", ())]

    def reload(self, select_source: str | None = None) -> None:
        """Read the result folders again (after training) and refresh the choices; optionally select the first
        experiment of ``select_source`` ("mine")."""
        self.found = load_results(self.own_dir, self.include_shipped)
        experiments = self._experiments()
        keys = [key for _, key in experiments]
        seeds = sorted({r.seed for r in self.found.results}) or [0]
        wanted = self.controls["experiment"].value
        if select_source is not None:
            wanted = next((key for key in keys if key and key[0] == select_source), wanted)
        self._quiet = True                  # one redraw at the end, not one per changed control
        try:
            self.controls["experiment"].options = experiments
            self.controls["experiment"].value = wanted if wanted in keys else keys[0]
            self.controls["seeds"].options = seeds
            self.controls["seeds"].value = tuple(seeds)
        finally:
            self._quiet = False
        self._show_problems()
        self.update()

    def update(self) -> None:
        if not getattr(self, "_quiet", False):
            super().update()

    def _show_problems(self) -> None:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.found.problems)
        self.problems.value = (f"<details><summary>{len(self.found.problems)} file(s) skipped</summary><ul>{items}"
                               f"</ul></details>") if self.found.problems else ""

    def compute(self, experiment: str, metric: str, seeds: tuple, view: str, paper: bool) -> dict:
        m = get_metric(metric)
        if not self.found.results:
            raise ValueError("No results to show yet. The shipped results are missing from this installation, and "
                             "you have not trained a sweep: press the train button below.")
        if not seeds:
            raise ValueError("Select at least one seed (Ctrl/Cmd-click to select several).")
        chosen = [r for r in self.found.results if r.key == experiment]
        rows = summarize(chosen, metric, seeds=set(seeds))
        if not rows:
            available = sorted({r.seed for r in chosen})
            raise ValueError(f"The selected seeds {list(seeds)} have no runs in these results; they have seeds "
                             f"{available}.")
        if view == "table4" and not any(r.config.scale == 2 for r in rows):
            raise ValueError("These results have no 2x-complexity runs (Table 4's deeper / wider / more "
                             "cardinality). Train them with `python -m resnext_edu sweep --table4 ...`, or choose "
                             "another view.")
        if view == "curves" and m.curve_key is None:
            raise ValueError(f"{m.label} has no per-epoch values; choose another metric for the curves.")
        ones = sorted((r for r in rows if r.config.scale == 1 and r.config.axis == "cardinality"),
                      key=lambda r: r.config.cardinality)
        return {"experiment": experiment, "metric": metric, "label": m.label, "view": view, "paper": paper,
                "seeds": sorted(seeds), "rows": rows,
                "cardinalities": [r.config.cardinality for r in ones],
                "settings": [r.config.setting for r in ones],
                "means": [r.mean for r in ones], "stds": [r.std for r in ones], "n": [r.n for r in ones],
                "values": [list(r.values) for r in ones],
                "curves": {r.config.setting + ("" if r.config.scale == 1 else f" 2x {r.config.axis}"): r.mean_curve
                           for r in rows}}

    # -- drawing ----------------------------------------------------------------------------------------------
    def draw(self, state: dict):
        panels = 2 if state["paper"] else 1
        fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.9), layout="constrained", squeeze=False)
        ax = axes[0, 0]
        if state["view"] == "cardinality":
            figures.plot_accuracy(ax, state["rows"], state["metric"])
        elif state["view"] == "curves":
            figures.plot_curves(ax, state["rows"], state["metric"])
        else:
            figures.plot_table4(ax, state["rows"], state["metric"])
        if state["paper"]:
            (figures.plot_paper_table4 if state["view"] == "table4" else figures.plot_paper_table3)(axes[0, 1])
        return fig

    def readout(self, state: dict) -> str:
        cells = "".join(f"<td style='padding:0 8px'>{s}<br><b>{m:.2f}</b>" + (f" &plusmn; {sd:.2f}" if n > 1 else "")
                        + f"<br><small>n = {n}</small></td>"
                        for s, m, sd, n in zip(state["settings"], state["means"], state["stds"], state["n"]))
        table4 = (f"<pre style='font-size:11px'>{html.escape(table4_table(state['rows'], state['metric']))}</pre>"
                  if state["view"] == "table4" else "")      # each 2x model with its real cost and standard errors
        return (f"<div><b>{html.escape(state['label'])}</b>, mean &plusmn; sample std over seeds "
                f"{', '.join(map(str, state['seeds']))}:</div><table><tr>{cells}</tr></table>{table4}")


def sweep_explorer(own_dir: str | os.PathLike | None = None, include_shipped: bool = True) -> SweepExplorer:
    """Lesson 05's explorer over the shipped results and (when ``own_dir`` exists) the learner's own runs."""
    return SweepExplorer(own_dir, include_shipped)


class TrainButton:
    """A button that runs ``train(print_fn)`` with its printout in an ``Output``, then reloads ``explorer``.

    While it runs, the button is disabled (no second sweep from a double click). :meth:`click` is the handler:
    the lesson calls it from code in quick mode, so the tests exercise exactly what the button does.
    """

    def __init__(self, train: Callable[[Callable[[str], None]], object], explorer: SweepExplorer | None = None,
                 description: str = "Train my quick sweep"):
        self.train, self.explorer = train, explorer
        self.button = widgets.Button(description=description, button_style="primary", icon="play",
                                     layout=widgets.Layout(width="240px"))
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
        except Exception as error:    # shown in the widget, not as a traceback
            self.status.value = error_html(f"{type(error).__name__}: {error}")
        finally:
            self.button.disabled = False
        return self.result

    def _ipython_display_(self) -> None:
        from IPython.display import display   # only inside a notebook
        display(self.widget)

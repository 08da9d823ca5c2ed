"""Live training curves in a notebook: a ``callback`` for :func:`~resnext_edu.train.fit` that redraws loss, accuracy
and learning rate after every epoch (lesson 06).

    curves = LiveCurves(title="ResNeXt-29, lesson size", reference=(0.9635, "paper, 8x64d"))
    display(curves)                                   # the (empty) plot area appears under the cell
    history = fit(model, data, config, callback=curves)

The figure is plain inline matplotlib drawn into an ``ipywidgets.Output`` with ``clear_output(wait=True)``: no
flicker, no pile of figures, no ipympl; it works with ipywidgets 7.7 (Colab) and 8 (JupyterLab 4). It draws the whole
history that ``fit`` passes, so after ``fit(..., resume=True)`` the curves continue where the interrupted run stopped,
with a dashed line where it resumed. What was drawn stays in :attr:`LiveCurves.records` (and :meth:`series`), so
tests check the data, not pixels.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import clear_output, display
from matplotlib.figure import Figure

SERIES = ("train_loss", "test_loss", "train_acc", "test_acc", "lr")


class LiveCurves:
    """A per-epoch callback ``curves(record, history)`` that keeps the history's records and redraws them.

    Args:
        title: shown above the plots (e.g. the model and the recipe).
        reference: an accuracy to draw as a horizontal line on the accuracy plot, with its label, e.g.
            ``(0.9635, "paper: ResNeXt-29 8x64d, 300 epochs")`` (Table 7). None: no line.
        epochs: the x-axis length; default: the run's ``config["epochs"]`` from the history.
    """

    def __init__(
        self, title: str = "", reference: tuple[float, str] | None = None, epochs: int | None = None
    ):
        if reference is not None and not (
            isinstance(reference, tuple) and len(reference) == 2 and 0 <= reference[0] <= 1
        ):
            raise ValueError(
                f"reference must be (accuracy between 0 and 1, label), e.g. (0.9635, 'paper'); "
                f"got {reference!r}."
            )
        self.title = title
        self.reference = reference
        self.epochs = epochs
        self.records: list[dict] = []  # one dict per epoch, copied from history["epochs"]
        self.resumed_at: list[int] = []  # epochs after which a run was resumed (history["resumed"])
        self.draws = 0
        self.output = widgets.Output()

    # -- the callback --------------------------------------------------------------------------------------------
    def __call__(self, record: dict, history: dict) -> None:
        """Called by :func:`~resnext_edu.train.fit` after each epoch; redraws from the whole ``history``."""
        self.update(history)

    def update(self, history: dict) -> None:
        """Take the records of a history (from ``fit`` or a ``history.json``) and redraw."""
        self.records = [dict(r) for r in history.get("epochs", [])]
        self.resumed_at = [r["at_epoch"] for r in history.get("resumed", [])]
        if self.epochs is None and "config" in history:
            self.epochs = history["config"].get("epochs")
        self.redraw()

    def series(self, key: str) -> tuple[list[int], list[float]]:
        """(epochs, values) of one series: "train_loss", "test_loss", "train_acc", "test_acc" or "lr"."""
        if key not in SERIES:
            raise ValueError(f"No series {key!r}; choose one of {', '.join(SERIES)}.")
        kept = [
            r for r in self.records if r.get(key) is not None
        ]  # None: an epoch not evaluated (eval_from)
        return [r["epoch"] for r in kept], [r[key] for r in kept]

    # -- drawing -------------------------------------------------------------------------------------------------
    def redraw(self) -> None:
        figure = self.figure()
        with self.output:
            clear_output(wait=True)
            display(figure)
        plt.close(figure)
        self.draws += 1

    def figure(self) -> Figure:
        """Three panels: cross-entropy loss, accuracy (%) and learning rate, against the epoch."""
        figure, (loss_ax, acc_ax, lr_ax) = plt.subplots(1, 3, figsize=(12, 3.2))
        for key, style in (("train_loss", "-o"), ("test_loss", "-s")):
            x, y = self.series(key)
            loss_ax.plot(x, y, style, ms=3, label=key.replace("_", " "))
        for key, style in (("train_acc", "-o"), ("test_acc", "-s")):
            x, y = self.series(key)
            acc_ax.plot(x, [100 * v for v in y], style, ms=3, label=key.replace("_", " "))
        x, y = self.series("lr")
        lr_ax.plot(x, y, "-o", ms=3, color="tab:gray")
        if self.reference is not None:
            acc, label = self.reference
            acc_ax.axhline(100 * acc, color="tab:red", ls=":", lw=1)
            acc_ax.text(
                0.02,
                100 * acc,
                f" {label}: {100 * acc:.2f}%",
                color="tab:red",
                va="top",
                fontsize=8,
                transform=acc_ax.get_yaxis_transform(),
            )
            acc_ax.set_ylim(0, 100)
        for ax, ylabel in (
            (loss_ax, "cross-entropy loss"),
            (acc_ax, "accuracy (%)"),
            (lr_ax, "learning rate (end of epoch)"),
        ):
            for at in self.resumed_at:
                ax.axvline(at + 0.5, color="k", ls="--", lw=0.8)
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
            if self.epochs:
                ax.set_xlim(0.5, self.epochs + 0.5)
            ax.grid(alpha=0.3)
        loss_ax.legend(fontsize=8)
        acc_ax.legend(fontsize=8, loc="lower right")
        if self.resumed_at:
            lr_ax.text(
                self.resumed_at[-1] + 0.5, lr_ax.get_ylim()[1], " resumed", va="top", fontsize=8
            )
        done = (
            f"{len(self.records)}/{self.epochs} epochs"
            if self.epochs
            else f"{len(self.records)} epochs"
        )
        figure.suptitle(f"{self.title} ({done})" if self.title else done, fontsize=10)
        figure.tight_layout()
        return figure

    def _ipython_display_(self) -> None:
        display(self.output)

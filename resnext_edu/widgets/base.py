"""The explorer pattern shared by every lesson widget (lessons 02, 04, 05)."""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
from IPython.display import clear_output, display

# Colours for the widgets' HTML: JupyterLab's theme variables (so text reads in the light and the dark theme), then
# Colab's, then a light-theme default. A colour without a variable is unreadable in one theme or the other.
MUTED = "var(--jp-ui-font-color2, var(--colab-secondary-text-color, #5f6368))"
ERROR = "var(--jp-error-color1, #d93025)"


def error_html(text: str) -> str:
    """A learner-facing error line in the theme's error colour."""
    return f"<b style='color:{ERROR}'>{html.escape(text)}</b>"


def slider(description: str, value: int, low: int, high: int, step: int = 1, **kwargs) -> widgets.IntSlider:
    """An IntSlider that only fires when released (``continuous_update=False``), so the figure redraws once."""
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"}, **kwargs)


class Explorer:
    """Controls -> ``compute(**values)`` -> a figure, a readout and a message line.

    Subclasses implement ``compute(**values) -> dict`` (the data drawn: numbers a test can check; raise ValueError
    with a learner-facing message for an invalid combination), ``draw(state) -> Figure`` and
    ``readout(state) -> str`` (HTML).
    """

    def __init__(self, controls: dict[str, widgets.Widget], extra: list[widgets.Widget] | None = None):
        self.controls = controls
        self.output = widgets.Output()
        self.readout_html = widgets.HTML()
        self.message = widgets.HTML()
        self.state: dict | None = None
        self.draws = 0
        for control in controls.values():
            control.observe(lambda change: self.update(), names="value")
        rows = [widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))]
        self.widget = widgets.VBox(rows + (extra or []) + [self.readout_html, self.message, self.output])
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> None:
        try:
            state = self.compute(**self.values())
        except ValueError as error:
            self.message.value = error_html(str(error))
            return
        self.message.value = ""
        self.state = state
        self.readout_html.value = self.readout(state)
        figure = self.draw(state)
        with self.output:
            clear_output(wait=True)
            display(figure)
        plt.close(figure)
        self.draws += 1

    def compute(self, **values) -> dict:
        raise NotImplementedError

    def draw(self, state: dict) -> matplotlib.figure.Figure:
        raise NotImplementedError

    def readout(self, state: dict) -> str:
        return ""

    def _ipython_display_(self) -> None:
        display(self.widget)

"""The explorer pattern shared by every lesson widget (lessons 02, 04, 05)."""

from __future__ import annotations

import html
import numbers
import operator

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import traitlets
from IPython.display import clear_output, display

# Colours for the widgets' HTML: JupyterLab's theme variables (so text reads in the light and the dark theme), then
# Colab's, then a light-theme default. A colour without a variable is unreadable in one theme or the other.
MUTED = "var(--jp-ui-font-color2, var(--colab-secondary-text-color, #5f6368))"
ERROR = "var(--jp-error-color1, #d93025)"


def error_html(text: str) -> str:
    """A learner-facing error line in the theme's error colour."""
    return f"<b style='color:{ERROR}'>{html.escape(text)}</b>"


class ControlValueError(traitlets.TraitError, ValueError):
    """A value set on a control from code that the control would otherwise have changed silently (2.5 -> 2, "8" -> 8,
    10**6 -> its maximum). A TraitError, so ipywidgets rolls the control back; a ValueError, like every bad input."""


class WholeNumber(traitlets.Int):
    """The value of an integer control: whole numbers only (numpy's too, via ``operator.index``).

    ipywidgets' ``IntSlider`` and ``IntText`` cast whatever they are given (``int(2.5)`` is 2, ``int("8")`` is 8,
    ``True`` is 1): a learner's typo would be drawn as if it were meant. This refuses it, saying what is allowed.
    """

    def validate(self, obj, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ControlValueError(
                f"{_name(obj)} takes a whole number{_range(obj)}, not {value!r} "
                f"({type(value).__name__}). Try {_suggest(value)}."
            )
        return super().validate(obj, operator.index(value))


def _name(control) -> str:
    return repr(control.description) if getattr(control, "description", "") else "this control"


def _range(control) -> str:
    return f" from {control.min} to {control.max}" if hasattr(control, "min") else ""


def _suggest(value) -> str:
    try:
        return f"{round(float(value))}"
    except (TypeError, ValueError, OverflowError):
        return "e.g. 4"


class StrictIntSlider(widgets.IntSlider):
    """An IntSlider that refuses a non-integer or out-of-range value set from code instead of rounding or clamping
    it (the browser can only send whole numbers within the range)."""

    value = WholeNumber(0, help="Int value").tag(sync=True)

    @traitlets.validate("value")
    def _validate_value(self, proposal):
        value = proposal["value"]
        if not self.min <= value <= self.max:
            raise ControlValueError(
                f"{_name(self)} takes a whole number from {self.min} to {self.max}, not {value:,}."
            )
        return value


class StrictIntText(widgets.IntText):
    """An IntText that refuses 2.5 or "8" set from code instead of turning it into 2 or 8."""

    value = WholeNumber(0, help="Int value").tag(sync=True)


def slider(
    description: str, value: int, low: int, high: int, step: int = 1, **kwargs
) -> StrictIntSlider:
    """An integer slider that only fires when released (``continuous_update=False``), so the figure redraws once.

    ``value`` must lie in ``[low, high]``: a ValueError says so, rather than the slider moving it to the nearest end.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not low <= value <= high
    ):
        raise ValueError(
            f"{description} starts at a whole number from {low} to {high}, not {value!r}."
        )
    return StrictIntSlider(
        value=operator.index(value),
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        style={"description_width": "initial"},
        **kwargs,
    )


class Explorer:
    """Controls -> ``compute(**values)`` -> a figure, a readout and a message line.

    Subclasses implement ``compute(**values) -> dict`` (the data drawn: numbers a test can check; raise ValueError
    with a learner-facing message for an invalid combination), ``draw(state) -> Figure`` and
    ``readout(state) -> str`` (HTML).
    """

    def __init__(
        self, controls: dict[str, widgets.Widget], extra: list[widgets.Widget] | None = None
    ):
        self.controls = controls
        self.output = widgets.Output()
        self.readout_html = widgets.HTML()
        self.message = widgets.HTML()
        self.state: dict | None = None
        self.draws = 0
        for control in controls.values():
            control.observe(lambda change: self.update(), names="value")
        rows = [widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))]
        self.widget = widgets.VBox(
            rows + (extra or []) + [self.readout_html, self.message, self.output]
        )
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

"""Self-checks for the lessons' exercises: one module per lesson (``lesson01``, ...), friendly feedback, no asserts.

A check returns a :class:`Feedback` (shown as a coloured box in the notebook, as text in a terminal) that says what
is right, what is off and a hint, instead of raising. A hint is shown only after a wrong answer: a cell left empty
(``None``) after "Run all" says "fill it in", and gives nothing away. The box takes its colours from JupyterLab's
theme variables (light and dark), with fallbacks for Colab and other front ends.

The feedback speaks the language chosen with ``course.language`` (English, or Chinese in the Chinese lessons): every
message is marked with :func:`~resnext_edu.i18n._` where it is made (see :mod:`resnext_edu.i18n`).

:func:`forward_disabled` lets a check prove that the learner's code computed what was asked, rather than calling the
finished block (``lambda block, x: block(x)``).
"""

from __future__ import annotations

import html
from contextlib import contextmanager
from dataclasses import dataclass

from torch import nn

from ..i18n import N_, _

# Text and background colours from the notebook's theme: JupyterLab's variables first, then Colab's, then a light
# default. The tints are translucent, so they read on a light and on a dark background alike.
TEXT = "var(--jp-content-font-color1, var(--colab-primary-text-color, #1f1f1f))"
TINTS = {
    True: ("rgba(24, 128, 56, 0.16)", "#34a853"),
    False: ("rgba(234, 134, 0, 0.16)", "#f29900"),
}


@dataclass
class Feedback:
    passed: bool
    message: str
    hint: str = ""

    def __str__(self) -> str:
        head = _("Correct!") if self.passed else _("Not yet.")
        hint = (
            "\n" + _("Hint: {hint}").format(hint=self.hint) if self.hint and not self.passed else ""
        )
        # TRANSLATORS: "Correct!" or "Not yet.", then the message; a language without spaces drops the space
        return _("{head} {message}").format(head=head, message=self.message) + hint

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        background, border = TINTS[self.passed]
        hint = _("Hint: {hint}").format(hint=self.hint) if self.hint and not self.passed else ""
        hint = f"<br><i>{html.escape(hint)}</i>" if hint else ""
        head = (
            "&#10004; " + html.escape(_("Correct!"))
            if self.passed
            else "&#9998; " + html.escape(_("Not yet."))
        )
        return (
            f"<div class='resnext-edu-feedback' style='color:{TEXT};background:{background};"
            f"border-left:4px solid {border};padding:6px 10px'>"
            + _("{head} {message}").format(head=f"<b>{head}</b>", message=html.escape(self.message))
            + f"{hint}</div>"
        )


def empty(what: str) -> Feedback:
    """The answer to a cell nobody has filled in yet: no hint, nothing given away."""
    return Feedback(False, _("Fill in {what} first, then run this cell again.").format(what=what))


class CalledTheBlock(RuntimeError):
    """Raised when a learner's function calls the block it was asked to re-implement."""


@contextmanager
def forward_disabled(module: nn.Module, *, counting: dict[str, nn.Module] | None = None):
    """Within the ``with``, calling ``module(x)`` raises :class:`CalledTheBlock`; the sub-modules still work. Calls
    into each module of ``counting`` (name -> module) are counted with forward hooks, in the dict yielded."""
    calls = {name: 0 for name in counting or {}}
    hooks = [
        sub.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
        for name, sub in (counting or {}).items()
    ]

    def refuse(*args, **kwargs):
        raise CalledTheBlock("the block's own forward was called")

    module.forward = refuse  # an instance attribute hides the class's forward
    try:
        yield calls
    finally:
        del module.forward
        for hook in hooks:
            hook.remove()


# shown through _() where it is used: Feedback(False, _(SHORTCUT_MESSAGE), ...)
SHORTCUT_MESSAGE = N_(
    "Your function calls block(x), the finished block itself, so it returns the right numbers "
    "without computing them. That is a fair instinct for real code, but this exercise asks you to "
    "build the output from the block's layers."
)


def check_number(
    answer, expected, *, what: str, hint: str = "", tolerance: float = 0.0
) -> Feedback:
    """Compare a learner's number with the expected one (exactly, or within a relative tolerance)."""
    if answer is None or answer is ...:
        return empty(_("your value for {what}").format(what=what))
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(
            False,
            _("{what} should be a number, got {answer!r}.").format(what=what, answer=answer),
            hint,
        )
    ok = value == expected if tolerance == 0 else abs(value - expected) <= tolerance * abs(expected)
    if ok:
        return Feedback(True, _("{what} = {expected:,}.").format(what=what, expected=expected))
    if value > expected:
        message = _("{what}: you have {value:,g}, which is too high.")
    else:
        message = _("{what}: you have {value:,g}, which is too low.")
    return Feedback(False, message.format(what=what, value=value), hint)


def check_predicted_width(prediction, solve, *, asked: str, hint: str) -> Feedback:
    """Predict, then verify (lessons 04 and 05): the learner's whole number d against the width
    solver's. ``solve(guess)`` runs only once there is a guess, and returns the solver's d and the
    counts it weighed, in words; ``asked`` is what an empty cell lacks, ``hint`` follows a wrong
    guess."""
    if prediction is None or prediction is ...:
        return empty(asked)
    try:
        guess = int(prediction)
    except (TypeError, ValueError):
        return Feedback(
            False,
            _("A bottleneck width is a whole number, got {prediction!r}.").format(
                prediction=prediction
            ),
        )
    d, measured = solve(guess)
    if guess == d:
        return Feedback(
            True,
            _("Your prediction d = {guess} is right. {measured}").format(
                guess=guess, measured=measured
            ),
        )
    return Feedback(
        False,
        _("You predicted d = {guess}. {measured}").format(guess=guess, measured=measured),
        hint,
    )

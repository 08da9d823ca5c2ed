"""Self-checks for the lessons' exercises: one module per lesson (``lesson01``, ...), friendly feedback, no asserts.

A check returns a :class:`Feedback` (shown as a coloured box in the notebook, as text in a terminal) that says what
is right, what is off and a hint, instead of raising.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass
class Feedback:
    passed: bool
    message: str
    hint: str = ""

    def __str__(self) -> str:
        head = "Correct! " if self.passed else "Not yet. "
        return head + self.message + (f"\nHint: {self.hint}" if self.hint and not self.passed else "")

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        colour, border = ("#e6f4ea", "#188038") if self.passed else ("#fef7e0", "#b06000")
        hint = f"<br><i>Hint: {html.escape(self.hint)}</i>" if self.hint and not self.passed else ""
        head = "&#10004; Correct!" if self.passed else "&#9998; Not yet."
        return (f"<div style='background:{colour};border-left:4px solid {border};padding:6px 10px'>"
                f"<b>{head}</b> {html.escape(self.message)}{hint}</div>")


def check_number(answer, expected, *, what: str, hint: str = "", tolerance: float = 0.0) -> Feedback:
    """Compare a learner's number with the expected one (exactly, or within a relative tolerance)."""
    if answer is None or answer is ...:
        return Feedback(False, f"Fill in your value for {what} first.", hint)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return Feedback(False, f"{what} should be a number, got {answer!r}.", hint)
    ok = value == expected if tolerance == 0 else abs(value - expected) <= tolerance * abs(expected)
    if ok:
        return Feedback(True, f"{what} = {expected:,}.")
    direction = "too high" if value > expected else "too low"
    return Feedback(False, f"{what}: you have {value:,g}, which is {direction}.", hint)

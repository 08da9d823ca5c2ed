"""The lessons' text as a reader sees it: no control characters (a "\a" in a non-raw Python string becomes BEL and
"\approx" renders as "pprox"), balanced $...$, and math that a LaTeX renderer accepts. The math is parsed by
matplotlib's mathtext, an independent TeX-subset parser; matrix environments, which mathtext lacks, are checked for
balance and their entries parsed one by one."""

from __future__ import annotations

import re
import unicodedata

import pytest

nbformat = pytest.importorskip("nbformat")
mathtext = pytest.importorskip("matplotlib.mathtext")

from resnext_edu import course  # noqa: E402

NOTEBOOKS = sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
ENVIRONMENTS = ("bmatrix", "pmatrix", "matrix", "aligned", "cases")
PARSER = mathtext.MathTextParser("path")


def markdown_cells(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def prose(text: str) -> str:
    """The markdown without fenced code blocks and inline code spans (a $ there is not math)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def math_segments(text: str) -> list[str]:
    """The $$...$$ and $...$ segments of ``text`` (raises AssertionError when a $ is left unpaired)."""
    text = text.replace(r"\$", "")
    segments = re.findall(r"\$\$(.+?)\$\$", text, flags=re.S)
    rest = re.sub(r"\$\$(.+?)\$\$", "", text, flags=re.S)
    assert "$$" not in rest, "an unclosed $$"
    assert rest.count("$") % 2 == 0, "an odd number of $: an unclosed inline formula"
    return segments + re.findall(r"\$(.+?)\$", rest, flags=re.S)


def parses(formula: str) -> str | None:
    """None when mathtext (with matrix environments unpacked) parses ``formula``, else the parser's complaint."""
    begins = re.findall(r"\\begin\{(\w+)\}", formula)
    ends = re.findall(r"\\end\{(\w+)\}", formula)
    if begins != ends[::-1] and sorted(begins) != sorted(ends):
        return f"unbalanced environments: begin {begins}, end {ends}"
    unknown = [env for env in begins if env not in ENVIRONMENTS]
    if unknown:
        return f"environment(s) {unknown} not in {ENVIRONMENTS}"
    flat = re.sub(r"\\(begin|end)\{\w+\}", " ", formula)
    for piece in re.split(r"&|\\\\", flat):
        piece = " ".join(piece.split())
        if not piece:
            continue
        try:
            PARSER.parse(f"${piece}$")
        except Exception as error:  # mathtext raises pyparsing's and ValueError
            return f"{piece!r}: {str(error).splitlines()[-1]}"
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_text_has_no_control_characters(path):
    for i, text in enumerate(markdown_cells(path)):
        bad = sorted(
            {
                f"U+{ord(ch):04X}"
                for ch in text
                if unicodedata.category(ch) == "Cc" and ch not in "\n\t"
            }
        )
        assert not bad, (
            f"{path.name}, markdown cell {i}: control characters {bad} (a non-raw string's \\a, \\b, \\f?)"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_math_is_balanced_and_renders(path):
    for i, text in enumerate(markdown_cells(path)):
        try:
            segments = math_segments(prose(text))
        except AssertionError as error:
            raise AssertionError(f"{path.name}, markdown cell {i}: {error}") from None
        for formula in segments:
            problem = parses(formula)
            assert problem is None, (
                f"{path.name}, markdown cell {i}: ${formula}$ does not render: {problem}"
            )


def test_the_checks_catch_what_they_are_for():
    assert parses(r"\ln 10 \approx 2.30") is None
    assert parses(r"\begin{bmatrix} W_1 & W_2 \end{bmatrix}") is None
    assert parses(r"\frac{a}{") is not None  # unbalanced braces
    assert parses(r"\begin{bmatrix} a \end{pmatrix}") is not None
    with pytest.raises(AssertionError, match="odd number"):
        math_segments("costs $C \\cdot d and more")
    assert "\a" in "\approx" and unicodedata.category("\a") == "Cc"  # the bug this file exists for

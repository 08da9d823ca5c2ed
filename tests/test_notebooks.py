"""The lessons, as committed and as executed top to bottom in quick mode (RESNEXT_EDU_QUICK=1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from resnext_edu import course  # noqa: E402

import lesson05_facts  # noqa: E402  (tests/lesson05_facts.py)
from kernel_client import NudgingClient  # noqa: E402  (tests/kernel_client.py)

NOTEBOOKS = sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
FACT = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")   # a number written with thousands separators
MAX_CELL_LINES = 30
# per lesson: numbers it prints, recomputed from their sources by the test (called with the lesson's printed text)
LESSON_CHECKS = {"05_cardinality_sweep": lesson05_facts.check}


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_there_are_lessons():
    assert len(NOTEBOOKS) >= 1, f"no lessons found in {course.NOTEBOOKS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean_with_badge_setup_and_structure(path):
    nb = read(path)
    for cell in code_cells(nb):
        assert not cell.get("outputs") and cell.get("execution_count") is None, \
            f"{path.name} is committed with outputs: clear them (Edit > Clear Outputs of All Cells) and save"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), "a title first"
    assert course.colab_badge(path.name) in first.source, \
        f"{path.name}: the Colab badge disagrees with resnext_edu/course.py; run `python -m resnext_edu.course`"
    setups = [c for c in code_cells(nb) if "google.colab" in c.source]
    assert len(setups) == 1 and setups[0].source == course.setup_cell(), \
        f"{path.name}: exactly one setup cell, as course.setup_cell() writes it (`python -m resnext_edu.course`)"
    assert code_cells(nb)[0] is setups[0], "the setup cell is the first code cell"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    for heading in ("what you will learn", "summary", "exercise"):
        assert heading in text, f"{path.name} lacks a '{heading}' section"
    assert any("quick_mode(" in c.source for c in code_cells(nb)), f"{path.name} has no quick-mode settings cell"
    long = [c.source.splitlines()[0] for c in code_cells(nb) if len(c.source.splitlines()) > MAX_CELL_LINES]
    assert not long, f"{path.name}: cells over {MAX_CELL_LINES} lines belong in the package: {long}"


def outputs_text(nb) -> str:
    parts = []
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            if "text" in output:
                parts.append(output["text"])
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    parts.append(output["data"][mime])
    return "\n".join(parts)


# the Chinese lessons (notebooks/zh/, written by python -m resnext_edu.translate) run and are checked alike
CHINESE = sorted((course.NOTEBOOKS / "zh").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.notebooks
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS + CHINESE,
                         ids=lambda p: f"zh-{p.stem}" if p in CHINESE else p.stem)
def test_lesson_runs_in_quick_mode_and_its_facts_are_measured(path, tmp_path, monkeypatch):
    """Runs every cell (an error fails the test), then checks that every number the lesson's text states with
    thousands separators (69,632; 25,028,904; ...) was printed by the package's own code in this run."""
    monkeypatch.setenv(course.QUICK_ENV, "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = read(path)
    client = NudgingClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            if output.output_type == "stream" and output.name == "stderr":
                assert "Traceback" not in output.text, f"{path.name}: {output.text[:500]}"
    printed = outputs_text(nb)
    stated = {m for c in nb.cells if c.cell_type == "markdown" for m in FACT.findall(c.source)}
    unmeasured = sorted(n for n in stated if n not in printed)
    assert not unmeasured, f"{path.name} states {unmeasured} in its text, but no cell printed them"
    if path.stem in LESSON_CHECKS:
        LESSON_CHECKS[path.stem](printed)

"""The lessons, as committed and as executed top to bottom in quick mode (RESNEXT_EDU_QUICK=1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

import lesson05_facts  # noqa: E402  (tests/lesson05_facts.py)
from kernel_client import NudgingClient  # noqa: E402  (tests/kernel_client.py)
from resnext_edu import course  # noqa: E402

NOTEBOOKS = sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
FACT = re.compile(
    r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])"
)  # a number written with thousands separators
MAX_CELL_LINES = 30


def lesson06_check(printed: str) -> None:
    """The learner's written-out step agrees with the package's train_step (the lesson prints which)."""
    assert "(the same step)" in printed, (
        "06: the loop written in the lesson and train.train_step disagree"
    )


# per lesson: numbers it prints, recomputed from their sources by the test (called with the lesson's printed text)
LESSON_CHECKS = {"05_cardinality_sweep": lesson05_facts.check, "06_train_resnext29": lesson06_check}


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
        assert not cell.get("outputs") and cell.get("execution_count") is None, (
            f"{path.name} is committed with outputs: clear them (Edit > Clear Outputs of All Cells) and save"
        )
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), "a title first"
    assert course.colab_badge(path.name) in first.source, (
        f"{path.name}: the Colab badge disagrees with resnext_edu/course.py; run `python -m resnext_edu.course`"
    )
    setups = [c for c in code_cells(nb) if "google.colab" in c.source]
    assert len(setups) == 1 and setups[0].source == course.setup_cell(), (
        f"{path.name}: exactly one setup cell, as course.setup_cell() writes it (`python -m resnext_edu.course`)"
    )
    assert code_cells(nb)[0] is setups[0], "the setup cell is the first code cell"
    assert (
        setups[0].metadata.get("cellView") == "form"
        and setups[0].metadata.get("jupyter", {}).get("source_hidden") is True
    ), (
        f"{path.name}: the setup cell is a hidden form cell (`python -m resnext_edu.course` writes its metadata)"
    )
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
    for heading in ("what you will learn", "summary", "exercise"):
        assert heading in text, f"{path.name} lacks a '{heading}' section"
    assert any("quick_mode(" in c.source for c in code_cells(nb)), (
        f"{path.name} has no quick-mode settings cell"
    )
    long = [
        c.source.splitlines()[0]
        for c in code_cells(nb)
        if len(c.source.splitlines()) > MAX_CELL_LINES
    ]
    assert not long, f"{path.name}: cells over {MAX_CELL_LINES} lines belong in the package: {long}"


WORDS = re.compile(r"\S+")
MAX_MARKDOWN_WORDS = 300  # issue 27: no markdown cell over about 300 words
MAX_LEARN_LINES = 3  # "What you will learn" in three lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_says_its_point_first_and_keeps_its_cells_short(path):
    """The first screen: the title, the badge and runtime line, then one bold sentence with the lesson's idea, and a
    link to the bilingual glossary; "What you will learn" in three bullets; no markdown cell over 300 words."""
    nb = read(path)
    first = nb.cells[0].source
    after_runtime = first.split("**Runtime:**", 1)[-1].split("\n", 1)[-1]
    paragraphs = [p.strip() for p in after_runtime.split("\n\n") if p.strip()]
    idea = paragraphs[0] if paragraphs else ""
    assert idea.startswith("**") and idea.endswith("**") and len(WORDS.findall(idea)) <= 45, (
        f"{path.name}: after the runtime line, one bold sentence of at most 45 words says the lesson's idea"
    )
    assert "](glossary.md)" in first, (
        f"{path.name}: the first cell links the glossary, [glossary](glossary.md)"
    )
    learn = next(
        c.source
        for c in nb.cells
        if c.cell_type == "markdown" and "## What you will learn" in c.source
    )
    section = learn.split("## What you will learn", 1)[1].split("\n\n**", 1)[0]
    bullets = [line for line in section.splitlines() if line.startswith("- ")]
    assert 1 <= len(bullets) <= MAX_LEARN_LINES, (
        f"{path.name}: 'What you will learn' has {len(bullets)} bullets"
    )
    long = [
        (i, len(WORDS.findall(c.source)))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown" and len(WORDS.findall(c.source)) > MAX_MARKDOWN_WORDS
    ]
    assert not long, (
        f"{path.name}: markdown cells over {MAX_MARKDOWN_WORDS} words (cell, words): {long}"
    )


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
@pytest.mark.parametrize(
    "path", NOTEBOOKS + CHINESE, ids=lambda p: f"zh-{p.stem}" if p in CHINESE else p.stem
)
def test_lesson_runs_in_quick_mode_and_its_facts_are_measured(path, tmp_path, monkeypatch):
    """Runs every cell (an error fails the test), then checks that every number the lesson's text states with
    thousands separators (69,632; 25,028,904; ...) was printed by the package's own code in this run."""
    monkeypatch.setenv(course.QUICK_ENV, "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = read(path)
    client = NudgingClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", (
                f"{path.name}: {output.get('ename')}: {output.get('evalue')}"
            )
            if output.output_type == "stream" and output.name == "stderr":
                assert "Traceback" not in output.text, f"{path.name}: {output.text[:500]}"
    printed = outputs_text(nb)
    stated = {m for c in nb.cells if c.cell_type == "markdown" for m in FACT.findall(c.source)}
    unmeasured = sorted(n for n in stated if n not in printed)
    assert not unmeasured, f"{path.name} states {unmeasured} in its text, but no cell printed them"
    if path.stem in LESSON_CHECKS:
        LESSON_CHECKS[path.stem](printed)


def test_glossary_pairs_the_courses_terms_in_english_and_chinese():
    """notebooks/glossary.md, the file every lesson links: one table row per term, English | 中文 | ..."""
    glossary = course.NOTEBOOKS / "glossary.md"
    rows = {}
    for line in glossary.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2:
            rows[cells[0]] = cells[1]
    wanted = {
        "cardinality $C$": "基数",
        "grouped convolution": "分组卷积",
        "split-transform-merge": "拆分-转换-合并",
        "bottleneck width $d$": "瓶颈宽度",
        "shortcut (identity shortcut)": "捷径连接（恒等映射）",
        "MAC (multiply-accumulate)": "乘加运算",
        "FLOPs": "浮点运算次数",
    }
    missing = {en: zh for en, zh in wanted.items() if rows.get(en) != zh}
    assert not missing, f"glossary.md lacks (English: 中文): {missing}"

"""The Chinese course: its lessons are the English ones (code cells equal, numbers, formulas, code and links kept),
its translations are current (a changed English cell fails here, naming the lesson and cell), its terms are the
glossary's, and the exercises' feedback speaks Chinese after ``course.language("zh")``.

The quick-mode runs of the Chinese lessons are in tests/test_notebooks.py, beside the English ones.
"""

from __future__ import annotations

import re
import shutil
import string
from decimal import Decimal
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("babel")

from resnext_edu import course, exercises, i18n, translate  # noqa: E402

LESSONS = translate.lessons()
TRANSLATED = translate.translated_lessons()
GLOSSARY = course.NOTEBOOKS / "glossary.md"
SOURCES = TRANSLATED + [
    GLOSSARY
]  # what the catalogs translate: the lessons' markdown, the glossary's table
IDS = {"ids": lambda path: path.stem}

FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
LINK_TARGET = re.compile(r"\]\(([^)\s]+)\)")
# a number, with the word that scales it: "50 thousand" in English is "5 万" or "50000" in Chinese
NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)(?:[\s-]*(thousand|million|billion|千|万|亿)(?![A-Za-z]))?")
SCALE = {
    "thousand": 10**3,
    "千": 10**3,
    "万": 10**4,
    "million": 10**6,
    "billion": 10**9,
    "亿": 10**8,
}


def number_value(digits: str, scale: str | None) -> str:
    """A number as written, read the same in both languages: 69,632 = 69632; 50 thousand = 5 万 = 50000. A version
    (0.1.0) or a decimal (2.30) stays as written."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", digits):
        digits = digits.replace(",", "")
    if not scale and re.fullmatch(r"\d+", digits):
        return str(int(digits))  # lesson 05 = 第 5 课
    if not scale or not re.fullmatch(r"\d+(?:\.\d+)?", digits):
        return digits
    value = Decimal(digits) * SCALE[scale]
    return str(value.quantize(1)) if value == value.to_integral() else str(value.normalize())


def read(path: Path):
    return nbformat.read(path, as_version=4)


def pieces(text: str) -> dict[str, set[str]]:
    """What a translation must keep from the English: formulas, inline code, link targets, and the numbers of the
    remaining prose (each as a set)."""
    formulas = set(FORMULA.findall(text))
    prose = FORMULA.sub(" ", text)
    code = {match.group(0) for match in CODE.finditer(prose)}
    prose = CODE.sub(" ", prose)
    links = set(LINK_TARGET.findall(prose))
    prose = LINK_TARGET.sub(" ", prose)
    return {
        "formula": formulas,
        "inline code": code,
        "link": links,
        "number": {number_value(digits, scale) for digits, scale in NUMBER.findall(prose)},
    }


def entries(lesson: Path) -> list:
    """The catalog's entries of the English cells as they are now (the staleness test covers the others)."""
    english = {unit.id: unit.source for unit in translate.units(lesson)}
    return [
        m
        for m in translate.read_catalog(translate.catalog_path(lesson))
        if m.id and m.string and english.get(m.context) == m.id
    ]


# --- Staleness ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS, **IDS)
def test_every_lesson_has_a_chinese_version(lesson):
    if lesson not in TRANSLATED:
        pytest.skip(
            f"{lesson.stem} is not translated yet (python -m resnext_edu.translate --start {lesson.name[:2]})"
        )
    assert translate.chinese_path(lesson).exists(), (
        "run `python -m resnext_edu.translate` to write it"
    )


@pytest.mark.parametrize("lesson", SOURCES, **IDS)
def test_translations_are_complete_and_current(lesson):
    found = translate.problems(lesson)
    assert not found, "stale or missing translations:\n" + "\n".join(found)


def _copy_lesson(lesson: Path, folder: Path) -> Path:
    """The English lesson and its catalog in a folder of the same layout, to change them there."""
    copy = folder / lesson.name
    shutil.copy(lesson, copy)
    translate.catalog_path(copy).parent.mkdir(parents=True)
    shutil.copy(translate.catalog_path(lesson), translate.catalog_path(copy))
    return copy


@pytest.mark.parametrize("lesson", TRANSLATED[:1], **IDS)
def test_a_changed_english_cell_is_named_and_its_translation_kept_as_fuzzy(lesson, tmp_path):
    copy = _copy_lesson(lesson, tmp_path)
    nb = read(copy)
    cell = translate.markdown_cells(nb)[1]
    old_text, old_translation = cell.source, translate.current_translations(copy)[cell.id]
    cell.source += "\n\nOne more sentence."
    nbformat.write(nb, copy)
    assert [line.split(":")[0] for line in translate.problems(copy)] == [
        f"{copy.stem}, cell {cell.id}"
    ]
    assert "+One more sentence." in translate.problems(copy)[0]  # the change is shown
    assert cell.id not in translate.current_translations(copy)  # the notebook keeps the English
    shown = next(c for c in translate.chinese_notebook(copy).cells if c.id == cell.id)
    assert shown.source == cell.source  # in English until translated

    translate.update_catalog(copy)  # the translator's first step
    message = next(
        m for m in translate.read_catalog(translate.catalog_path(copy)) if m.context == cell.id
    )
    assert message.fuzzy and message.string == old_translation
    assert (
        "fuzzy" in translate.problems(copy)[0]
        and "+One more sentence." in translate.problems(copy)[0]
    )
    translate.update_catalog(copy)  # a second update keeps it all
    catalog = translate.read_catalog(translate.catalog_path(copy))
    again = next(m for m in catalog if m.context == cell.id)
    assert (again.fuzzy, again.string) == (True, old_translation)
    assert translate.previous_english(catalog, cell.id) == old_text  # the English it translated

    again.string += "再加一句。"  # the translator's second step
    again.flags.discard("fuzzy")
    translate.catalog_path(copy).write_text(translate.catalog_text(catalog), encoding="utf-8")
    assert translate.problems(copy) == []
    translate.update_catalog(copy)
    assert (
        translate.previous_english(translate.read_catalog(translate.catalog_path(copy)), cell.id)
        is None
    )


@pytest.mark.parametrize("lesson", TRANSLATED[:1], **IDS)
def test_a_new_english_cell_has_no_translation_and_a_removed_one_is_kept_obsolete(lesson, tmp_path):
    copy = _copy_lesson(lesson, tmp_path)
    nb = read(copy)
    removed = translate.markdown_cells(nb)[-1]
    kept = translate.current_translations(copy)[removed.id]
    nb.cells.remove(removed)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new paragraph.", id="new-cell"))
    nbformat.write(nb, copy)
    assert translate.problems(copy) == [
        (
            f"{copy.stem}, cell new-cell: no translation "
            "(run `python -m resnext_edu.translate`, then translate it)"
        )
    ]
    translate.update_catalog(copy)
    catalog = translate.read_catalog(translate.catalog_path(copy))
    assert [m.string for m in catalog.obsolete.values()] == [kept]  # nothing translated is lost
    nb.cells.append(nbformat.v4.new_markdown_cell(removed.source, id="moved"))
    nbformat.write(nb, copy)
    translate.update_catalog(copy)  # the same English under a new id
    assert translate.current_translations(copy)["moved"] == kept
    assert "not translated yet" in translate.problems(copy)[0]


# --- One source: the Chinese notebooks are generated from the English ones ----------------------------------


@pytest.mark.parametrize("lesson", TRANSLATED, **IDS)
def test_chinese_notebook_is_written_from_its_sources(lesson):
    written = translate.chinese_path(lesson).read_text(encoding="utf-8")
    assert written == nbformat.writes(translate.chinese_notebook(lesson)) + "\n", (
        f"notebooks/zh/{lesson.name} differs from what its English lesson and catalog give: it is generated, "
        "edit the catalog instead and run `python -m resnext_edu.translate`"
    )


@pytest.mark.parametrize("lesson", TRANSLATED, **IDS)
def test_code_cells_are_the_english_ones(lesson):
    english, chinese = read(lesson), read(translate.chinese_path(lesson))
    mine = [c for c in chinese.cells if c.cell_type == "code"]
    added = [c for c in mine if c.id == translate.LANGUAGE_CELL_ID]
    theirs = [c for c in english.cells if c.cell_type == "code"]
    assert [dict(c) for c in mine if c not in added] == [dict(c) for c in theirs]
    assert len(added) == 1 and mine.index(added[0]) == 1, (
        "one language cell, right after the setup cell"
    )
    assert 'course.language("zh")' in added[0].source and not added[0].outputs
    assert chinese.metadata.get("accelerator") == english.metadata.get("accelerator")


@pytest.mark.parametrize("lesson", TRANSLATED, **IDS)
def test_chinese_lesson_has_its_badge_notice_and_sections(lesson):
    chinese = read(translate.chinese_path(lesson))
    title = chinese.cells[0].source
    assert title.startswith("# ") and course.colab_badge(f"zh/{lesson.name}") in title
    assert course.colab_badge(lesson.name) not in title
    notice = chinese.cells[1]
    assert notice.id == translate.NOTICE_ID and "术语表" in notice.source
    assert (translate.chinese_path(lesson).parent / translate.GLOSSARY).exists()
    text = "\n".join(c.source for c in chinese.cells if c.cell_type == "markdown")
    for heading in ("## 你将学到", "## 小结", "## 练习"):
        assert heading in text, f"zh/{lesson.name} lacks a '{heading}' section"


@pytest.mark.parametrize("lesson", TRANSLATED, **IDS)
def test_relative_links_resolve_from_the_chinese_folder(lesson):
    chinese = translate.chinese_path(lesson)
    for cell in translate.markdown_cells(read(chinese)):
        for target in LINK_TARGET.findall(cell.source):
            if not re.match(r"[a-z]+:|#", target):
                assert (chinese.parent / target.split("#")[0]).exists(), (
                    f"zh/{lesson.name}, cell {cell.id}: {target}"
                )


def test_chinese_glossary_is_written_from_its_sources_and_keeps_the_terms():
    chinese = (course.NOTEBOOKS / "zh" / translate.GLOSSARY).read_text(encoding="utf-8")
    assert chinese == translate.chinese_glossary(), (
        "notebooks/zh/glossary.md is generated: edit notebooks/glossary.md or translations/glossary.po, then run "
        "`python -m resnext_edu.translate`"
    )
    terms = {cells[0]: cells[1] for cells in _rows(GLOSSARY.read_text(encoding="utf-8"))}
    assert {cells[0]: cells[1] for cells in _rows(chinese)} == terms, (
        "the English and Chinese terms stay as they are"
    )
    assert "| English | 中文 | 含义 |" in chinese


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]


# --- What a translation keeps ---------------------------------------------------------------------------------


def test_pieces_finds_formulas_code_links_and_numbers():
    text = r"Take $C = 32$ and `groups=C` in [lesson 2](02_x.ipynb): 25,028,904 params, 4.2 GFLOPs, fp32."
    assert pieces(text) == {
        "formula": {"$C = 32$"},
        "inline code": {"`groups=C`"},
        "link": {"02_x.ipynb"},
        "number": {"2", "25028904", "4.2", "32"},
    }
    english, chinese = (
        pieces("50 thousand images, 1.5 thousand, v0.1.0"),
        pieces("5 万张图像，1500，v0.1.0"),
    )
    assert english["number"] == chinese["number"] == {"50000", "1500", "0.1.0"}
    assert pieces("10 classes, 2.30")["number"] == {"10", "2.30"} != pieces("1 万")["number"]
    assert pieces("lesson 05")["number"] == pieces("第 5 课")["number"] == {"5"}


@pytest.mark.parametrize("lesson", SOURCES, **IDS)
def test_translations_keep_numbers_formulas_code_and_links(lesson):
    wrong = []
    for message in entries(lesson):
        english, chinese = pieces(message.id), pieces(message.string)
        for kind in english:
            lost = sorted(english[kind] - chinese[kind])
            if lost:
                wrong.append(f"cell {message.context}: the translation lacks the {kind} {lost}")
        added = sorted(chinese["number"] - english["number"])
        if added:
            wrong.append(
                f"cell {message.context}: the translation states numbers the English does not: {added}"
            )
    assert not wrong, f"{lesson.stem}:\n" + "\n".join(wrong)


def _rendered(text: str) -> str:
    """The HTML of a markdown cell by CommonMark's rules (formulas and code spans set aside, as Jupyter does)."""
    from markdown_it import MarkdownIt

    text = CODE.sub("CODE", FORMULA.sub("MATH", text))
    return MarkdownIt("commonmark").enable("table").render(text)


@pytest.mark.parametrize("lesson", SOURCES, **IDS)
def test_emphasis_renders_beside_chinese_punctuation(lesson):
    """CommonMark does not close ``**运行环境：**CPU`` (a closing ``**`` after a full-width colon must be followed by a
    space or punctuation): the reader would see the asterisks. Every ``*`` the English renders away must go in the
    translation too."""
    pytest.importorskip("markdown_it")
    wrong = [
        m.context
        for m in entries(lesson)
        if _rendered(m.string).count("*") > _rendered(m.id).count("*")
    ]
    assert not wrong, (
        f"{lesson.stem}: cells {wrong} show asterisks (put a space after the closing ** or *)"
    )


def test_rendering_finds_unclosed_emphasis():
    pytest.importorskip("markdown_it")
    assert "*" in _rendered("**运行环境：**CPU") and "*" not in _rendered(
        "**运行环境：** CPU，`a*b`"
    )


# --- The glossary -----------------------------------------------------------------------------------------------


def _variants(term: str, comma: str) -> list[str]:
    term = re.sub(r"\$[^$]*\$|\([^)]*\)|（[^）]*）", "", term)
    return [part.strip() for part in term.split(comma) if part.strip()]


def glossary() -> list[tuple[str, str]]:
    """(English term, Chinese term) pairs of notebooks/glossary.md's table, longest English first. A row whose two
    columns do not split into the same number of terms (e.g. "form A / B / C") is left to the reader."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in GLOSSARY.read_text(encoding="utf-8").splitlines()
        if line.startswith("|")
    ]
    header = rows[0]
    en, zh = header.index("English"), header.index("中文")
    pairs = []
    for row in rows[2:]:
        english, chinese = _variants(row[en], ","), _variants(row[zh], "，")
        if len(english) == len(chinese) and not any("/" in term for term in english):
            pairs += zip(english, chinese)
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def glossary_slips(english: str, chinese: str, terms: list[tuple[str, str]]) -> list[str]:
    """The glossary terms used in the English prose (not in code or formulas) whose Chinese term is missing."""
    prose = CODE.sub(" ", FORMULA.sub(" ", english))
    prose = re.sub(
        r"\*[A-Z][^*]+\*", " ", prose
    )  # a title in italics (the paper's) stays in English
    slips = []
    for term, chinese_term in terms:
        acronym = any(letter.isupper() for letter in term[1:])  # MAC is not a Mac; FLOPs
        pattern = re.compile(
            rf"(?<![\w-]){re.escape(term)}(?:s|es)?(?![\w-])", 0 if acronym else re.IGNORECASE
        )
        if pattern.search(prose):
            if chinese_term not in chinese:
                slips.append(f"'{term}' is {chinese_term}")
            prose = pattern.sub(" ", prose)  # "projection shortcut" is not also "shortcut"
    return slips


def test_glossary_is_read_and_checked():
    terms = glossary()
    assert ("cardinality", "基数") in terms and ("grouped convolution", "分组卷积") in terms
    assert ("split-transform-merge", "拆分-转换-合并") in terms
    assert glossary_slips("the cardinality $C$ of `cardinality=32`", "基数 $C$", terms) == []
    assert glossary_slips("a projection shortcut", "投影捷径", terms) == []
    assert (
        glossary_slips("a Mac", "Mac", terms) == [] and glossary_slips("MACs", "MACs", terms) != []
    )
    assert glossary_slips("grouped convolutions", "组卷积", terms) == [
        "'grouped convolution' is 分组卷积"
    ]


@pytest.mark.parametrize("lesson", SOURCES, **IDS)
def test_translations_use_the_glossary(lesson):
    terms = glossary()
    wrong = [
        f"cell {m.context}: {slip}"
        for m in entries(lesson)
        for slip in glossary_slips(m.id, m.string, terms)
    ]
    assert not wrong, f"{lesson.stem} (notebooks/glossary.md):\n" + "\n".join(wrong)


# --- The exercises' feedback ------------------------------------------------------------------------------------


@pytest.fixture
def chinese():
    i18n.language("zh")
    yield
    i18n.language("en")


def test_package_catalog_is_complete_and_compiled():
    catalog = translate.read_catalog(translate.PACKAGE_PO)
    translated = {m.id: m for m in catalog if m.id}
    marked = [m.id for m in translate.extracted_messages() if m.id]
    missing = [
        m for m in marked if m not in translated or not translated[m].string or translated[m].fuzzy
    ]
    assert not missing, (
        f"{translate.PACKAGE_PO.name} lacks current translations of {missing} "
        "(run `python -m resnext_edu.translate`, then translate them)"
    )
    assert translate.PACKAGE_MO.read_bytes() == translate.compiled(translate.PACKAGE_PO), (
        "the .mo file is older than its .po: run `python -m resnext_edu.translate`"
    )


def _fields(text: str) -> list[str]:
    return sorted(
        field
        for _, field, spec, conversion in string.Formatter().parse(text)
        if field is not None
        for field in [f"{field}!{conversion}:{spec}"]
    )


def test_package_translations_keep_the_placeholders():
    wrong = [
        (m.id, m.string)
        for m in translate.read_catalog(translate.PACKAGE_PO)
        if m.id and m.string and _fields(m.id) != _fields(m.string)
    ]
    assert not wrong, f"these translations change the {{placeholders}} the code fills in: {wrong}"


def test_feedback_speaks_chinese_after_language_zh(chinese):
    assert i18n.language() == "zh"
    feedback = exercises.check_number(3, 4, what="参数量", hint="数一数偏置")
    assert str(feedback) == "还不对。参数量：你的答案是 3，偏小了。\n提示：数一数偏置"
    assert "正确！" in exercises.check_number(4, 4, what="x")._repr_html_()


def test_feedback_is_english_by_default_and_after_language_en(chinese):
    i18n.language("en")
    assert (
        str(exercises.check_number(3, 4, what="the count"))
        == "Not yet. the count: you have 3, which is too low."
    )


def test_an_unknown_language_says_which_there_are():
    with pytest.raises(ValueError, match=r"en, zh.*language\(\"zh\"\)"):
        i18n.language("fr")
    assert i18n.language() == "en"


def test_course_language_is_the_one_of_i18n():
    assert course.language is i18n.language

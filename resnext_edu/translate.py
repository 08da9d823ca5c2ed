"""The Chinese lessons, written from the English ones and their translations (gettext catalogs), never by hand.

    python -m resnext_edu.translate            # update the catalogs, write notebooks/zh/, compile the package's
    python -m resnext_edu.translate --check    # only say what is untranslated or stale (exit status 1 if any)

One catalog per lesson, ``notebooks/zh/translations/<lesson>.po``, in gettext's PO format (Poedit, Weblate or any
text editor open it): one entry per markdown cell of the English lesson, whose ``msgctxt`` is the cell's id and whose
``msgid`` is the cell's English text, so an entry records exactly the English it translates. When the English cell
changes, the update keeps the translation, marks it ``fuzzy`` and keeps the entry as it was (the English it translated)
beside it as an obsolete ``#~`` entry with the same ``msgctxt``; the staleness test fails, showing what changed,
until a translator updates ``msgstr`` and removes the flag (the next update then drops the obsolete entry).
A translation of a cell whose id is gone stays in the file as an obsolete ``#~`` entry, and is reused if a cell with
the same English text comes back under another id.

A Chinese lesson ``notebooks/zh/<lesson>.ipynb`` is the English one with each markdown cell replaced by its current
translation (an untranslated or stale cell stays in English), its Colab badge pointing to the Chinese notebook, a note
under the title (figures and printed tables stay in English; the glossary), and one code cell after the setup cell,
``course.language("zh")``, that makes the exercises' feedback Chinese. Every code cell is the English one, unchanged.

The glossary's table (``notebooks/glossary.md``: its meanings and column names) has a catalog too,
``translations/glossary.po``, keyed by "<English term> | <column>"; ``notebooks/zh/glossary.md`` is written from both.

The feedback itself is translated in the package's catalog ``resnext_edu/locale/zh/LC_MESSAGES/resnext_edu.po``
(messages marked with :func:`resnext_edu.i18n._`, extracted from the package's sources); this step compiles it to the
``.mo`` file that Python's gettext reads at run time.

Babel (a dependency of JupyterLab, and of the test extras) reads and writes the catalogs.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import io
import re
import sys
from pathlib import Path
from typing import NamedTuple

from . import course, i18n

LANGUAGE = "zh"
PACKAGE = Path(__file__).resolve().parent
PACKAGE_PO = i18n.LOCALE / LANGUAGE / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
PACKAGE_MO = PACKAGE_PO.with_suffix(".mo")
GLOSSARY = "glossary.md"  # the bilingual glossary (notebooks/glossary.md), copied beside the Chinese lessons
NOTICE_ID = "zh-notice"
LANGUAGE_CELL_ID = "zh-language"
NOTICE = (
    "> **关于中文版**：本课由英文原版生成，代码单元与英文版完全相同，只翻译了文字。图中的标注和"
    "程序包打印的表格保持英文；正文里的数字都由代码单元计算并打印，请以运行输出为准。"
    f"术语的中英对照见[术语表]({GLOSSARY})（例如 cardinality 基数、grouped convolution 分组卷积、"
    "split-transform-merge 拆分-转换-合并）。"
)
LANGUAGE_CELL = (
    "from resnext_edu import course\n"
    f'course.language("{LANGUAGE}")   # 练习的反馈与提示用中文显示（course.language("en") 换回英文）'
)


def lessons() -> list[Path]:
    """The English lessons (``notebooks/NN_*.ipynb``)."""
    return sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def catalog_path(lesson: Path) -> Path:
    """``notebooks/zh/translations/<lesson>.po`` beside the English ``notebooks/<lesson>.ipynb``."""
    return lesson.parent / LANGUAGE / "translations" / f"{lesson.stem}.po"


def chinese_path(lesson: Path) -> Path:
    """``notebooks/zh/<lesson>.ipynb``."""
    return lesson.parent / LANGUAGE / lesson.name


def translated_lessons() -> list[Path]:
    """The English lessons that have a catalog (the lessons of the Chinese course)."""
    return [lesson for lesson in lessons() if catalog_path(lesson).exists()]


class Unit(NamedTuple):
    """One piece of English a catalog entry translates: a markdown cell, or a cell of the glossary's table."""

    id: str  # the entry's msgctxt: the cell's id, or "<English term> | <column>" in the glossary
    source: str  # the English text
    where: str  # for the translator: the file and the cell


def units(source: Path) -> list[Unit]:
    """The English of ``source`` that its catalog translates: a lesson's markdown cells; the glossary's table
    cells other than the English and Chinese terms (its meanings and its column names)."""
    import nbformat

    if source.suffix != ".ipynb":
        return glossary_units(source)
    nb = nbformat.read(source, as_version=4)
    return [
        Unit(cell.id, cell.source, f"{source.name}, cell {index}")
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
    ]


def _table(text: str) -> list[tuple[int, list[str]]]:
    """The rows of the markdown table in ``text``: (line number, its cells), the separator row left out."""
    rows = []
    for number, line in enumerate(text.splitlines()):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and not all(set(cell) <= set("-: ") for cell in cells):
            rows.append((number, cells))
    return rows


def _translatable(header: list[str], column: int, text: str) -> bool:
    return header[column] not in ("English", "中文") and any(ch.isalpha() for ch in text)


def glossary_units(path: Path) -> list[Unit]:
    rows = _table(path.read_text(encoding="utf-8"))
    header = rows[0][1]
    found = [
        Unit(f"header | {name}", name, f"{path.name}, the table's header")
        for column, name in enumerate(header)
        if _translatable(header, column, name)
    ]
    for number, cells in rows[1:]:
        for column, text in enumerate(cells):
            if _translatable(header, column, text):
                found.append(
                    Unit(
                        f"{cells[header.index('English')]} | {header[column]}",
                        text,
                        f"{path.name}, line {number + 1}",
                    )
                )
    return found


def markdown_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


# ---------------------------------------------------------------------------------------------------------------
# Catalogs


def _new_catalog(domain: str):
    from babel.messages.catalog import Catalog

    return Catalog(
        locale=LANGUAGE,
        domain=domain,
        project="resnext-edu",
        version=course.REVISION,
        copyright_holder="the resnext-edu authors",
        fuzzy=False,
        msgid_bugs_address=f"{course.REPO_URL}/issues",
        header_comment=f"# Simplified Chinese translation of resnext-edu's {domain}.\n"
        "# Written by `python -m resnext_edu.translate`; translate the msgstr entries.",
    )


def read_catalog(path: Path):
    """A PO file as a Babel catalog (its obsolete entries included)."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as file:
        return read_po(file, locale=LANGUAGE)


def catalog_text(catalog) -> str:
    """The PO text, one PO line per line of the cell (no re-wrapping)."""
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, omit_header=False)
    return buffer.getvalue().decode("utf-8")


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _without_dates(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if "-Date:" not in line)


def _key(message):
    return (message.id, message.context) if message.context else message.id


SIMILAR = 0.5  # how alike two English texts must be for a translation to carry over, flagged fuzzy (difflib's ratio)


def merged_catalog(lesson: Path, old=None):
    """The catalog of ``lesson``'s markdown cells, carrying over the translations of ``old`` (see the module).

    Like gettext's msgmerge, in this order: a cell with the same id and English keeps its entry; a cell whose English
    some translation translated (a cell that moved, or English that changed back) takes it; a cell with the same id
    and other English keeps its translation, flagged ``fuzzy``; a cell with a new id takes, flagged ``fuzzy``, the
    translation of the most similar English among the entries no cell kept (a rewritten lesson with new cell ids).
    The entry a fuzzy translation came from (the English it translated) stays beside it as an obsolete entry with
    the cell's ``msgctxt`` (gettext's ``#| msgid`` lines would say the same, but Babel cannot write them for text of
    several lines); so does every translation no cell took."""
    from babel.messages.catalog import Message

    cells = units(lesson)
    catalog = _new_catalog(lesson.stem)
    current = [m for m in old if m.id] if old is not None else []
    obsolete = list(old.obsolete.values()) if old is not None else []
    if old is not None:
        catalog.creation_date, catalog.revision_date = old.creation_date, old.revision_date
        catalog.last_translator, catalog.language_team = old.last_translator, old.language_team
    by_cell = {m.context: m for m in current}
    translated_from = {
        m.context: m for m in obsolete if m.context in by_cell and by_cell[m.context].fuzzy
    }
    exact = {m.id: m for m in [*obsolete, *current] if m.string and not m.fuzzy}
    found = {}  # cell id -> (translation, fuzzy, comments, the entry it came from if fuzzy)
    for cell in cells:
        before = by_cell.get(cell.id)
        if before is not None and before.string and before.id == cell.source:
            found[cell.id] = (
                before.string,
                before.fuzzy,
                before.user_comments,
                translated_from.get(cell.id),
            )
        elif cell.source in exact:
            found[cell.id] = (
                exact[cell.source].string,
                False,
                exact[cell.source].user_comments,
                None,
            )
    for cell in cells:
        before = by_cell.get(cell.id)
        if cell.id not in found and before is not None and before.string:
            source = translated_from.get(cell.id) if before.fuzzy else before
            found[cell.id] = (before.string, True, before.user_comments, source)
    taken = {found[c.id][0] for c in cells if c.id in found}
    ids = {cell.id for cell in cells}
    unused = [
        m
        for m in [*current, *obsolete]
        if m.string and not m.fuzzy and m.context not in ids and m.string not in taken
    ]
    for cell in cells:
        if cell.id in found or not unused:
            continue
        ratio, best = max(
            (difflib.SequenceMatcher(None, m.id, cell.source, autojunk=False).ratio(), i)
            for i, m in enumerate(unused)
        )
        if ratio >= SIMILAR:
            source = unused.pop(best)
            found[cell.id] = (source.string, True, source.user_comments, source)
    for cell in cells:
        string, fuzzy, comments, source = found.get(cell.id, ("", False, [], None))
        catalog.add(
            cell.source,
            string,
            context=cell.id,
            flags={"fuzzy"} if fuzzy else set(),
            auto_comments=[cell.where],
            user_comments=comments,
        )
        if fuzzy and source is not None:
            catalog.obsolete[(source.id, cell.id)] = Message(
                source.id, source.string, context=cell.id
            )
    for message in unused:
        catalog.obsolete[_key(message)] = Message(
            message.id, message.string, context=message.context, user_comments=message.user_comments
        )
    return catalog


def previous_english(catalog, cell_id: str) -> str | None:
    """The English that the fuzzy translation of cell ``cell_id`` translated (its obsolete entry), if any."""
    return next((m.id for m in catalog.obsolete.values() if m.context == cell_id), None)


def update_catalog(lesson: Path) -> bool:
    """Create or update ``lesson``'s catalog from the English notebook; returns whether the file changed."""
    path = catalog_path(lesson)
    old = read_catalog(path) if path.exists() else None
    text = catalog_text(merged_catalog(lesson, old))
    if path.exists() and _without_dates(path.read_text(encoding="utf-8")) == _without_dates(text):
        return False
    return _write_if_changed(path, text)


def _diff(before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(True),
            after.splitlines(True),
            "translated English",
            "English now",
            n=0,
        )
    )


def problems(lesson: Path) -> list[str]:
    """What keeps ``lesson``'s Chinese version from being complete and current, one line per cell (empty if none)."""
    path = catalog_path(lesson)
    if not path.exists():
        return [
            (
                f"{lesson.stem}: no catalog {path.name} (run `python -m resnext_edu.translate --start "
                f"{lesson.name[:2]}` to start one)"
            )
        ]
    catalog = read_catalog(path)
    by_cell = {m.context: m for m in catalog if m.id}
    found = []
    for cell in units(lesson):
        where = f"{lesson.stem}, cell {cell.id}"
        message = by_cell.get(cell.id)
        if message is None:
            found.append(
                f"{where}: no translation (run `python -m resnext_edu.translate`, then translate it)"
            )
        elif message.id != cell.source:
            found.append(
                f"{where}: the English changed after its translation (run `python -m resnext_edu.translate`"
                f", then update the fuzzy entry):\n{_diff(message.id, cell.source)}"
            )
        elif not message.string:
            found.append(f"{where}: not translated yet (empty msgstr)")
        elif message.fuzzy:
            before = previous_english(catalog, cell.id)
            shown = f":\n{_diff(before, cell.source)}" if before else ""
            found.append(
                f"{where}: fuzzy: the English changed after its translation; update the msgstr, then "
                f"remove the fuzzy flag (the obsolete #~ entry with this msgctxt is the English it "
                f"translated){shown}"
            )
    return found


def current_translations(lesson: Path) -> dict[str, str]:
    """Cell id -> Chinese text, for the cells whose translation is current (not fuzzy, same English)."""

    if not catalog_path(lesson).exists():
        return {}
    catalog = read_catalog(catalog_path(lesson))
    english = {cell.id: cell.source for cell in units(lesson)}
    return {
        m.context: m.string
        for m in catalog
        if m.id and m.string and not m.fuzzy and english.get(m.context) == m.id
    }


# ---------------------------------------------------------------------------------------------------------------
# Notebooks


LINK = re.compile(r"(\]\()([^)\s]+)\)")  # a markdown link's target: [text](target)


def _target_from_zh(target: str, lesson: Path) -> str:
    """A link target of an English lesson as seen from notebooks/zh/: the Chinese lesson where there is one (and
    the glossary's copy), else the English file one folder up. Web addresses and anchors stay as they are."""
    if re.match(r"[a-z][a-z0-9+.-]*:|#|/", target):
        return target
    name = target.split("#", 1)[0]
    translated = name.endswith(".ipynb") and catalog_path(lesson.parent / name).exists()
    return target if translated or name == GLOSSARY else f"../{target}"


def chinese_glossary(folder: Path = course.NOTEBOOKS) -> str:
    """notebooks/zh/glossary.md: the bilingual glossary of ``folder/glossary.md`` beside the Chinese lessons (which
    link to it in JupyterLab, on Colab and on the website), its table's meanings and column names in Chinese where
    ``translations/glossary.po`` has them."""
    path = folder / GLOSSARY
    lines = path.read_text(encoding="utf-8").splitlines()
    translations = current_translations(path)
    rows = _table("\n".join(lines))
    header = rows[0][1]
    for number, cells in rows:
        key = "header" if number == rows[0][0] else cells[header.index("English")]
        cells = [
            translations.get(f"{key} | {header[column]}", text) for column, text in enumerate(cells)
        ]
        lines[number] = "| " + " | ".join(cells) + " |"
    note = f"<!-- Written from ../{GLOSSARY} and translations/glossary.po by `python -m resnext_edu.translate`. -->"
    return note + "\n" + "\n".join(lines) + "\n"


def write_chinese_glossary(folder: Path = course.NOTEBOOKS) -> bool:
    return _write_if_changed(folder / LANGUAGE / GLOSSARY, chinese_glossary(folder))


def chinese_notebook(lesson: Path):
    """The Chinese notebook of ``lesson``: see the module's docstring."""
    import nbformat

    nb = nbformat.read(lesson, as_version=4)
    zh = copy.deepcopy(nb)
    translations = current_translations(lesson)
    english_badge, chinese_badge = (
        course.colab_badge(lesson.name),
        course.colab_badge(f"{LANGUAGE}/{lesson.name}"),
    )
    cells = []
    for cell in zh.cells:
        if cell.cell_type == "markdown":
            text = translations.get(cell.id, cell.source).replace(english_badge, chinese_badge)
            cell.source = LINK.sub(
                lambda match: match[1] + _target_from_zh(match[2], lesson) + ")", text
            )
        cells.append(cell)
        if cell is zh.cells[0]:
            cells.append(nbformat.v4.new_markdown_cell(NOTICE, id=NOTICE_ID))
        if cell.cell_type == "code" and "google.colab" in cell.source:  # the setup cell
            cells.append(nbformat.v4.new_code_cell(LANGUAGE_CELL, id=LANGUAGE_CELL_ID))
    zh.cells = cells
    zh.metadata["resnext_edu"] = {"language": LANGUAGE, "translated_from": f"../{lesson.name}"}
    return zh


def write_chinese_notebook(lesson: Path) -> bool:
    import nbformat

    return _write_if_changed(chinese_path(lesson), nbformat.writes(chinese_notebook(lesson)) + "\n")


# ---------------------------------------------------------------------------------------------------------------
# The package's messages (the exercises' feedback)


def extracted_messages():
    """The messages of the package's sources marked with ``_()`` or ``N_()`` (Babel's Python extractor)."""
    from babel.messages.extract import extract_from_dir

    template = _new_catalog(i18n.DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, comment_tags=("TRANSLATORS:",)
    ):
        template.add(
            message,
            None,
            [(f"resnext_edu/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def update_package_catalog() -> bool:
    """Merge the extracted messages into the package's PO file (gettext's msgmerge: new entries empty, changed ones
    fuzzy) and compile it to the ``.mo`` file gettext reads (fuzzy entries left out); returns whether either changed."""
    catalog = read_catalog(PACKAGE_PO) if PACKAGE_PO.exists() else _new_catalog(i18n.DOMAIN)
    catalog.update(extracted_messages(), update_creation_date=False)
    text = catalog_text(catalog)
    changed = not PACKAGE_PO.exists() or _without_dates(
        PACKAGE_PO.read_text(encoding="utf-8")
    ) != _without_dates(text)
    if changed:
        _write_if_changed(PACKAGE_PO, text)
    return compile_package_catalog() or changed


def compiled(po: Path) -> bytes:
    """The ``.mo`` bytes of the PO file ``po`` (Babel's msgfmt; fuzzy and empty entries left out)."""
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(po), use_fuzzy=False)
    return buffer.getvalue()


def compile_package_catalog() -> bool:
    data = compiled(PACKAGE_PO)
    if PACKAGE_MO.exists() and PACKAGE_MO.read_bytes() == data:
        return False
    PACKAGE_MO.write_bytes(data)
    return True


# ---------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m resnext_edu.translate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; list what is untranslated or stale"
    )
    parser.add_argument(
        "--start",
        metavar="NN",
        action="append",
        default=[],
        help="start the catalog of lesson NN (e.g. --start 05), then update it like the others",
    )
    args = parser.parse_args(argv)
    starting = [lesson for lesson in lessons() if lesson.name[:2] in args.start]
    unknown = set(args.start) - {lesson.name[:2] for lesson in starting}
    if unknown:
        parser.error(f"no English lesson {', '.join(sorted(unknown))} in {course.NOTEBOOKS}")
    chosen = sorted(set(translated_lessons()) | set(starting))
    if not args.check:
        for lesson in chosen:
            if update_catalog(lesson):
                print(f"updated {catalog_path(lesson).relative_to(course.NOTEBOOKS.parent)}")
            if write_chinese_notebook(lesson):
                print(f"wrote {chinese_path(lesson).relative_to(course.NOTEBOOKS.parent)}")
        glossary = course.NOTEBOOKS / GLOSSARY
        if chosen and glossary.exists() and update_catalog(glossary):
            print(f"updated {catalog_path(glossary).relative_to(course.NOTEBOOKS.parent)}")
        if chosen and write_chinese_glossary():
            print(f"wrote notebooks/{LANGUAGE}/{GLOSSARY}")
        if update_package_catalog():
            print(f"updated {PACKAGE_PO.relative_to(PACKAGE.parent)} and its .mo")
    glossary = course.NOTEBOOKS / GLOSSARY
    sources = chosen + ([glossary] if catalog_path(glossary).exists() else [])
    found = [line for source in sources for line in problems(source)]
    missing = [lesson.stem for lesson in lessons() if lesson not in chosen]
    print(
        "\n".join(found)
        if found
        else f"every catalog is complete and current: {', '.join(p.stem for p in chosen)}"
    )
    if missing:
        print("not translated yet: " + ", ".join(missing))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

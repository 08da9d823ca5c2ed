"""The website's language switch (site/_ext/language_switch.py) lands on the same page of the other edition."""

from __future__ import annotations

import posixpath
import sys
from pathlib import Path
from types import SimpleNamespace

from resnext_edu import translate

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "site" / "_ext"))

import language_switch  # noqa: E402  (site/_ext/language_switch.py, put on the path above)

# where make site writes each edition, relative to site/_build/html
ROOTS = {"en": "", "zh_CN": "zh/"}


def landing(language: str, pagename: str) -> str:
    """The file the switch of page ``pagename`` of edition ``language`` opens, relative to site/_build/html."""
    url, _, _ = language_switch.other_edition(language, pagename)
    here = posixpath.dirname(ROOTS[language] + pagename)
    return posixpath.normpath(posixpath.join(here, url))


def test_the_switch_lands_on_the_same_page_of_the_other_edition():
    for page in ("index", "reference", "notebooks/glossary", "notebooks/03_three_equivalent_forms"):
        assert landing("en", page) == f"zh/{page}.html"
        assert landing("zh_CN", page) == f"{page}.html"


def test_every_chinese_lesson_has_its_english_page_and_back():
    chinese = {path.name for path in translate.lessons() if translate.chinese_path(path).exists()}
    english = {path.name for path in translate.lessons()}
    assert chinese == english, f"lessons without a Chinese page: {sorted(english - chinese)}"
    assert (translate.chinese_path(translate.lessons()[0]).parent / "glossary.md").exists()


def test_the_link_is_put_above_the_body_in_the_other_language():
    context = {"body": "<h1>Lesson 3</h1>"}
    app = SimpleNamespace(config=SimpleNamespace(language="en"))
    language_switch.add_switch(
        app, "notebooks/03_three_equivalent_forms", "page.html", context, doctree=object()
    )
    assert context["body"].startswith(
        '<p class="resnext-edu-language-switch"><a href="'
        '../zh/notebooks/03_three_equivalent_forms.html" hreflang="zh-Hans"'
    )
    assert context["body"].endswith(">中文</a></p>\n<h1>Lesson 3</h1>")
    other = {"body": "x"}
    language_switch.add_switch(
        SimpleNamespace(config=SimpleNamespace(language="fr")),
        "index",
        "page.html",
        other,
        doctree=object(),
    )
    assert other == {"body": "x"}, "an edition the switch does not know gets no link"

"""The website's language switch: every page of one edition links to the same page of the other.

The English edition is built from ``notebooks/`` into ``site/_build/html``, the Chinese one from ``notebooks/zh/``
(written by ``python -m resnext_edu.translate``) into ``site/_build/html/zh``; a lesson has the same file name in
both, so its page has the same name (``notebooks/03_three_equivalent_forms.html``) and the switch is a relative link:
from an English page to ``zh/<page>``, from a Chinese page to ``../<page>``. The link is put at the top of the
page's body, so it needs nothing of the theme.

To use it (with site/build.py's ``--language`` and ``--notebooks``):

* ``site/conf.py``: add ``"language_switch"`` to ``extensions``;
* ``make site``: after the English build, ``site/build.py --language zh_CN --notebooks notebooks/zh
  --out site/_build/html/zh``;
* the Chinese home page: ``site/pages/zh_CN/index.md`` (build.py reads ``pages/<language>/index.md`` when there is
  one, and writes the lesson table's words in the edition's language).
"""

from __future__ import annotations

import html

#: Sphinx's ``language`` of each edition -> (the other edition's root, relative to this one's; its name, written
#: in its own language; its language tag).
EDITIONS = {"en": ("zh/", "中文", "zh-Hans"), "zh_CN": ("../", "English", "en")}


def other_edition(language: str, pagename: str) -> tuple[str, str, str] | None:
    """The link from page ``pagename`` (Sphinx's name, e.g. ``notebooks/01_resnet_block``) of the ``language``
    edition to the same page of the other edition: (relative URL, the other edition's name, its language tag)."""
    if language not in EDITIONS:
        return None
    root, name, tag = EDITIONS[language]
    up = "../" * pagename.count("/")
    return f"{up}{root}{pagename}.html", name, tag


def add_switch(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Sphinx's html-page-context: the switch above the page's body (pages with a body: the lessons, the home
    page, the reference, the glossary)."""
    link = other_edition(app.config.language, pagename)
    if link is None or doctree is None or "body" not in context:
        return
    url, name, tag = link
    context["body"] = (
        f'<p class="resnext-edu-language-switch"><a href="{html.escape(url)}" hreflang="{tag}" '
        f'lang="{tag}">{html.escape(name)}</a></p>\n' + context["body"]
    )


def setup(app):
    app.connect("html-page-context", add_switch)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

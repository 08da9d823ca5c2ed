"""Sphinx configuration of the course's website. Run through ``site/build.py`` (``make site``), which lays out the
pages, passes the language, the mode and the execution cache (``-D``) and sets what the lessons' kernels need."""

import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent
sys.path[:0] = [str(SITE.parent), str(SITE / "_ext")]

from resnext_edu import __version__, course  # noqa: E402

project = "resnext-edu"
#: The site's title by edition (``language``, which build.py passes with -D, so it is read once the configuration is
#: complete: ``setup`` below).
TITLES = {"en": "ResNeXt, an interactive course", "zh_CN": "ResNeXt 交互式课程"}
html_title = TITLES["en"]
author = "the resnext-edu authors"
copyright = "the resnext-edu authors, MIT License"
version = release = __version__
language = "en"  # build.py: -D language=...
resnext_edu_mode = "default"  # build.py: -D resnext_edu_mode=quick|default

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_codeautolink",
    "course_site",  # site/_ext/course_site.py
    "language_switch",  # site/_ext/language_switch.py
]

# -- MyST and the notebooks -------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "cache"  # build.py: -D nb_execution_cache_path=...
nb_execution_in_temp = True  # each lesson runs in a fresh folder, as in the tests
nb_execution_raise_on_error = True  # a cell error fails the build
nb_execution_show_tb = True
nb_execution_timeout = 2400  # seconds for one cell (build.py: by mode)
resnext_edu_lesson_timeout = 5400  # seconds for all the cells of one lesson (build.py: by mode)
nb_merge_streams = True
nb_ipywidgets_js = {}  # no widget JavaScript (from a CDN): course_site shows them statically

# -- The reference (autodoc) and the links from the lessons' code to it -------------------------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
codeautolink_concat_default = True  # a lesson's cells share their imports, as in the kernel

# -- HTML ---------------------------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": course.REPO_URL,
    "repository_branch": course.REVISION,
    "use_repository_button": True,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
html_static_path = [
    "_static",
    str(SITE / "_build" / "vendor"),
]  # vendor/: MathJax, fetched by build.py
html_css_files = ["course.css"]
html_favicon = "_static/favicon.svg"
html_context = {
    "default_mode": "auto"
}  # the reader's colour scheme picks the light or the dark theme
html_last_updated_fmt = ""
mathjax_path = "mathjax/tex-chtml.js"  # MathJax 3 from npm, served with the site (no CDN)
exclude_patterns = ["**/.ipynb_checkpoints"]


def edition_title(app, config) -> None:
    """The edition's title: ``TITLES[language]`` (English for a language without one)."""
    config.html_title = TITLES.get(config.language, TITLES["en"])


#: Sphinx 9's Chinese search data (language_data.js) ends with ``window.Stemmer = ChineseStemmer`` but defines only
#: the EnglishStemmer it uses for Chinese pages' Latin words: without this script (loaded before language_data.js),
#: every Chinese page logs "ChineseStemmer is not defined" and its search has no stemmer.
CHINESE_STEMMER = "window.ChineseStemmer = function () { return new EnglishStemmer(); };"


def chinese_search(app) -> None:
    if app.config.language.startswith("zh"):
        app.add_js_file(None, body=CHINESE_STEMMER)


def setup(app):
    app.connect("config-inited", edition_title)
    app.connect("builder-inited", chinese_search)

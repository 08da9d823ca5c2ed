"""The course's website (site/): both editions built once per session in quick mode (RESNEXT_EDU_QUICK=1), as CI
and ``make site`` build them (the English one, then the Chinese one copied into its zh/ folder), then read as files
and driven in headless Chromium, served from 127.0.0.1 as GitHub Pages serves it.

What is checked against what:
* figures: each code cell of a lesson page shows as many images as the kernel drew for it, counted in the executed
  notebook of the build's execution cache (jupyter-cache), including the figures inside the explorers' ``Output``
  widgets (read from the recorded widget state, not from the page);
* the links: "Open in Colab" is ``resnext_edu.course.colab_badge``'s link, "Download the notebook" serves the
  committed notebook byte for byte, and every internal link and anchor of every page resolves;
* offline: every request a page makes goes to the site's own server (no CDN), and no script or stylesheet of any
  page names another host;
* the math: MathJax (served with the site) typeset it, and no ``$`` is left in the prose;
* no error output, no console error, no control that looks alive (an input, a select, a button) in a lesson's output;
* the reference page documents ``resnext_edu.counting.count`` and a lesson's code links to it;
* the dark theme: every visible text on every page has a WCAG contrast of at least 4.5:1 (a deliberately grey-on-grey
  element placed on the page must measure below it, so the measurement can fail);
* the Chinese edition: each Chinese lesson page (``lang="zh-CN"``) shows the figures its own executed notebook drew,
  no error and no raw ``$``, no paragraph left in English (the same measure, applied to the English page the
  language switch lands on, must find its English paragraphs, so the measurement can fail), and the switch goes to
  the same lesson in English and back; no ``jupyter_execute/`` folder (MyST-NB's second copy of the images) is
  published.

Needs the site extra (Sphinx, MyST-NB), npm (MathJax) and, for the browser part, Playwright with the system Chromium.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("myst_nb", reason="the site extra is not installed: pip install -e '.[site]'")
jupyter_cache = pytest.importorskip("jupyter_cache")

from jupyter_lab import browser_skip_reason, launch_chromium  # noqa: E402  (tests/jupyter_lab.py)
from resnext_edu import course  # noqa: E402

pytestmark = pytest.mark.site

REPO = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 1800
OUT = (
    REPO / "site" / "_build" / "test" / "html"
)  # git-ignored; the execution cache is the build's own
OUT_ZH = (
    REPO / "site" / "_build" / "test" / "zh" / "html"
)  # then copied into OUT / "zh", as make site does
ARTIFACTS = REPO / "test-artifacts" / "site"
LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ZH = "zh/"  # the Chinese edition's folder in the site (site/_ext/language_switch.py)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
MIN_CONTRAST = 4.5  # WCAG AA for normal text


def site_build_module():
    """site/build.py as a module (its folder is not a package: `site` is also the name of Python's own module)."""
    spec = importlib.util.spec_from_file_location("site_build", REPO / "site" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_build(name: str, *options: str) -> float:
    """site/build.py in quick mode with ``options``; its log in test-artifacts/site/<name>.log. Returns seconds."""
    env = dict(os.environ, **{course.QUICK_ENV: "1", "OMP_WAIT_POLICY": "PASSIVE"})
    start = time.monotonic()
    with open(ARTIFACTS / f"{name}.log", "w") as log:
        result = subprocess.run(
            [sys.executable, str(REPO / "site" / "build.py"), *options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT_S,
            cwd=REPO,
            check=False,
        )
    seconds = time.monotonic() - start
    text = (ARTIFACTS / f"{name}.log").read_text()
    problems = [
        line for line in text.splitlines() if re.search(r"WARNING|ERROR|Error|Traceback", line)
    ]
    assert result.returncode == 0, (
        f"the quick site build ({name}) failed (exit {result.returncode}) in {seconds:.0f} s "
        f"(test-artifacts/site/{name}.log):\n" + "\n".join(problems[:30] or [text[-3000:]])
    )
    return seconds


@pytest.fixture(scope="session")
def built_site() -> Path:
    """Both editions built in quick mode, as make site builds them: the English one into site/_build/test/html, the
    Chinese one into site/_build/test/zh/html and copied into its zh/ folder (logs: test-artifacts/site/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    english = run_build("build", "--out", str(OUT))
    chinese = run_build(
        "build-zh",
        *("--language", "zh_CN", "--notebooks", str(REPO / "notebooks" / "zh")),
        *("--out", str(OUT_ZH), "--copy-into", str(OUT / "zh")),
    )
    (ARTIFACTS / "build-seconds.txt").write_text(f"en {english:.0f}\nzh_CN {chinese:.0f}\n")
    print(f"quick site build: English {english:.0f} s, Chinese {chinese:.0f} s")
    return OUT


def page_of(lesson: Path) -> str:
    return f"notebooks/{lesson.stem}.html"


def executed(lesson: Path):
    """The lesson (English or Chinese) as the build executed it: the quick-mode notebook in the build's
    jupyter-cache."""
    build = site_build_module()
    cache = jupyter_cache.get_cache(build.cache_folder(build.BUILD / "jupyter-cache", "quick"))
    record = cache.match_cache_notebook(nbformat.read(lesson, as_version=4))
    return cache.get_cache_bundle(record.pk).nb


def image_count(outputs: list, state: dict) -> int:
    """Images in these outputs, those drawn into a widget's Output (found through the widget state) included."""
    count = 0
    for output in outputs:
        data = output.get("data", {})
        if WIDGET_VIEW in data:
            count += widget_image_count(data[WIDGET_VIEW]["model_id"], state)
        elif any(mime.startswith("image/") for mime in data):
            count += 1
    return count


def widget_image_count(model_id: str, state: dict) -> int:
    model = state[model_id]
    inner = model["state"]
    count = sum(
        widget_image_count(child.removeprefix("IPY_MODEL_"), state)
        for child in inner.get("children", [])
    )
    if model["model_name"] == "OutputModel":
        count += image_count(inner.get("outputs", []), state)
    return count


#: Widgets that only show something (no input): boxes, Output, HTML, labels, progress bars.
DISPLAY_ONLY = {
    "VBoxModel",
    "HBoxModel",
    "BoxModel",
    "GridBoxModel",
    "OutputModel",
    "HTMLModel",
    "HTMLMathModel",
    "LabelModel",
    "FloatProgressModel",
    "IntProgressModel",
}


def has_controls(model_id: str, state: dict) -> bool:
    """Whether the widget holds a control (slider, dropdown, button, ...) in its tree."""
    model = state[model_id]
    return model["model_name"] not in DISPLAY_ONLY or any(
        has_controls(child.removeprefix("IPY_MODEL_"), state)
        for child in model["state"].get("children", [])
    )


# ----------------------------------------------------------------------------------------------------------------
# A build that cannot hang, and that fails on a cell error
# ----------------------------------------------------------------------------------------------------------------
def lesson_notebook(*code: str):
    """A lesson-shaped notebook: a title with the Colab badge, then ``code`` cells."""
    title = f"# Lesson 1: a broken lesson\n\n{course.colab_badge('01_broken.ipynb')}\n"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(title)]
        + [nbformat.v4.new_code_cell(source) for source in code]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def test_a_lesson_over_its_budget_stops_at_once_with_a_timeout():
    """The lesson budget ends the run even though each cell is within its own timeout (nothing is retried)."""
    sys.path.insert(0, str(REPO / "site" / "_ext"))
    from course_site import LessonClient  # site/_ext/course_site.py
    from nbclient.exceptions import CellTimeoutError

    nb = lesson_notebook("import time\ntime.sleep(1)", "time.sleep(1)", "time.sleep(60)")
    start = time.monotonic()
    with pytest.raises(CellTimeoutError):
        LessonClient(nb, timeout=120, lesson_timeout=8, kernel_name="python3").execute()
    seconds = time.monotonic() - start
    assert seconds < 45, f"the 8 s lesson budget stopped the run only after {seconds:.0f} s"
    assert nb.cells[1].outputs == [] and "execution" in nb.cells[2].metadata, (
        "the first cells ran in full"
    )


def test_a_cell_error_fails_the_build_and_says_where(tmp_path):
    """One cell raising in a lesson: the build exits non-zero and its log names the lesson and the error."""
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    nbformat.write(
        lesson_notebook("print('fine')", "raise ValueError('the broken cell')"),
        lessons / "01_broken.ipynb",
    )
    out = tmp_path / "html"
    env = dict(os.environ, **{course.QUICK_ENV: "1"})
    try:
        result = subprocess.run(
            [
                sys.executable,
                str(REPO / "site" / "build.py"),
                "--notebooks",
                str(lessons),
                "--out",
                str(out),
                "--cache",
                str(tmp_path / "cache"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=REPO,
            check=False,
        )
    finally:
        shutil.rmtree(site_build_module().work_folder("en", out.resolve()), ignore_errors=True)
    log = result.stdout + result.stderr
    assert result.returncode != 0, "a lesson with a failing cell built without an error"
    assert "01_broken" in log and "ValueError" in log and "the broken cell" in log, log[-3000:]


# ----------------------------------------------------------------------------------------------------------------
# The files
# ----------------------------------------------------------------------------------------------------------------
class PageParser(html.parser.HTMLParser):
    """A page's ids, its links (a href) and the addresses of what it loads (script src, link href, img src)."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in {
            "script": ("src",),
            "link": ("href",),
            "img": ("src",),
            "iframe": ("src",),
        }.get(tag, ()):
            if attrs.get(name):
                self.assets.append(attrs[name])


@functools.cache
def parsed(path: Path) -> PageParser:
    parser = PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_pages(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.html") if "_static" not in p.parts)


def test_every_lesson_has_a_page_and_the_home_page_lists_them(built_site):
    home = parsed(built_site / "index.html")
    for lesson in LESSONS:
        assert (built_site / page_of(lesson)).is_file(), f"no page for {lesson.name}"
        assert page_of(lesson) in home.links, (
            f"the home page's lesson table does not link {lesson.name}"
        )
    if (REPO / "notebooks" / "glossary.md").is_file():
        assert (built_site / "notebooks" / "glossary.html").is_file(), (
            "notebooks/glossary.md has no page"
        )


def test_no_page_loads_anything_from_another_host(built_site):
    remote = {
        str(page.relative_to(built_site)): [
            a for a in parsed(page).assets if re.match(r"(https?:)?//", a)
        ]
        for page in html_pages(built_site)
    }
    remote = {page: assets for page, assets in remote.items() if assets}
    assert not remote, f"pages load files from other hosts (the site must work offline): {remote}"


def test_every_internal_link_and_anchor_resolves(built_site):
    broken = []
    for page in html_pages(built_site):
        for link in parsed(page).links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("mailto:"):
                continue
            target = (
                (page.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else page
            )
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(built_site)}: {link}"
            if not target.is_file():
                broken.append(f"{where} (no file)")
            elif (
                parts.fragment
                and target.suffix == ".html"
                and parts.fragment not in parsed(target).ids
            ):
                broken.append(f"{where} (no anchor #{parts.fragment})")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:40])


def test_the_reference_documents_count_and_a_lesson_links_to_it(built_site):
    assert "resnext_edu.counting.count" in parsed(built_site / "reference.html").ids, (
        "the reference page has no entry for resnext_edu.counting.count"
    )
    linking = [
        lesson.name
        for lesson in LESSONS
        if any(
            link.endswith("reference.html#resnext_edu.counting.count")
            for link in parsed(built_site / page_of(lesson)).links
        )
    ]
    assert linking, "no lesson's code links count(...) to its reference entry"
    prose = re.compile(
        r'class="resnext-edu-api-link[^"]*" href="\.\./reference\.html#resnext_edu\.counting\.count"'
    )
    assert any(prose.search((built_site / page_of(lesson)).read_text()) for lesson in LESSONS), (
        "no lesson's text links `count(...)` to its reference entry"
    )


# ----------------------------------------------------------------------------------------------------------------
# In the browser
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def server(built_site):
    """The built site on http://127.0.0.1:<free port>/."""
    handler = functools.partial(QuietHandler, directory=str(built_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


class Visit:
    """One page in a fresh browser context: its console errors, uncaught exceptions and every request it made."""

    def __init__(self, browser, url: str, dark: bool = False):
        self.context = browser.new_context(
            viewport={"width": 1280, "height": 900}, color_scheme="dark" if dark else "light"
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_function(
            "() => !window.MathJax || !window.MathJax.startup"
            " || window.MathJax.startup.promise.then(() => true)",
            timeout=30_000,
        )
        self.page.evaluate(
            "() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null"
        )

    def settle(self) -> None:
        """Stop the theme's colour transitions, so that what is measured is the theme's final colours."""
        self.page.add_style_tag(
            content="*, *::before, *::after { transition: none !important; "
            "animation: none !important; }"
        )
        self.page.wait_for_timeout(300)

    def close(self):
        self.context.close()


JS_LESSON = """() => {
    const article = document.querySelector('article') || document.body;
    const cells = [...article.querySelectorAll('div.cell')];
    const prose = article.cloneNode(true);
    prose.querySelectorAll('pre, code, .cell, mjx-container, script, .MathJax').forEach(e => e.remove());
    return {
        images: cells.map(c => c.querySelectorAll('.cell_output img').length),
        brokenImages: [...article.querySelectorAll('img')].filter(i => !i.complete || i.naturalWidth === 0)
                      .map(i => i.getAttribute('src')),
        errorOutputs: article.querySelectorAll('.output.error, .output.traceback').length,
        tracebacks: article.innerText.includes('Traceback (most recent call last)'),
        stderr: [...article.querySelectorAll('.output.stderr')].map(e => e.innerText.slice(0, 200)),
        controls: [...article.querySelectorAll('.cell_output input, .cell_output select, .cell_output button,'
                                             + ' .cell_output textarea, .cell_output [contenteditable]')].length,
        math: article.querySelectorAll('mjx-container').length,
        dollars: (prose.innerText.match(/[^\\n]{0,30}\\$[^\\n]{0,30}/g) || []),
        notes: [...article.querySelectorAll('.resnext-edu-static-note a')].map(a => a.href),
        colab: [...article.querySelectorAll('a.resnext-edu-colab')].map(a => a.href),
        download: [...article.querySelectorAll('a.resnext-edu-download')].map(a => a.href),
    };
}"""


@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_page(lesson, built_site, server, browser):
    """The page loads with no console error and shows what the lesson ran: every figure, typeset math, no error,
    no live-looking control, its Colab and download links."""
    visit = Visit(browser, server + page_of(lesson))
    try:
        found = visit.page.evaluate(JS_LESSON)
        visit.page.screenshot(path=str(ARTIFACTS / f"{lesson.stem}.png"))
        downloaded = (
            visit.context.request.get(found["download"][0]).body() if found["download"] else None
        )
    finally:
        visit.close()
    nb = executed(lesson)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    drawn = [image_count(cell.outputs, state) for cell in code]
    widgets = sum(
        has_controls(o["data"][WIDGET_VIEW]["model_id"], state)
        for cell in code
        for o in cell.outputs
        if WIDGET_VIEW in o.get("data", {})
    )
    source = nbformat.read(lesson, as_version=4)
    has_math = any("$" in cell.source for cell in source.cells if cell.cell_type == "markdown")
    colab = re.search(r"\]\((https://colab[^)]+)\)$", course.colab_badge(lesson.name)).group(1)

    assert not visit.errors, f"console errors: {visit.errors}"
    assert len(found["images"]) == len(code), (
        f"{len(code)} code cells, {len(found['images'])} on the page"
    )
    missing = [
        (i, want, got) for i, (want, got) in enumerate(zip(drawn, found["images"])) if got != want
    ]
    assert not missing, (
        f"code cells whose figures differ from what the kernel drew (cell, drawn, shown): {missing}"
    )
    assert (
        sum(drawn) > 0 or "appendix" in lesson.stem or not any("plt." in c.source for c in code)
    ), "a lesson that plots shows no figure"
    assert not found["brokenImages"], f"images that did not load: {found['brokenImages']}"
    assert not found["errorOutputs"] and not found["tracebacks"], "the page shows an error output"
    assert not found["stderr"], f"the page shows stderr output: {found['stderr']}"
    assert not found["controls"], (
        f"{found['controls']} widget controls on a page that cannot run them"
    )
    assert len(found["notes"]) >= widgets and all(n == colab for n in found["notes"]), (
        f"each explorer needs its note with the Colab link; found {found['notes']} for {widgets} widget outputs"
    )
    assert not found["dollars"], f"raw $ math in the prose: {found['dollars'][:5]}"
    assert found["math"] > 0 or not has_math, "the lesson has $ math but MathJax typeset none"
    assert found["colab"] == [colab], f"Open in Colab: {found['colab']}, course.py says {colab}"
    assert downloaded == lesson.read_bytes(), (
        "Download the notebook does not serve the committed notebook"
    )
    local = server.rstrip("/")
    assert all(url.startswith((local, "data:")) for url in visit.requests), (
        f"requests to other hosts: {[u for u in visit.requests if not u.startswith(local)]}"
    )


# For each visible element with its own text: the text colour against the background behind it (the element's and
# its ancestors' backgrounds composited up to the first opaque one), as a WCAG contrast ratio.
JS_CONTRAST = """() => {
    const parse = (s) => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
        const v = m[1].split(/[ ,/]+/).filter(x => x).map(Number);
        return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1}; };
    const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a),
        g: top.g * top.a + bottom.g * (1 - top.a), b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
    const behind = (el) => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
        }
        return layers.reverse().reduce((bg, c) => over(c, bg), {r: 255, g: 255, b: 255, a: 1});
    };
    const lum = (c) => ['r', 'g', 'b'].map((k) => { const x = c[k] / 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); })
        .reduce((sum, x, i) => sum + [0.2126, 0.7152, 0.0722][i] * x, 0);
    const visible = (el) => { const r = el.getBoundingClientRect(), s = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.opacity !== '0'; };
    const own = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    return [...document.querySelectorAll('body *')].filter(el => own(el) && visible(el)
            && !el.closest('mjx-container, script, style, .sr-only, .visually-hidden')).map((el) => {
        const bg = behind(el), fg = over(parse(getComputedStyle(el).color), bg);
        const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        return {text: el.textContent.trim().slice(0, 40), tag: el.tagName, cls: String(el.className).slice(0, 60),
                ratio: Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100};
    });
}"""

# The control: grey text on a slightly different grey, which the measurement must find unreadable.
JS_ADD_UNREADABLE = """() => { const p = document.createElement('p'); p.id = 'unreadable-control';
    p.textContent = 'grey on grey'; p.style.color = '#777'; p.style.background = '#666';
    (document.querySelector('article') || document.body).prepend(p); }"""


@pytest.mark.browser
@pytest.mark.parametrize("page", ["index.html", "reference.html"] + [page_of(p) for p in LESSONS])
def test_dark_theme_keeps_text_readable(page, built_site, server, browser):
    visit = Visit(browser, server + page, dark=True)
    try:
        visit.settle()
        theme = visit.page.evaluate("() => document.documentElement.dataset.theme")
        measured = visit.page.evaluate(JS_CONTRAST)
        visit.page.screenshot(path=str(ARTIFACTS / f"dark-{Path(page).stem}.png"))
        visit.page.evaluate(JS_ADD_UNREADABLE)
        control = [m for m in visit.page.evaluate(JS_CONTRAST) if m["text"] == "grey on grey"]
    finally:
        visit.close()
    assert theme == "dark", (
        f"the page did not follow the reader's dark colour scheme (data-theme={theme!r})"
    )
    assert control and control[0]["ratio"] < MIN_CONTRAST, (
        f"the measurement missed the unreadable control: {control}"
    )
    low = [m for m in measured if m["ratio"] < MIN_CONTRAST]
    assert measured and not low, (
        f"{len(low)} texts below {MIN_CONTRAST}:1 in the dark theme: {json.dumps(low[:10])}"
    )


# ----------------------------------------------------------------------------------------------------------------
# The Chinese edition
# ----------------------------------------------------------------------------------------------------------------
def chinese(lesson: Path) -> Path:
    """notebooks/zh/<lesson> (written by python -m resnext_edu.translate)."""
    return REPO / "notebooks" / "zh" / lesson.name


def test_no_execution_folder_is_published(built_site):
    """MyST-NB's jupyter_execute/ (a second copy of every image) stays outside the published tree."""
    published = [str(p.relative_to(built_site)) for p in built_site.rglob("jupyter_execute")]
    assert not published, f"jupyter_execute/ folders in the published site: {published}"


def test_the_chinese_home_page_lists_the_chinese_lessons(built_site):
    home = built_site / ZH / "index.html"
    text = home.read_text(encoding="utf-8")
    assert re.search(r'<html[^>]* lang="zh-CN"', text), "the Chinese home page is not lang=zh-CN"
    title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
    assert re.search(r"[\u4e00-\u9fff]", title), (
        f"the Chinese home page's title is not Chinese: {title}"
    )
    for lesson in LESSONS:
        assert page_of(lesson) in parsed(home).links, (
            f"the Chinese home page does not link {lesson.name}"
        )
        assert (built_site / ZH / page_of(lesson)).is_file(), f"no Chinese page for {lesson.name}"


# The page's prose, as paragraphs: headings, paragraphs, list items and table cells of the lesson's text (code cells
# and their outputs, code, math removed), and the notes the site writes under the explorers' figures.
JS_PROSE = """() => {
    const article = document.querySelector('article') || document.body;
    const prose = article.cloneNode(true);
    prose.querySelectorAll('pre, code, .cell, mjx-container, script, .MathJax, .headerlink')
        .forEach(e => e.remove());
    const blocks = [...prose.querySelectorAll('h1, h2, h3, h4, p, li, th, td, dt, dd, figcaption')];
    const notes = [...article.querySelectorAll('.resnext-edu-static-note')];
    return {
        lang: document.documentElement.lang,
        paragraphs: blocks.concat(notes).map(e => e.innerText.trim()).filter(t => t),
        switch: [...document.querySelectorAll('.resnext-edu-language-switch a')].map(a => a.href),
    };
}"""

MIN_WORDS = 5  # a block with fewer English words (a term, a label, "English") is not a paragraph left in English


def untranslated(paragraphs: list[str]) -> list[str]:
    """The paragraphs mostly in English: at least MIN_WORDS ASCII words, and fewer Chinese characters than words."""
    left = []
    for text in paragraphs:
        words = re.findall(r"[A-Za-z]{2,}", text)
        hanzi = re.findall(r"[\u3400-\u9fff]", text)
        if len(words) >= MIN_WORDS and len(hanzi) < len(words):
            left.append(text[:120])
    return left


@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_chinese_lesson_page(lesson, built_site, server, browser):
    """The Chinese page of each lesson: in Chinese, with what its own notebook drew, no error, and a language switch
    to the same lesson in English and back."""
    english_url, chinese_url = server + page_of(lesson), server + ZH + page_of(lesson)
    visit = Visit(browser, chinese_url)
    try:
        found = visit.page.evaluate(JS_LESSON)
        prose = visit.page.evaluate(JS_PROSE)
        visit.page.screenshot(path=str(ARTIFACTS / f"zh-{lesson.stem}.png"))
        visit.page.click(".resnext-edu-language-switch a")
        visit.page.wait_for_load_state("load")
        landed_en, english = visit.page.url, visit.page.evaluate(JS_PROSE)
        visit.page.click(".resnext-edu-language-switch a")
        visit.page.wait_for_load_state("load")
        landed_zh, back = visit.page.url, visit.page.evaluate(JS_PROSE)
    finally:
        visit.close()
    nb = executed(chinese(lesson))
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    drawn = [image_count(cell.outputs, state) for cell in code]

    assert not visit.errors, f"console errors: {visit.errors}"
    assert prose["lang"] == "zh-CN", f'the page is lang="{prose["lang"]}", not "zh-CN"'
    assert found["images"] == drawn, (
        f"figures per code cell: the page shows {found['images']}, the Chinese notebook drew {drawn}"
    )
    assert sum(drawn) > 0 or not any("plt." in c.source for c in code), (
        "a lesson that plots shows no figure"
    )
    assert not found["brokenImages"], f"images that did not load: {found['brokenImages']}"
    assert not found["errorOutputs"] and not found["tracebacks"], "the page shows an error output"
    assert not found["stderr"], f"the page shows stderr output: {found['stderr']}"
    assert not found["dollars"], f"raw $ math in the prose: {found['dollars'][:5]}"
    left = untranslated(prose["paragraphs"])
    assert not left, f"{len(left)} paragraphs left in English:\n" + "\n".join(left[:10])
    assert len(untranslated(english["paragraphs"])) >= 3, (
        "the measure of English paragraphs finds almost none on the English page: it cannot fail"
    )
    assert (landed_en, english["lang"]) == (english_url, "en"), (
        f"the switch of {chinese_url} went to {landed_en} (lang={english['lang']!r})"
    )
    assert (landed_zh, back["lang"]) == (chinese_url, "zh-CN"), (
        f"the switch of {english_url} went to {landed_zh} (lang={back['lang']!r})"
    )

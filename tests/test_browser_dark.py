"""The lessons in JupyterLab's dark theme (issue 13): readable feedback boxes and widget text, and one screenshot per
lesson for a person to look at.

The contrast of every feedback box and every piece of widget text the course writes is measured in the page with the
WCAG formula (relative luminance; text colour against the background composited from the element up to the first
opaque ancestor) and must reach 4.5:1. The fixture also shows a box styled as the boxes were before this issue
(light background, no text colour): the measurement must find it unreadable, so the check can fail.

Same requirements as tests/test_browser.py (system Chromium, Playwright); skipped with one line without them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jupyter_browser import (
    fit_viewport_to_notebook,
    fresh_page,
    headless_browser,
    open_notebook,
    run_all_cells,
)
from jupyter_lab import DARK_THEME_SETTINGS, LabServer, browser_skip_reason

pytestmark = pytest.mark.browser

SKIP_REASON = browser_skip_reason()
if SKIP_REASON:
    pytest.skip(SKIP_REASON, allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "dark_theme_feedback.ipynb"
ARTIFACTS = REPO / "test-artifacts" / "browser-dark"
LESSONS = sorted(path.name for path in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MIN_CONTRAST = 4.5  # WCAG AA for normal text

# For each element matched by the selector: its text, its colour and the background behind it (the element's and
# its ancestors' backgrounds composited up to the first opaque one), and the WCAG contrast ratio of the two.
JS_CONTRAST = """(selector) => {
    const parse = (s) => { const v = s.match(/rgba?\\(([^)]+)\\)/)[1].split(',').map(Number);
                           return {r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1}; };
    const over = (top, bottom) => ({r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
                                    b: top.b * top.a + bottom.b * (1 - top.a), a: 1});
    const behind = (el) => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c.a > 0) { layers.push(c); if (c.a >= 1) break; }
        }
        return layers.reverse().reduce((bg, c) => over(c, bg), {r: 255, g: 255, b: 255, a: 1});
    };
    const lum = (c) => ['r', 'g', 'b'].map((k) => { const x = c[k] / 255;
        return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); })
        .reduce((sum, x, i) => sum + [0.2126, 0.7152, 0.0722][i] * x, 0);
    return [...document.querySelectorAll(selector)].filter((el) => el.textContent.trim()).map((el) => {
        const fg = parse(getComputedStyle(el).color), bg = behind(el);
        const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
        return {text: el.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05)};
    });
}"""
COURSE_TEXT = (
    ".resnext-edu-feedback, .resnext-edu-feedback b, .resnext-edu-feedback i, "
    ".widget-html-content b, .widget-html-content td, .widget-label, .widget-readout"
)


@pytest.fixture(scope="module")
def dark_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-dark") / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(FIXTURE, root / FIXTURE.name)
    server = LabServer.start(
        root,
        tmp_path_factory.mktemp("lab-dark-server"),
        env={"RESNEXT_EDU_QUICK": "1"},
        settings=DARK_THEME_SETTINGS,
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(dark_server):
    with headless_browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    with fresh_page(browser) as new_page:
        yield new_page


def assert_dark(page):
    assert page.evaluate("() => document.body.dataset.jpThemeLight") == "false", (
        "the dark theme is not active"
    )


@pytest.mark.timeout(300)
def test_feedback_and_widget_text_read_in_the_dark_theme(page, dark_server):
    open_notebook(page, dark_server, FIXTURE.name)
    assert_dark(page)
    run_all_cells(page, 120)
    page.wait_for_selector(".resnext-edu-feedback", timeout=30000)
    page.wait_for_selector(".widget-readout", timeout=30000)
    fit_viewport_to_notebook(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dark_theme_feedback.png"))
    measured = page.evaluate(JS_CONTRAST, COURSE_TEXT)
    texts = " | ".join(m["text"] for m in measured)
    for expected in (
        "a right answer",
        "a wrong answer",
        "a hint",
        "explorer's error",
        "a muted note",
        "C",
    ):
        assert expected in texts, f"{expected!r} was not measured: {texts}"
    low = [m for m in measured if m["ratio"] < MIN_CONTRAST]
    assert not low, f"text below {MIN_CONTRAST}:1 in the dark theme: {low}"
    bad = page.evaluate(JS_CONTRAST, ".contrast-probe-bad")
    assert bad and bad[0]["ratio"] < 3, f"the old light box should measure unreadable, got {bad}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", LESSONS)
def test_each_lesson_opens_in_the_dark_theme(page, dark_server, name):
    """One screenshot per lesson (not run: the committed notebook as a learner first sees it)."""
    open_notebook(page, dark_server, name)
    assert_dark(page)
    fit_viewport_to_notebook(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{Path(name).stem}.png"))

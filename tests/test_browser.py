"""The lessons as a learner meets them: JupyterLab in headless Chromium (issue 6).

For each notebook that uses widgets (the fixture `tests/fixtures/widget_smoke.ipynb` first, then every lesson in
`notebooks/` that imports ipywidgets, itself or through a module of `resnext_edu`): open it in JupyterLab, run all cells in
quick mode (RESNEXT_EDU_QUICK=1), check that every cell finished without an error and every widget rendered, change
each explorer's controls as a person would (arrow keys on sliders, another option in dropdowns, a click on
checkboxes, a number typed into text boxes) and check that the numbers and the figure they drive changed. The
screenshots land in `test-artifacts/browser/` for a person to look at.

The harness checks itself: a copy of the fixture whose slider callback raises must be reported as broken.

Needs the system Chromium (`apt-get install -y chromium`) and Playwright for Python (`pip install -e .[test]`);
without them every test here is skipped with one line saying so. Select or deselect with `-m browser`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from jupyter_browser import check_notebook, fresh_page, headless_browser
from jupyter_lab import LabServer, browser_skip_reason, uses_widgets

pytestmark = pytest.mark.browser

SKIP_REASON = browser_skip_reason()
if SKIP_REASON:  # one line in the summary, for the whole module
    pytest.skip(SKIP_REASON, allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "widget_smoke.ipynb"
ARTIFACTS = REPO / "test-artifacts" / "browser"
FIXTURE_DIR = (
    "_harness_fixtures"  # where the fixture and its broken copies sit inside the server's root
)

#: Seconds that running all cells of one lesson may take in quick mode (the lessons aim at 1-2 minutes).
RUN_TIMEOUT_S = float(os.environ.get("RESNEXT_EDU_BROWSER_RUN_TIMEOUT", "600"))

#: Ways to break the fixture's slider callback, each as the line of `redraw` before which a `raise` goes: before
#: drawing (the error only reaches the kernel's messages and JupyterLab's log console) or inside the `with figure:`
#: block (the traceback shows in the widget).
BROKEN_CALLBACKS = {
    "raises-outside-output": "    k = frequency.value\n",
    "raises-inside-output": "        x = np.linspace(",
}
RAISE_LINE = "if change is not None: raise RuntimeError('deliberately broken callback')"


def widget_lessons() -> list[str]:
    """The lesson notebooks that use widgets, as paths relative to `notebooks/`."""
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    return [path.name for path in notebooks if uses_widgets(path, REPO / "resnext_edu")]


def break_callback(source: str, where: str) -> str:
    """The fixture's explorer cell with a `raise` put into its slider callback before the line `where` names."""
    anchor = BROKEN_CALLBACKS[where]
    indent = anchor[: len(anchor) - len(anchor.lstrip())]
    broken = source.replace(anchor, f"{indent}{RAISE_LINE}\n{anchor}", 1)
    assert broken != source, f"the fixture no longer contains {anchor!r}; update BROKEN_CALLBACKS"
    return broken


def broken_fixture_name(where: str) -> str:
    """The file name of the fixture's copy broken at `where` (a key of BROKEN_CALLBACKS)."""
    return f"widget_smoke_{where.replace('-', '_')}.ipynb"


def write_broken_fixture(directory: Path, where: str) -> str:
    """Write a copy of the fixture whose slider callback raises; return its file name."""
    notebook = json.loads(FIXTURE.read_text(encoding="utf-8"))
    explorer = next(cell for cell in notebook["cells"] if "observe(" in "".join(cell["source"]))
    explorer["source"] = break_callback("".join(explorer["source"]), where)
    name = broken_fixture_name(where)
    (directory / name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return name


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """JupyterLab on a temporary copy of `notebooks/` (plus the harness fixtures), in quick mode; stopped at the end."""
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    if (REPO / "notebooks").is_dir():
        shutil.copytree(
            REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )
    (root / FIXTURE_DIR).mkdir(parents=True)
    shutil.copy(FIXTURE, root / FIXTURE_DIR / FIXTURE.name)
    for where in BROKEN_CALLBACKS:
        write_broken_fixture(root / FIXTURE_DIR, where)
    server = LabServer.start(
        root, tmp_path_factory.mktemp("lab-server"), env={"RESNEXT_EDU_QUICK": "1"}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab_server):
    """Headless system Chromium, shared by the tests of this module."""
    with headless_browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    """A fresh browser page; page errors (uncaught JavaScript exceptions) are collected in `page.errors`."""
    with fresh_page(browser) as new_page:
        yield new_page


def check(page, lab_server, relpath: str, artifacts: Path, expect_widgets: bool = True):
    """Run the harness on one notebook, save its account next to the screenshots, and return the report."""
    try:
        report = check_notebook(
            page, lab_server, relpath, artifacts, expect_widgets, run_timeout_s=RUN_TIMEOUT_S
        )
    except Exception as error:
        raise AssertionError(
            f"{relpath}: the harness failed: {error}\nJupyterLab log:\n{lab_server.log_tail()}"
        )
    report.problems += [f"JavaScript error in the page: {error}" for error in page.errors]
    (artifacts / f"{Path(relpath).stem}.txt").write_text(report.summary() + "\n", encoding="utf-8")
    print(report.summary())
    return report


#: Lessons whose widgets appear only when a default-off part runs (lesson 01: the training progress of its optional
#: LIVE_RUN section): they must run without an error in the browser, but need not show a widget.
WIDGETS_OFF_BY_DEFAULT = {"01_resnet_block.ipynb"}

#: The kinds of control a learner can change in each lesson's explorers (lesson 04: the cardinality dashboard;
#: 05: the sweep explorer; 07: the inside explorer); the harness must change at least one of each kind.
CONTROL_KINDS = ("slider", "dropdown", "checkbox", "text")
EXPECTED_CONTROLS = {
    "04_counting_params_and_flops.ipynb": {"slider", "checkbox"},
    "05_cardinality_sweep.ipynb": {"dropdown", "checkbox"},
    "07_resnext_in_practice.ipynb": {"dropdown", "slider"},
}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("relpath", [f"{FIXTURE_DIR}/{FIXTURE.name}"] + widget_lessons())
def test_notebook_in_browser(page, lab_server, relpath):
    """Every cell runs, every widget renders, and changing each control redraws what it drives, without an error."""
    expect_widgets = Path(relpath).name not in WIDGETS_OFF_BY_DEFAULT
    report = check(page, lab_server, relpath, ARTIFACTS, expect_widgets)
    assert not report.problems, report.summary()
    if relpath.startswith(
        FIXTURE_DIR
    ):  # the fixture has an explorer: the harness must find and move its slider
        assert report.moves and "no explorer" not in report.moves[0], report.summary()
    exercised = {
        kind for kind in CONTROL_KINDS for move in report.moves if f" {kind} " in move.split(":")[0]
    }
    missing = EXPECTED_CONTROLS.get(Path(relpath).name, set()) - exercised
    assert not missing, (
        f"{relpath}: no {', '.join(sorted(missing))} was exercised\n{report.summary()}"
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("where", list(BROKEN_CALLBACKS))
def test_harness_catches_a_broken_callback(page, lab_server, where):
    """A slider callback that raises makes the harness report the error (so a broken lesson fails the test)."""
    relpath = f"{FIXTURE_DIR}/{broken_fixture_name(where)}"
    report = check(page, lab_server, relpath, ARTIFACTS / "harness-self-test")
    assert any("deliberately broken callback" in problem for problem in report.problems), (
        report.summary()
    )

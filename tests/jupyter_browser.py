"""Drive the lessons in JupyterLab in headless Chromium, the way a learner meets them.

The pieces, in the order `tests/test_browser.py` uses them:

* `jupyter_lab.py`: whether the test can run here, the JupyterLab server and Chromium.
* `check_notebook(page, server, path, artifacts)`: open a notebook, run all cells, wait until every code cell has
  finished, look for errors, unrendered widgets and figures shown as text, then change every visible control of
  every explorer as a person would (arrow keys on a slider, another option in a dropdown, a click on a checkbox, a
  number typed into a text box) and check that what it drives (figure, numbers) changed, again without an error.
  Screenshots of the whole notebook before and after. Returns a `NotebookReport`; the test asserts that its
  `problems` list is empty.

Errors are caught in three places: the cells' outputs in the notebook model, every kernel message (an `error`, or
stderr with a traceback: a widget callback that raises outside an `Output` only shows in JupyterLab's log console),
and the rendered page ("Error displaying widget", a traceback inside an `Output` widget, a JavaScript exception).

Selectors are those of JupyterLab 4 with ipywidgets 8 (`.noUi-handle`); the jQuery-UI handle of ipywidgets 7
(`.ui-slider-handle`) is accepted as well.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_lab import LabServer

#: A slider's draggable handle: noUiSlider in ipywidgets 8, jQuery UI in ipywidgets 7.
SLIDER_HANDLE = ".noUi-handle, .ui-slider-handle"

#: Texts that mean a learner sees a broken widget or a traceback.
BROKEN_TEXTS = (
    "Error displaying widget",
    "model not found",
    "Failed to create view",
    "Failed to load model class",
    "Traceback (most recent call last)",
)


# ----------------------------------------------------------------------------------------------------------------
# The notebook, seen from the page. The JavaScript runs in the page; `window.jupyterapp` is JupyterLab's app object
# (exposed with --LabApp.expose_app_in_browser). Cell nodes are tagged with data-harness-cell="<index>" so that
# Playwright locators can address one cell's outputs.
# ----------------------------------------------------------------------------------------------------------------
JS_NOTEBOOK_READY = """(path) => {
    const app = window.jupyterapp;
    const panel = app && app.shell.currentWidget;
    if (!panel || !panel.sessionContext || !panel.context || panel.context.path !== path) return false;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

# Listen to the kernel. Record every message a learner could see as an error: `error` messages, and stderr with a
# traceback (a widget callback that raises outside an Output widget only reaches JupyterLab's log console this way).
# Keep the ids of the requests the page sent on the shell channel (cells, widget changes) until the kernel reports
# idle for each: the kernel is quiet when none is pending.
JS_LISTEN_TO_KERNEL = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel.sessionContext.session.kernel;
    const harness = window.harness = {errors: [], pending: new Set(), panel: panel};
    kernel.anyMessage.connect((_, {msg, direction}) => {
        if (direction === 'send' && msg.channel === 'shell') harness.pending.add(msg.header.msg_id);
        if (direction === 'recv' && msg.channel === 'iopub' && msg.header.msg_type === 'status'
            && msg.content.execution_state === 'idle') harness.pending.delete(msg.parent_header.msg_id);
    });
    kernel.iopubMessage.connect((_, msg) => {
        const type = msg.header.msg_type, content = msg.content;
        if (type === 'error') {
            harness.errors.push(`${content.ename}: ${content.evalue}`);
        } else if (type === 'stream' && content.name === 'stderr' && /Traceback|Error:/.test(content.text)) {
            harness.errors.push(content.text.trim().split('\\n').slice(-3).join(' | '));
        }
    });
    panel.content.widgets.forEach((cell, i) => cell.node.setAttribute('data-harness-cell', String(i)));
}"""

# Quiet: every request the page sent has been answered and the kernel is idle.
JS_KERNEL_QUIET = """() => {
    const session = window.harness.panel.sessionContext.session;
    return window.harness.pending.size === 0 && !!session && session.kernel.status === 'idle';
}"""

JS_KERNEL_STATUS = """() => {
    const kernel = window.harness.panel.sessionContext.session && window.harness.panel.sessionContext.session.kernel;
    return kernel ? kernel.status : 'none';
}"""

# Run all cells; the command's promise settles once every cell has run (or the run stopped at an error).
JS_RUN_ALL = """() => {
    window.harness.runAllDone = false;
    window.jupyterapp.commands.execute('notebook:run-all-cells')
        .finally(() => { window.harness.runAllDone = true; });
}"""

# Done when the kernel is dead, or when the run-all command has settled, the kernel is idle and no code cell shows
# [*] (queued or running).
JS_RUN_FINISHED = """() => {
    const panel = window.harness.panel;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const status = kernel ? kernel.status : 'dead';
    if (status === 'dead' || status === 'unknown') return true;
    const running = panel.content.widgets.some(
        cell => cell.model.type === 'code' && /\\*/.test(cell.promptNode ? cell.promptNode.textContent : ''));
    return window.harness.runAllDone && status === 'idle' && !running;
}"""

# Per code cell: its index, first source line, execution count, error outputs and stderr tracebacks in the model.
JS_CELL_STATES = """() => window.harness.panel.content.widgets.map((cell, i) => {
    if (cell.model.type !== 'code') return null;
    const outputs = cell.model.outputs.toJSON();
    const errors = outputs.filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`);
    outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr')
           .map(o => Array.isArray(o.text) ? o.text.join('') : o.text)
           .filter(text => /Traceback/.test(text))
           .forEach(text => errors.push(text.trim().split('\\n').slice(-2).join(' | ')));
    return {
        index: i,
        firstLine: cell.model.sharedModel.getSource().split('\\n')[0].slice(0, 80),
        executionCount: cell.model.executionCount,
        running: /\\*/.test(cell.promptNode ? cell.promptNode.textContent : ''),
        errors: errors,
        widgetOutputs: outputs.filter(o => o.data && o.data['application/vnd.jupyter.widget-view+json']).length,
    };
}).filter(state => state !== null)"""

# Everything rendered in the notebook: broken-widget texts, rendered widget views, visible widgets, and matplotlib
# figures shown as their text repr "<Figure size 640x480 with 1 Axes>" instead of drawn (a Figure returned before
# the inline backend was loaded, for example).
JS_RENDERED = """(brokenTexts) => {
    const notebook = window.harness.panel.content.node;
    const text = notebook.innerText;
    const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const views = [...notebook.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]')];
    return {
        broken: brokenTexts.filter(t => text.includes(t)),
        widgetErrorViews: notebook.querySelectorAll('.widget-error').length,
        widgetViewOutputs: views.length,
        emptyWidgetViews: views.filter(v => !v.querySelector('.jupyter-widgets')).map(
            v => v.closest('[data-harness-cell]').getAttribute('data-harness-cell')),
        figuresAsText: [...notebook.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')]
            .filter(o => /<Figure size [\\d.]+x[\\d.]+ with \\d+ Axes>/.test(o.textContent))
            .map(o => o.closest('[data-harness-cell]').getAttribute('data-harness-cell')),
        visibleWidgets: [...notebook.querySelectorAll('.jupyter-widgets')].filter(visible).length,
        visibleSliders: [...notebook.querySelectorAll('.widget-slider')].filter(visible).length,
    };
}"""

# The explorers: cells whose outputs hold visible, enabled controls (sliders, dropdowns, checkboxes, text boxes).
# Each control is tagged with data-harness-control="<id>" for Playwright; its name is its description label.
JS_EXPLORERS = """(handleSelector) => {
    const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
    const nameOf = (el, fallback) => {
        const label = el.querySelector('.widget-label');
        return (label && label.textContent.trim()) || fallback;
    };
    return [...document.querySelectorAll('[data-harness-cell]')].map(cell => {
        const area = cell.querySelector('.jp-Cell-outputArea');
        if (!area) return null;
        const index = cell.getAttribute('data-harness-cell');
        const sliders = [...area.querySelectorAll('.widget-slider')]
            .filter(s => visible(s) && s.querySelector(handleSelector) && !s.querySelector('[disabled]'));
        const dropdowns = [...area.querySelectorAll('.widget-dropdown')]
            .filter(d => { const s = d.querySelector('select'); return visible(d) && s && !s.disabled
                                                                    && s.options.length > 1; });
        const enabled = (selector, input) => [...area.querySelectorAll(selector)]
            .filter(w => { const i = w.querySelector(input); return visible(w) && i && !i.disabled; });
        const checkboxes = enabled('.widget-checkbox', 'input[type="checkbox"]');
        const texts = enabled('.widget-text', 'input');
        const checkboxName = (el, i) => {   // the first label with text (an empty one may hold the indent)
            const texts = [...el.querySelectorAll('label, span')].map(e => e.textContent.replace(/\u200b/g, '').trim());
            return texts.find(t => t) || `checkbox ${i}`;
        };
        const controls = sliders.map((el, i) => ({el, kind: 'slider', name: nameOf(el, `slider ${i}`)}))
            .concat(dropdowns.map((el, i) => ({el, kind: 'dropdown', name: nameOf(el, `dropdown ${i}`)})))
            .concat(checkboxes.map((el, i) => ({el, kind: 'checkbox', name: checkboxName(el, i)})))
            .concat(texts.map((el, i) => ({el, kind: 'text', name: nameOf(el, `text box ${i}`)})))
            .map((control, i) => {
                const id = `${index}-${i}`;
                control.el.setAttribute('data-harness-control', id);
                return {id, kind: control.kind, name: control.name};
            });
        return controls.length ? {cell: Number(index), controls} : null;
    }).filter(e => e !== null);
}"""

# What an explorer shows: the readouts, a fingerprint of each drawn image, and its other text (labels, HTML, tables).
JS_EXPLORER_SNAPSHOT = """(cellIndex) => {
    const area = document.querySelector(`[data-harness-cell="${cellIndex}"] .jp-Cell-outputArea`);
    const fingerprint = s => {
        let h = 0x811c9dc5;
        for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; }
        return `${s.length}:${h.toString(16)}`;
    };
    const clone = area.cloneNode(true);
    clone.querySelectorAll('.widget-slider, .widget-readout, img, svg, select, input').forEach(e => e.remove());
    return {
        readouts: [...area.querySelectorAll('.widget-readout')].map(e => e.textContent.trim()),
        selected: [...area.querySelectorAll('.widget-dropdown select')].map(e => e.value),
        checked: [...area.querySelectorAll('.widget-checkbox input[type="checkbox"]')].map(e => e.checked),
        typed: [...area.querySelectorAll('.widget-text input')].map(e => e.value),
        images: [...area.querySelectorAll('img')].map(img => fingerprint(img.src))
            .concat([...area.querySelectorAll('.jp-RenderedSVG')].map(svg => fingerprint(svg.innerHTML))),
        text: clone.textContent.replace(/\\s+/g, ' ').trim(),
    };
}"""

# The notebook's scrolling element, as [height of the cells, visible height]; with an offset, scroll it there first.
# (The cells' height, not scrollHeight, which includes JupyterLab's blank space for scrolling past the end.)
JS_SCROLLER = """(offset) => {
    const notebook = window.harness.panel.content.node;
    const scroller = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
    if (offset !== null) scroller.scrollTop = offset;
    const cells = notebook.querySelectorAll('.jp-Cell');
    const last = cells.length ? cells[cells.length - 1].getBoundingClientRect().bottom : 0;
    const cellsHeight = last - scroller.getBoundingClientRect().top + scroller.scrollTop + 20;
    return [Math.ceil(Math.min(cellsHeight, scroller.scrollHeight)), scroller.clientHeight];
}"""


# True once the cells' height has stayed the same for half a second (state in window.harness.lastHeight).
JS_HEIGHT_SETTLED = (
    """() => {
    const [height] = (%s)(null), last = window.harness.lastHeight, now = performance.now();
    if (height !== last.height) { last.height = height; last.since = now; return false; }
    return now - last.since > 500;
}"""
    % JS_SCROLLER
)

# True once JupyterLab has laid the notebook out to the window's height (its bottom edge near the window's).
JS_FILLS_WINDOW = """() => {
    const notebook = window.harness.panel.content.node;
    const scroller = notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
    return scroller.getBoundingClientRect().bottom >= window.innerHeight - 120;
}"""


@dataclass
class NotebookReport:
    """What the harness saw in one notebook; the test passes when `problems` is empty."""

    notebook: str
    problems: list[str] = field(default_factory=list)
    code_cells: int = 0
    visible_widgets: int = 0
    moves: list[str] = field(default_factory=list)  # one line per control moved: what changed
    screenshots: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """A readable account for the assertion message and the test log."""
        lines = [
            f"{self.notebook}: {self.code_cells} code cells, {self.visible_widgets} visible widgets, "
            + ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items())
        ]
        lines += [f"  moved: {move}" for move in self.moves]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems]
        lines += [f"  screenshot: {path}" for path in self.screenshots]
        return "\n".join(lines)


def open_notebook(page, server: LabServer, relpath: str, timeout_s: float = 180) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is started and idle; start listening to it."""
    page.goto(
        f"{server.url}/lab/tree/{relpath}?token={server.token}", wait_until="domcontentloaded"
    )
    page.wait_for_function(JS_NOTEBOOK_READY, arg=relpath, timeout=timeout_s * 1000, polling=250)
    page.evaluate(JS_LISTEN_TO_KERNEL)
    page.evaluate(
        "() => window.jupyterapp.shell.collapseLeft()"
    )  # the file browser takes width from figures
    page.evaluate(f"() => {{ window.harness.snapshot = {JS_EXPLORER_SNAPSHOT}; }}")


def run_all_cells(page, timeout_s: float) -> None:
    """Run all cells (Run > Run All Cells) and wait until the kernel is idle and no cell shows [*]."""
    page.evaluate(JS_RUN_ALL)
    page.wait_for_function(JS_RUN_FINISHED, timeout=timeout_s * 1000, polling=500)
    if page.evaluate(JS_KERNEL_STATUS) not in ("dead", "unknown", "none"):
        wait_for_kernel_quiet(
            page, 60
        )  # widget views that render late may still ask the kernel for their state


def collect_problems(
    page, report: NotebookReport, expect_widgets: bool, finished: bool = True
) -> None:
    """Add to the report: unfinished cells, error outputs, kernel errors, broken or missing widget views.

    Args:
        finished: whether running all cells finished; when not, the cell still running is named, not those after it.
    """
    cells = page.evaluate(JS_CELL_STATES)
    report.code_cells = len(cells)
    running = [cell for cell in cells if cell["running"]]
    if not finished and running:
        report.problems.append(
            f"cell {running[0]['index']} ({running[0]['firstLine']!r}) was still running; "
            f"{len(running) - 1} cell(s) after it were waiting"
        )
    elif finished:
        status = page.evaluate(JS_KERNEL_STATUS)
        if status != "idle":
            report.problems.append(f"kernel is {status!r} after running all cells (did it die?)")
    for cell in cells:
        where = f"cell {cell['index']} ({cell['firstLine']!r})"
        if finished and cell["executionCount"] is None:
            report.problems.append(f"{where} did not run (no execution count)")
        report.problems += [f"{where} error output: {error}" for error in cell["errors"]]
    report.problems += [
        f"kernel error: {error}" for error in page.evaluate("() => window.harness.errors.splice(0)")
    ]
    rendered = page.evaluate(JS_RENDERED, list(BROKEN_TEXTS))
    report.problems += [f"the page shows {text!r}" for text in rendered["broken"]]
    if rendered["widgetErrorViews"]:
        report.problems.append(
            f"{rendered['widgetErrorViews']} widget view(s) failed to render (.widget-error)"
        )
    report.problems += [
        f"cell {cell}: a widget output rendered no widget" for cell in rendered["emptyWidgetViews"]
    ]
    report.problems += [
        f"cell {cell}: a figure is shown as text ('<Figure size ...>'), not drawn"
        for cell in rendered["figuresAsText"]
    ]
    report.visible_widgets = rendered["visibleWidgets"]
    if finished and expect_widgets and rendered["visibleWidgets"] == 0:
        report.problems.append("the notebook uses widgets but no widget is visible")


def fit_viewport_to_notebook(page, width: int = 1280, max_height: int = 15000) -> None:
    """Make the window as tall as the notebook, so that one screenshot shows every cell.

    Waits for the images to load and the cells' height to settle first (typeset math and late figures grow it), and
    after the resize until JupyterLab has laid the notebook out to the window's new height.
    """
    page.wait_for_function(
        "() => [...document.images].every(image => image.complete)", timeout=30000
    )
    page.evaluate("() => { window.harness.lastHeight = {height: -1, since: 0}; }")
    page.wait_for_function(JS_HEIGHT_SETTLED, timeout=30000, polling=100)
    height, _ = page.evaluate(JS_SCROLLER, None)
    page.set_viewport_size({"width": width, "height": min(max_height, max(800, height + 200))})
    page.wait_for_function(JS_FILLS_WINDOW, timeout=30000, polling=100)


def wait_for_kernel_quiet(page, timeout_s: float) -> None:
    """Wait until the kernel has answered every request the page sent (cells run, widget changes) and is idle."""
    page.wait_for_function(JS_KERNEL_QUIET, timeout=timeout_s * 1000, polling=100)


def move_slider(handle) -> str:
    """Focus a slider handle and press an arrow key like a person (right, or left when it sits at its maximum)."""
    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    key = (
        "ArrowLeft"
        if now is not None and top is not None and float(now) >= float(top)
        else "ArrowRight"
    )
    handle.focus()
    handle.press(key)
    return key


def change_dropdown(select) -> str:
    """Choose the next option of a dropdown (the first when on the last), as a person picks from the list."""
    index, count = select.evaluate("s => [s.selectedIndex, s.options.length]")
    choice = (index + 1) % count
    select.select_option(index=choice)
    return f"choosing option {choice}"


def toggle_checkbox(box) -> str:
    """Click a checkbox, as a person does."""
    box.click()
    return "clicking it"


def type_number(field) -> str:
    """Type another whole number into a text box and press Enter: 10 less (10 more when at most 10), or "1" where
    the box holds no number."""
    now = field.input_value().strip()
    value = (int(now) - 10 if int(now) > 10 else int(now) + 10) if now.lstrip("-").isdigit() else 1
    field.fill(str(value))
    field.press("Enter")
    return f"typing {value} + Enter"


VALUE_PART = {"slider": "readouts", "dropdown": "selected", "checkbox": "checked", "text": "typed"}


def describe_change(before: dict, after: dict) -> list[str]:
    """Which parts of an explorer's snapshot changed (readouts, selection, images, text)."""
    return [
        part for part in (*VALUE_PART.values(), "images", "text") if before[part] != after[part]
    ]


def exercise_control(
    page, report: NotebookReport, cell: int, control: dict, timeout_s: float
) -> None:
    """Move one control of the explorer in `cell` and check that its value and what it drives both changed.

    Args:
        control: as JS_EXPLORERS lists it: `id` (its data-harness-control tag), `kind` (slider, dropdown, checkbox,
            text), `name`.
    """
    kind = control["kind"]
    element = page.locator(f'[data-harness-control="{control["id"]}"]')
    where = f"cell {cell} {kind} {control['name']!r}"
    if element.count() == 0:  # an earlier change redrew the explorer's controls
        report.moves.append(f"{where}: gone after an earlier change, not moved")
        return
    value_part = VALUE_PART[kind]
    wait_for_kernel_quiet(page, timeout_s)  # what an earlier change started has been drawn
    before = page.evaluate(JS_EXPLORER_SNAPSHOT, cell)
    if kind == "slider":
        key = move_slider(element.locator(SLIDER_HANDLE).first)
    elif kind == "dropdown":
        key = change_dropdown(element.locator("select"))
    elif kind == "checkbox":
        key = toggle_checkbox(element.locator('input[type="checkbox"]'))
    else:
        key = type_number(element.locator("input").first)
    try:  # the value shown changes in the page at once, before the kernel hears of it
        page.wait_for_function(
            "([cell, part, before]) => JSON.stringify(window.harness.snapshot(cell)[part]) !== JSON.stringify(before)",
            arg=[cell, value_part, before[value_part]],
            timeout=5000,
            polling=100,
        )
    except Exception:  # noqa: BLE001 - a Playwright timeout
        report.problems.append(
            f"{where}: {key} did not change the value shown ({before[value_part]})"
        )
        return
    try:
        wait_for_kernel_quiet(page, timeout_s)
    except Exception:  # noqa: BLE001 - a Playwright timeout: the kernel never answered
        report.problems.append(
            f"{where}: after {key}, the kernel did not process the change within {timeout_s} s"
        )
        return
    try:  # the frontend renders what the kernel sent; wait briefly for the drawing to arrive
        page.wait_for_function(
            """([cell, before]) => {
                const now = window.harness.snapshot(cell);
                return JSON.stringify([now.images, now.text]) !== JSON.stringify([before.images, before.text]);
            }""",
            arg=[cell, before],
            timeout=5000,
            polling=100,
        )
    except Exception:  # noqa: BLE001 - nothing changed: reported below
        pass
    after = page.evaluate(JS_EXPLORER_SNAPSHOT, cell)
    changed = describe_change(before, after)
    report.moves.append(
        f"{where} {key}: {before[value_part]} -> {after[value_part]}, changed {changed}"
    )
    if "images" not in changed and "text" not in changed:
        report.problems.append(f"{where}: {key} changed neither the figure nor the numbers shown")
    if len(after["images"]) != len(set(after["images"])):
        report.problems.append(f"{where}: the same figure is drawn twice after {key}")


def exercise_explorers(page, report: NotebookReport, timeout_s: float) -> None:
    """Change every visible slider, dropdown, checkbox and text box of every explorer, one at a time, checking each
    redraw. (Buttons are left alone: lesson 05's starts a training run; the notebook test presses it from code.)"""
    explorers = page.evaluate(JS_EXPLORERS, SLIDER_HANDLE)
    for explorer in explorers:
        for control in explorer["controls"]:
            exercise_control(page, report, explorer["cell"], control, timeout_s)
    if not explorers:
        report.moves.append("no explorer with a slider, dropdown, checkbox or text box found")


def screenshot(page, report: NotebookReport, artifacts: Path, label: str) -> None:
    """Save the notebook as `<notebook>-<label>.png`; one longer than the window in parts (`-part2`, ...)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    content, visible = page.evaluate(JS_SCROLLER, 0)
    last = max(content - visible, 0)
    offsets = [
        *range(0, last, max(visible, 1)),
        last,
    ]  # window after window, the last one flush with the end
    for part, offset in enumerate(offsets, start=1):
        page.evaluate(JS_SCROLLER, offset)
        suffix = f"-part{part}" if len(offsets) > 1 else ""
        path = artifacts / f"{Path(report.notebook).stem}-{label}{suffix}.png"
        page.screenshot(path=str(path))
        report.screenshots.append(path)
    page.evaluate(JS_SCROLLER, 0)


@contextmanager
def headless_browser():
    """Headless system Chromium through Playwright, closed on exit (one per test module: starting it takes seconds)."""
    # playwright is the browser tests' own dependency, imported only by them
    from playwright.sync_api import sync_playwright

    from jupyter_lab import launch_chromium

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def fresh_page(browser):
    """A new page in its own context; uncaught JavaScript exceptions are collected in ``page.errors``. On exit the
    notebook's kernel is shut down and the context closed."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    try:
        yield page
    finally:
        close_notebook(page)
        context.close()


def close_notebook(page) -> None:
    """Shut the notebook's kernel down from the page (the server finalizer catches any that remain)."""
    try:
        page.evaluate("() => window.harness && window.harness.panel.sessionContext.shutdown()")
    except Exception:  # noqa: BLE001 - best effort: the page may be gone
        pass


def check_notebook(
    page,
    server: LabServer,
    relpath: str,
    artifacts: Path,
    expect_widgets: bool = True,
    run_timeout_s: float = 600,
    move_timeout_s: float = 120,
) -> NotebookReport:
    """Open `relpath`, run all cells, check errors and widgets, move the explorers' controls, take screenshots.

    Args:
        page: a Playwright page (its console errors are collected by the caller).
        server: the JupyterLab server the notebook lives on (`relpath` is relative to its root).
        artifacts: where the screenshots go.
        expect_widgets: whether the notebook must show at least one widget.
        run_timeout_s: how long running all cells may take.
        move_timeout_s: how long the kernel may take to redraw after one control is moved.
    """
    report = NotebookReport(notebook=relpath)
    start = time.monotonic()
    open_notebook(page, server, relpath)
    report.seconds["open"] = time.monotonic() - start
    start = time.monotonic()
    finished = True
    try:
        run_all_cells(page, run_timeout_s)
    except Exception:  # noqa: BLE001 - a Playwright timeout
        finished = False
        report.problems.append(f"running all cells did not finish within {run_timeout_s:.0f} s")
    report.seconds["run all"] = time.monotonic() - start
    collect_problems(page, report, expect_widgets, finished)
    fit_viewport_to_notebook(page)
    screenshot(page, report, artifacts, "1-after-run")
    if not finished or page.evaluate(JS_KERNEL_STATUS) != "idle":
        return report  # no kernel to answer the controls
    start = time.monotonic()
    exercise_explorers(page, report, move_timeout_s)
    report.seconds["explore"] = time.monotonic() - start
    collect_problems(page, report, expect_widgets)
    report.problems = list(
        dict.fromkeys(report.problems)
    )  # each problem once, though seen before and after
    screenshot(page, report, artifacts, "2-after-moves")
    return report

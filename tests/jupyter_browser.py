"""Drive the lessons in JupyterLab in headless Chromium, the way a learner meets them (issue 6).

The pieces, in the order `tests/test_browser.py` uses them:

* `browser_skip_reason()`: why the browser test cannot run here (no Playwright, no Chromium), or None.
* `LabServer.start(...)`: JupyterLab from this Python environment on a free localhost port with a random token,
  rooted at a folder of notebooks, with its own settings (no news popup, every cell attached to the page).
  `LabServer.stop()` shuts the kernels and the server down, and kills the process group if it does not exit.
* `launch_chromium(playwright)`: the system Chromium (Playwright's own download needs the internet).
* `uses_widgets(notebook, package_dir)`: whether a notebook shows widgets (imports ipywidgets, itself or through the
  package, e.g. an explorer or tqdm's notebook progress bar).
* `check_notebook(page, server, path, artifacts)`: open a notebook, run all cells, wait until every code cell has
  finished, look for errors, unrendered widgets and figures shown as text, then move every visible slider of every
  explorer with the arrow keys (and pick another option in its dropdowns) and check that what it drives (figure,
  numbers) changed, again without an error. Screenshots of the whole notebook before and after. Returns a
  `NotebookReport`; the test asserts that its `problems` list is empty.

Errors are caught in three places: the cells' outputs in the notebook model, every kernel message (an `error`, or
stderr with a traceback: a widget callback that raises outside an `Output` only shows in JupyterLab's log console),
and the rendered page ("Error displaying widget", a traceback inside an `Output` widget, a JavaScript exception).

Selectors are those of JupyterLab 4 with ipywidgets 8 (`.noUi-handle`); the jQuery-UI handle of ipywidgets 7
(`.ui-slider-handle`) is accepted as well.
"""
from __future__ import annotations

import ast
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: Flags that keep Chromium quiet and quick on a machine without internet (no GPU, no background services).
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

HOW_TO_ENABLE = (
    "browser test skipped: {why}; to enable it: `apt-get install -y chromium` (Debian) and "
    "`pip install -e .[test]` (Playwright for Python)"
)

#: A slider's draggable handle: noUiSlider in ipywidgets 8, jQuery UI in ipywidgets 7.
SLIDER_HANDLE = ".noUi-handle, .ui-slider-handle"

#: Modules besides ipywidgets itself that show ipywidgets in a notebook.
WIDGET_MODULES = {"tqdm.auto", "tqdm.notebook", "tqdm.autonotebook"}

#: Texts that mean a learner sees a broken widget or a traceback.
BROKEN_TEXTS = (
    "Error displaying widget",
    "model not found",
    "Failed to create view",
    "Failed to load model class",
    "Traceback (most recent call last)",
)

#: JupyterLab user settings for the test server: no news/update toasts over the cells; every cell attached to the
#: DOM (the default windowing leaves off-screen cells unrendered, which hides them from checks and screenshots).
LAB_USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
}


# ----------------------------------------------------------------------------------------------------------------
# What is available here
# ----------------------------------------------------------------------------------------------------------------
def chromium_path() -> str | None:
    """The system Chromium executable (Debian's `chromium` package), or None."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_skip_reason() -> str | None:
    """One line saying why the browser test cannot run on this machine and how to enable it; None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return HOW_TO_ENABLE.format(why="Playwright for Python is not installed")
    if chromium_path() is None:
        return HOW_TO_ENABLE.format(why="no Chromium found (/usr/bin/chromium)")
    return None


def imported_modules(source: str, module: str = "", is_package: bool = False) -> set[str]:
    """The absolute names of the modules a piece of Python code imports.

    `from a.b import c` yields `a`, `a.b` and `a.b.c` (c may be a submodule; importing `a.b` imports `a`). Relative imports are resolved against
    `module` (a package when `is_package`). Lines of IPython magics and shell escapes are ignored.
    """
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    parents = {".".join(name.split(".")[:i]) for name in names for i in range(1, name.count(".") + 1)}
    return (names | parents) - {""}


def module_imports_ipywidgets(name: str, package_dir: Path, seen: set[str] | None = None) -> bool:
    """Whether module `name` of the package in `package_dir` imports ipywidgets (or a module that draws with it, such
    as tqdm's notebook progress bar), directly or through the package's own modules."""
    seen = set() if seen is None else seen
    if name.split(".")[0] == "ipywidgets" or name in WIDGET_MODULES:
        return True
    if name in seen or name.split(".")[0] != package_dir.name:
        return False
    seen.add(name)
    relative = Path(*name.split(".")[1:])
    for path, is_package in ((package_dir / relative / "__init__.py", True), (package_dir / f"{relative}.py", False)):
        if path.is_file():
            imports = imported_modules(path.read_text(encoding="utf-8"), name, is_package)
            return any(module_imports_ipywidgets(other, package_dir, seen) for other in imports)
    return False


def uses_widgets(notebook: Path, package_dir: Path) -> bool:
    """Whether a notebook shows widgets: its code imports ipywidgets, itself or through the package in `package_dir`
    (e.g. `from resnext_edu.live import LiveCurves`, whose curves are drawn in an ipywidgets Output)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    return any(module_imports_ipywidgets(name, package_dir) for name in imported_modules(source))


# ----------------------------------------------------------------------------------------------------------------
# JupyterLab
# ----------------------------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server started by the test; `stop()` it in a finalizer."""

    process: subprocess.Popen
    port: int
    token: str
    root: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, root: Path, workdir: Path, env: dict[str, str] | None = None, timeout_s: float = 90) -> LabServer:
        """Start `python -m jupyterlab` serving `root`; config, runtime and settings live under `workdir`.

        Args:
            root: the folder the server shows (a temporary copy of the notebooks).
            workdir: an empty folder for the server's own files and its log (`lab.log`).
            env: extra environment variables; the kernels inherit them (e.g. RESNEXT_EDU_QUICK=1).
            timeout_s: how long to wait for the server to answer.
        """
        settings_dir = workdir / "user-settings"
        for relpath, settings in LAB_USER_SETTINGS.items():
            (settings_dir / relpath).parent.mkdir(parents=True, exist_ok=True)
            (settings_dir / relpath).write_text(json.dumps(settings), encoding="utf-8")
        for name in ("config", "runtime", "data", "workspaces", "ipython"):
            (workdir / name).mkdir(exist_ok=True)
        port, token = free_port(), secrets.token_hex(16)
        command = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: commands, kernel status, cell models
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        server_env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(workdir / "config"),  # ignore the user's ~/.jupyter
            "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
            "JUPYTER_DATA_DIR": str(workdir / "data"),  # the notebook-signing key goes here, not to ~/.local
            "IPYTHONDIR": str(workdir / "ipython"),  # no startup files or history of the user's profile
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log_path = workdir / "lab.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command, cwd=root, env=server_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = cls(process=process, port=port, token=token, root=root, log_path=log_path)
        try:
            server.wait_until_ready(timeout_s)
        except BaseException:
            server.stop()
            raise
        return server

    def api(self, method: str, path: str, timeout_s: float = 10) -> object:
        """Call the server's REST API (`/api/...`) with the token; returns the decoded JSON body (or None)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until `/api/status` answers; raise with the server log if it exits or does not answer in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout_s=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)  # polling a socket: there is no event to wait on
        raise TimeoutError(f"JupyterLab did not answer within {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's log (its kernels write there too)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-n_chars:]
        except OSError:
            return "(no log)"

    def shutdown_kernels(self) -> None:
        """Shut down every kernel the server runs (a notebook closed in the browser keeps its kernel)."""
        for kernel in self.api("GET", "/api/kernels") or []:
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout_s=30)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass

    def stop(self, timeout_s: float = 20) -> None:
        """Shut the kernels and the server down politely; terminate, then kill its process group if it lingers."""
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
                self.api("POST", "/api/shutdown")
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
        for sig, wait_s in ((None, timeout_s), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            if sig is not None and self.process.poll() is None:
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
            try:
                self.process.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue


# ----------------------------------------------------------------------------------------------------------------
# Chromium
# ----------------------------------------------------------------------------------------------------------------
def launch_chromium(playwright):
    """Headless system Chromium through Playwright (with --no-sandbox when running as root)."""
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=args)


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

# The explorers: cells whose outputs hold visible, enabled controls (sliders, dropdowns). Each control is tagged with
# data-harness-control="<id>" for Playwright; its name is its description label.
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
        const controls = sliders.map((el, i) => ({el, kind: 'slider', name: nameOf(el, `slider ${i}`)}))
            .concat(dropdowns.map((el, i) => ({el, kind: 'dropdown', name: nameOf(el, `dropdown ${i}`)})))
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
    clone.querySelectorAll('.widget-slider, .widget-readout, img, svg, select').forEach(e => e.remove());
    return {
        readouts: [...area.querySelectorAll('.widget-readout')].map(e => e.textContent.trim()),
        selected: [...area.querySelectorAll('.widget-dropdown select')].map(e => e.value),
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
JS_HEIGHT_SETTLED = """() => {
    const [height] = (%s)(null), last = window.harness.lastHeight, now = performance.now();
    if (height !== last.height) { last.height = height; last.since = now; return false; }
    return now - last.since > 500;
}""" % JS_SCROLLER

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
        lines = [f"{self.notebook}: {self.code_cells} code cells, {self.visible_widgets} visible widgets, "
                 + ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items())]
        lines += [f"  moved: {move}" for move in self.moves]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems]
        lines += [f"  screenshot: {path}" for path in self.screenshots]
        return "\n".join(lines)


def open_notebook(page, server: LabServer, relpath: str, timeout_s: float = 180) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is started and idle; start listening to it."""
    page.goto(f"{server.url}/lab/tree/{relpath}?token={server.token}", wait_until="domcontentloaded")
    page.wait_for_function(JS_NOTEBOOK_READY, arg=relpath, timeout=timeout_s * 1000, polling=250)
    page.evaluate(JS_LISTEN_TO_KERNEL)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # the file browser takes width from figures
    page.evaluate(f"() => {{ window.harness.snapshot = {JS_EXPLORER_SNAPSHOT}; }}")


def run_all_cells(page, timeout_s: float) -> None:
    """Run all cells (Run > Run All Cells) and wait until the kernel is idle and no cell shows [*]."""
    page.evaluate(JS_RUN_ALL)
    page.wait_for_function(JS_RUN_FINISHED, timeout=timeout_s * 1000, polling=500)
    if page.evaluate(JS_KERNEL_STATUS) not in ("dead", "unknown", "none"):
        wait_for_kernel_quiet(page, 60)  # widget views that render late may still ask the kernel for their state


def collect_problems(page, report: NotebookReport, expect_widgets: bool, finished: bool = True) -> None:
    """Add to the report: unfinished cells, error outputs, kernel errors, broken or missing widget views.

    Args:
        finished: whether running all cells finished; when not, the cell still running is named, not those after it.
    """
    cells = page.evaluate(JS_CELL_STATES)
    report.code_cells = len(cells)
    running = [cell for cell in cells if cell["running"]]
    if not finished and running:
        report.problems.append(f"cell {running[0]['index']} ({running[0]['firstLine']!r}) was still running; "
                               f"{len(running) - 1} cell(s) after it were waiting")
    elif finished:
        status = page.evaluate(JS_KERNEL_STATUS)
        if status != "idle":
            report.problems.append(f"kernel is {status!r} after running all cells (did it die?)")
    for cell in cells:
        where = f"cell {cell['index']} ({cell['firstLine']!r})"
        if finished and cell["executionCount"] is None:
            report.problems.append(f"{where} did not run (no execution count)")
        report.problems += [f"{where} error output: {error}" for error in cell["errors"]]
    report.problems += [f"kernel error: {error}" for error in page.evaluate("() => window.harness.errors.splice(0)")]
    rendered = page.evaluate(JS_RENDERED, list(BROKEN_TEXTS))
    report.problems += [f"the page shows {text!r}" for text in rendered["broken"]]
    if rendered["widgetErrorViews"]:
        report.problems.append(f"{rendered['widgetErrorViews']} widget view(s) failed to render (.widget-error)")
    report.problems += [f"cell {cell}: a widget output rendered no widget" for cell in rendered["emptyWidgetViews"]]
    report.problems += [f"cell {cell}: a figure is shown as text ('<Figure size ...>'), not drawn"
                        for cell in rendered["figuresAsText"]]
    report.visible_widgets = rendered["visibleWidgets"]
    if finished and expect_widgets and rendered["visibleWidgets"] == 0:
        report.problems.append("the notebook uses widgets but no widget is visible")


def fit_viewport_to_notebook(page, width: int = 1280, max_height: int = 15000) -> None:
    """Make the window as tall as the notebook, so that one screenshot shows every cell.

    Waits for the images to load and the cells' height to settle first (typeset math and late figures grow it), and
    after the resize until JupyterLab has laid the notebook out to the window's new height.
    """
    page.wait_for_function("() => [...document.images].every(image => image.complete)", timeout=30000)
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
    key = "ArrowLeft" if now is not None and top is not None and float(now) >= float(top) else "ArrowRight"
    handle.focus()
    handle.press(key)
    return key


def change_dropdown(select) -> str:
    """Choose the next option of a dropdown (the first when on the last), as a person picks from the list."""
    index, count = select.evaluate("s => [s.selectedIndex, s.options.length]")
    choice = (index + 1) % count
    select.select_option(index=choice)
    return f"choosing option {choice}"


def describe_change(before: dict, after: dict) -> list[str]:
    """Which parts of an explorer's snapshot changed (readouts, selection, images, text)."""
    return [part for part in ("readouts", "selected", "images", "text") if before[part] != after[part]]


def exercise_control(page, report: NotebookReport, cell: int, control: dict, timeout_s: float) -> None:
    """Move one control of the explorer in `cell` and check that its value and what it drives both changed.

    Args:
        control: as JS_EXPLORERS lists it: `id` (its data-harness-control tag), `kind` (slider, dropdown), `name`.
    """
    kind = control["kind"]
    element = page.locator(f'[data-harness-control="{control["id"]}"]')
    where = f"cell {cell} {kind} {control['name']!r}"
    if element.count() == 0:  # an earlier change redrew the explorer's controls
        report.moves.append(f"{where}: gone after an earlier change, not moved")
        return
    value_part = "readouts" if kind == "slider" else "selected"
    wait_for_kernel_quiet(page, timeout_s)  # what an earlier change started has been drawn
    before = page.evaluate(JS_EXPLORER_SNAPSHOT, cell)
    if kind == "slider":
        key = move_slider(element.locator(SLIDER_HANDLE).first)
    else:
        key = change_dropdown(element.locator("select"))
    try:  # the value shown changes in the page at once, before the kernel hears of it
        page.wait_for_function(
            "([cell, part, before]) => JSON.stringify(window.harness.snapshot(cell)[part]) !== JSON.stringify(before)",
            arg=[cell, value_part, before[value_part]], timeout=5000, polling=100,
        )
    except Exception:  # noqa: BLE001 - a Playwright timeout
        report.problems.append(f"{where}: {key} did not change the value shown ({before[value_part]})")
        return
    try:
        wait_for_kernel_quiet(page, timeout_s)
    except Exception:  # noqa: BLE001 - a Playwright timeout: the kernel never answered
        report.problems.append(f"{where}: after {key}, the kernel did not process the change within {timeout_s} s")
        return
    try:  # the frontend renders what the kernel sent; wait briefly for the drawing to arrive
        page.wait_for_function(
            """([cell, before]) => {
                const now = window.harness.snapshot(cell);
                return JSON.stringify([now.images, now.text]) !== JSON.stringify([before.images, before.text]);
            }""",
            arg=[cell, before], timeout=5000, polling=100,
        )
    except Exception:  # noqa: BLE001 - nothing changed: reported below
        pass
    after = page.evaluate(JS_EXPLORER_SNAPSHOT, cell)
    changed = describe_change(before, after)
    report.moves.append(f"{where} {key}: {before[value_part]} -> {after[value_part]}, changed {changed}")
    if "images" not in changed and "text" not in changed:
        report.problems.append(f"{where}: {key} changed neither the figure nor the numbers shown")
    if len(after["images"]) != len(set(after["images"])):
        report.problems.append(f"{where}: the same figure is drawn twice after {key}")


def exercise_explorers(page, report: NotebookReport, timeout_s: float) -> None:
    """Move every visible slider and dropdown of every explorer, one at a time, checking each redraw."""
    explorers = page.evaluate(JS_EXPLORERS, SLIDER_HANDLE)
    for explorer in explorers:
        for control in explorer["controls"]:
            exercise_control(page, report, explorer["cell"], control, timeout_s)
    if not explorers:
        report.moves.append("no explorer with a slider or dropdown found")


def screenshot(page, report: NotebookReport, artifacts: Path, label: str) -> None:
    """Save the notebook as `<notebook>-<label>.png`; one longer than the window in parts (`-part2`, ...)."""
    artifacts.mkdir(parents=True, exist_ok=True)
    content, visible = page.evaluate(JS_SCROLLER, 0)
    last = max(content - visible, 0)
    offsets = [*range(0, last, max(visible, 1)), last]  # window after window, the last one flush with the end
    for part, offset in enumerate(offsets, start=1):
        page.evaluate(JS_SCROLLER, offset)
        suffix = f"-part{part}" if len(offsets) > 1 else ""
        path = artifacts / f"{Path(report.notebook).stem}-{label}{suffix}.png"
        page.screenshot(path=str(path))
        report.screenshots.append(path)
    page.evaluate(JS_SCROLLER, 0)


def close_notebook(page) -> None:
    """Shut the notebook's kernel down from the page (the server finalizer catches any that remain)."""
    try:
        page.evaluate("() => window.harness && window.harness.panel.sessionContext.shutdown()")
    except Exception:  # noqa: BLE001 - best effort: the page may be gone
        pass


def check_notebook(page, server: LabServer, relpath: str, artifacts: Path, expect_widgets: bool = True,
                   run_timeout_s: float = 600, move_timeout_s: float = 120) -> NotebookReport:
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
    report.problems = list(dict.fromkeys(report.problems))  # each problem once, though seen before and after
    screenshot(page, report, artifacts, "2-after-moves")
    return report

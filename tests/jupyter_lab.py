"""JupyterLab and Chromium for the browser test: what is installed, a server, a browser.

* `browser_skip_reason()`: why the browser test cannot run here (no Playwright, no Chromium), or None.
* `LabServer.start(...)`: JupyterLab from this Python environment on a free localhost port with a random token,
  rooted at a folder of notebooks, with its own settings (no news popup, every cell attached to the page).
  `LabServer.stop()` shuts the kernels and the server down, and kills the process group if it does not exit.
* `launch_chromium(playwright)`: the system Chromium (Playwright's own download needs the internet).
* `uses_widgets(notebook, package_dir)`: whether a notebook shows widgets (imports ipywidgets, itself or through the
  package, e.g. an explorer or tqdm's notebook progress bar).

`jupyter_browser.py` drives the notebooks in the page.
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
from dataclasses import dataclass
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

#: Modules besides ipywidgets itself that show ipywidgets in a notebook.
WIDGET_MODULES = {"tqdm.auto", "tqdm.notebook", "tqdm.autonotebook"}

#: JupyterLab user settings for the test server: no news/update toasts over the cells; every cell attached to the
#: DOM (the default windowing leaves off-screen cells unrendered, which hides them from checks and screenshots).
#: JupyterLab's dark theme, for the dark-theme test (tests/test_browser_dark.py).
DARK_THEME_SETTINGS = {
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {"theme": "JupyterLab Dark"}
}

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
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
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
    parents = {
        ".".join(name.split(".")[:i]) for name in names for i in range(1, name.count(".") + 1)
    }
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
    for path, is_package in (
        (package_dir / relative / "__init__.py", True),
        (package_dir / f"{relative}.py", False),
    ):
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
    def start(
        cls,
        root: Path,
        workdir: Path,
        env: dict[str, str] | None = None,
        timeout_s: float = 90,
        settings: dict[str, dict] | None = None,
    ) -> LabServer:
        """Start `python -m jupyterlab` serving `root`; config, runtime and settings live under `workdir`.

        Args:
            root: the folder the server shows (a temporary copy of the notebooks).
            workdir: an empty folder for the server's own files and its log (`lab.log`).
            env: extra environment variables; the kernels inherit them (e.g. RESNEXT_EDU_QUICK=1).
            timeout_s: how long to wait for the server to answer.
            settings: more user settings, file name -> JSON (e.g. DARK_THEME_SETTINGS), beside LAB_USER_SETTINGS.
        """
        settings_dir = workdir / "user-settings"
        for relpath, values in {**LAB_USER_SETTINGS, **(settings or {})}.items():
            (settings_dir / relpath).parent.mkdir(parents=True, exist_ok=True)
            (settings_dir / relpath).write_text(json.dumps(values), encoding="utf-8")
        for name in ("config", "runtime", "data", "workspaces", "ipython"):
            (workdir / name).mkdir(exist_ok=True)
        port, token = free_port(), secrets.token_hex(16)
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
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
            "JUPYTER_DATA_DIR": str(
                workdir / "data"
            ),  # the notebook-signing key goes here, not to ~/.local
            "IPYTHONDIR": str(
                workdir / "ipython"
            ),  # no startup files or history of the user's profile
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log_path = workdir / "lab.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=root,
                env=server_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
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
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/api/status", timeout_s=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)  # polling a socket: there is no event to wait on
        raise TimeoutError(
            f"JupyterLab did not answer within {timeout_s:.0f} s:\n{self.log_tail()}"
        )

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

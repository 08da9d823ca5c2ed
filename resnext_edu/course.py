"""What every lesson shares: where the course lives (defined here once), quick mode, the device, the setup cell.

The device comes from :mod:`resnext_edu.device` (``course.device()``; its description is
``resnext_edu.device.describe_device``).

A fork changes ``REPOSITORY`` here (a release changes ``REVISION``, through ``__version__``), then runs
``python -m resnext_edu.course`` to rewrite every notebook's "Open in Colab" badge, runtime line, Colab metadata and
setup cell; a test checks that they agree with this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from . import __version__
from .device import pick_device
from .i18n import language  # noqa: F401  (the Chinese lessons call course.language("zh"))

REPOSITORY = "resnext-edu/resnext-edu"  # GitHub owner/name
REVISION = (
    f"v{__version__}"  # the release tag: Colab opens the lessons and installs the package from it
)
REPO_URL = f"https://github.com/{REPOSITORY}"
INSTALL = f"resnext-edu @ git+{REPO_URL}@{REVISION}"  # what the setup cell installs on Colab (a pip argument)
INSTALL_ENV = (
    "RESNEXT_EDU_INSTALL"  # overrides INSTALL, e.g. a checkout's path (the Colab simulation test)
)
QUICK_ENV = "RESNEXT_EDU_QUICK"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
GPU_LESSONS = (
    "05",
    "06",
    "07",
)  # lessons that train for minutes: Colab opens them on a GPU runtime
ON_A_MAC = (
    "On a Mac with Apple silicon it runs on the GPU through MPS, in fp32 "
    "(resnext_edu.device says what MPS does and does not do)."
)
RUNTIME_GPU = (
    "**Runtime:** a GPU. Colab opens this lesson on a GPU runtime (Runtime > Change runtime type "
    "shows it); a CPU runs it too. " + ON_A_MAC
)
RUNTIME_CPU = "**Runtime:** a CPU is enough (Colab's default runtime; no GPU needed). " + ON_A_MAC
SETUP_TITLE = "# @title Setup: installs resnext-edu on Colab, does nothing elsewhere"
# The setup cell's metadata: Colab shows a form cell as its title only; JupyterLab collapses a hidden source.
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}}
SETUP_STARTS = (
    "# Setup:",
    "# @title Setup:",
)  # how the setup cell begins, in older lessons and now


def colab_badge(notebook: str) -> str:
    """The markdown of the "Open in Colab" badge for ``notebooks/<notebook>`` at :data:`REVISION`."""
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{REVISION}/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def wants_gpu(notebook: str) -> bool:
    """Whether lesson ``notebook`` (a file name such as ``05_cardinality_sweep.ipynb``) asks Colab for a GPU."""
    return notebook[:2] in GPU_LESSONS


def runtime_line(notebook: str) -> str:
    """The line under each lesson's badge that says which runtime it wants."""
    return RUNTIME_GPU if wants_gpu(notebook) else RUNTIME_CPU


def colab_metadata(notebook: str) -> dict:
    """The notebook-level metadata Colab reads: ``accelerator: GPU`` (and a T4, the free GPU) opens a GPU runtime."""
    return (
        {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
        if wants_gpu(notebook)
        else {}
    )


def setup_cell() -> str:
    """The one setup cell, a Colab form cell (:data:`SETUP_METADATA`) that a learner sees as its title line.

    On Colab (detected by ``google.colab``) it pip-installs :data:`INSTALL` (or the pip argument in
    ``$RESNEXT_EDU_INSTALL``); elsewhere it does nothing. A failed install stops the notebook with one line (the
    error of git or pip, e.g. no internet or an unknown revision) instead of pip's long report."""
    return f"""\
{SETUP_TITLE}
import os, subprocess, sys
if "google.colab" in sys.modules:
    source = os.environ.get("{INSTALL_ENV}", "{INSTALL}")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-color", source],
                         capture_output=True, text=True)
    if pip.returncode != 0:
        said = [line.strip() for line in pip.stderr.splitlines() if line.strip()] or ["pip gave no reason"]
        why = next((line for line in said if line.startswith(("fatal:", "error: pathspec", "ERROR:"))), said[-1])
        class SetupFailed(Exception):
            def _render_traceback_(self):  # IPython shows this one line instead of a traceback
                return [str(self)]
        raise SetupFailed(f"Setup failed: could not install {{source}} (no internet? unknown revision?): {{why}}")"""


def quick_mode(default: bool = False) -> bool:
    """The lesson's mode: ``default`` (the settings cell's choice), forced to True by ``RESNEXT_EDU_QUICK=1``."""
    value = os.environ.get(QUICK_ENV, "").strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return default


def device() -> torch.device:
    """The device the lessons use: :func:`resnext_edu.device.pick_device`'s "auto", the same choice as
    ``TrainConfig(device="auto")``: a CUDA GPU (Colab's T4) when there is one, else Apple's MPS on a Mac, else the
    CPU. On a Mac every lesson runs on MPS in fp32 (no autocast there, :mod:`resnext_edu.device`)."""
    return pick_device("auto")


def _with_runtime_line(markdown: str, notebook: str) -> str:
    """The first markdown cell with its badge line from this file and, after it, one runtime line."""
    lines = [line for line in markdown.splitlines() if not line.startswith("**Runtime:**")]
    badge = next(i for i, line in enumerate(lines) if "colab-badge.svg" in line)
    lines[badge] = colab_badge(notebook)
    while (
        badge + 1 < len(lines) and not lines[badge + 1].strip()
    ):  # the blank lines the old runtime line left
        del lines[badge + 1]
    lines[badge + 1 : badge + 1] = ["", runtime_line(notebook), ""]
    return "\n".join(lines)


def update_notebooks(folder: Path = NOTEBOOKS) -> list[str]:
    """Rewrite every lesson's badge and runtime line (the first markdown cell with the badge), its Colab metadata and
    its setup cell (the code cell starting with one of :data:`SETUP_STARTS`, given :data:`SETUP_METADATA`) from
    this file; returns the names of changed files."""
    import nbformat  # a dependency of the notebook tools, not of the package

    changed = []
    for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        badge_done = False
        for cell in nb.cells:
            if cell.cell_type == "markdown" and "colab-badge.svg" in cell.source and not badge_done:
                cell.source, badge_done = _with_runtime_line(cell.source, path.name), True
            elif cell.cell_type == "code" and cell.source.startswith(SETUP_STARTS):
                cell.source = setup_cell()
                cell.metadata.update(SETUP_METADATA)
        for key in ("accelerator", "colab"):
            nb.metadata.pop(key, None)
        nb.metadata.update(colab_metadata(path.name))
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            changed.append(path.name)
    return changed


if __name__ == "__main__":
    names = update_notebooks()
    print(
        "updated: "
        + (", ".join(names) if names else "nothing (all notebooks agree with course.py)")
    )
    sys.exit(0)

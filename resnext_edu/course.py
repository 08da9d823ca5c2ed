"""What every lesson shares: where the course lives (defined here once), quick mode, the device, the setup cell.

The device and its description come from :mod:`resnext_edu.device` (``course.device()``, ``course.describe_device``).

A fork changes ``REPOSITORY`` (and ``BRANCH``) here, then runs ``python -m resnext_edu.course`` to rewrite every
notebook's "Open in Colab" badge and setup cell; a test checks that they agree with this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from .device import describe_device, pick_device  # noqa: F401  (describe_device: the lessons call it)

REPOSITORY = "resnext-edu/resnext-edu"      # GitHub owner/name
BRANCH = "main"
REPO_URL = f"https://github.com/{REPOSITORY}"
QUICK_ENV = "RESNEXT_EDU_QUICK"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def colab_badge(notebook: str) -> str:
    """The markdown of the "Open in Colab" badge for ``notebooks/<notebook>``."""
    url = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def setup_cell() -> str:
    """The one setup cell: installs the package on Colab (detected by ``google.colab``), does nothing elsewhere."""
    return (
        "# Setup: on Google Colab this installs the course package; on your own machine (`make lab`) it does nothing.\n"
        "import subprocess, sys\n"
        "if \"google.colab\" in sys.modules:\n"
        f"    subprocess.run([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", "
        f"\"resnext-edu @ git+{REPO_URL}@{BRANCH}\"], check=True)"
    )


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


def update_notebooks(folder: Path = NOTEBOOKS) -> list[str]:
    """Rewrite every lesson's badge (first markdown line starting with the badge) and setup cell from this file."""
    import nbformat   # a development dependency: only when rewriting the notebooks

    changed = []
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and "colab-badge.svg" in cell.source:
                lines = cell.source.splitlines()
                cell.source = "\n".join(colab_badge(path.name) if "colab-badge.svg" in line else line
                                        for line in lines)
            elif cell.cell_type == "code" and cell.source.startswith("# Setup:"):
                cell.source = setup_cell()
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            changed.append(path.name)
    return changed


if __name__ == "__main__":
    names = update_notebooks()
    print("updated: " + (", ".join(names) if names else "nothing (all notebooks agree with course.py)"))
    sys.exit(0)

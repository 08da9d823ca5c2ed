"""A lesson run as on Google Colab, as close as a machine without Colab gets (`make test-colab`, part of `.ci/run`).

`make test-colab` builds ``.venv-colab`` with what a Colab runtime holds before a lesson starts: torch, torchvision,
numpy, matplotlib, tqdm, Pillow, ipywidgets 7.7 and the classic notebook 6.5 (Colab's versions), ipykernel; no
JupyterLab and not this package. This test then executes lesson 06 (a GPU lesson; ``RESNEXT_EDU_COLAB_LESSON`` picks
another) with nbclient in quick mode, in a folder outside the checkout (Colab's /content), with:

* a fake ``google.colab`` (tests/fixtures/fake_colab on PYTHONPATH), so the setup cell takes its Colab branch;
* ``RESNEXT_EDU_INSTALL`` = this checkout, so the setup cell's pip install builds and installs the package from it,
  non-editable, as it would from the repository at the release tag.

Then it checks what the kernel imported: the package from site-packages (a non-editable install), ipywidgets 7.7,
and no JupyterLab. Elsewhere (``make test``) it skips: it installs into the environment it runs in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from kernel_client import NudgingClient  # noqa: E402  (tests/kernel_client.py)

REPO = Path(__file__).resolve().parent.parent
FAKE_COLAB = Path(__file__).resolve().parent / "fixtures" / "fake_colab"
LESSON = os.environ.get("RESNEXT_EDU_COLAB_LESSON", "06_train_resnext29")
INSTALL_ENV = "RESNEXT_EDU_INSTALL"  # resnext_edu.course.INSTALL_ENV (not imported: the package is not installed)

pytestmark = pytest.mark.skipif(
    os.environ.get("RESNEXT_EDU_COLAB_SIMULATION") != "1",
    reason="the Colab simulation runs in its own environment: `make test-colab`",
)

# The last cell appended to the lesson: what the Colab kernel actually imported.
REPORT_CELL = """\
import importlib.metadata, importlib.util, json, sys
import ipywidgets, resnext_edu
direct_url = json.loads(importlib.metadata.distribution("resnext-edu").read_text("direct_url.json") or "{}")
print("COLAB-REPORT " + json.dumps({"package_file": resnext_edu.__file__, "prefix": sys.prefix,
      "direct_url": direct_url, "ipywidgets": ipywidgets.__version__, "colab": "google.colab" in sys.modules,
      "jupyterlab": importlib.util.find_spec("jupyterlab") is not None}))"""


def pip(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True
    )


def test_a_lesson_runs_on_simulated_colab_after_its_setup_cell_installs_the_package(
    tmp_path, monkeypatch
):
    content = tmp_path / "content"  # Colab's working folder; the checkout is not on its path
    content.mkdir()
    # as on a fresh runtime: neither the package nor its dependency that Colab lacks (torchinfo) is installed yet
    uninstall = pip("uninstall", "-y", "resnext-edu", "torchinfo", cwd=content)
    assert uninstall.returncode == 0, uninstall.stderr
    cache = (
        REPO / "data" / "cifar10-uint8.pt"
    )  # the data a Colab user would download, when there is a copy
    if cache.exists():
        (content / "data").mkdir()
        (content / "data" / cache.name).symlink_to(cache)
    elif not os.environ.get("RESNEXT_EDU_DATA"):
        pytest.fail(
            f"no CIFAR-10 for the lesson: neither {cache} nor RESNEXT_EDU_DATA (tests/conftest.py sets it "
            f"when ../shared/data/cifar10-jpeg.tar.gz is there)"
        )

    monkeypatch.setenv("PYTHONPATH", str(FAKE_COLAB))
    monkeypatch.setenv(INSTALL_ENV, str(REPO))
    monkeypatch.setenv("RESNEXT_EDU_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(REPO / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
    client = NudgingClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(content)}}
    )
    try:
        client.execute()
    finally:
        artifacts = REPO / "test-artifacts" / "colab"
        artifacts.mkdir(parents=True, exist_ok=True)
        nbformat.write(
            nb, artifacts / f"{LESSON}.ipynb"
        )  # the executed lesson, for a look when it failed
    errors = [
        f"{o.get('ename')}: {o.get('evalue')}"
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"{LESSON} on simulated Colab: {errors}"

    lines = [o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream"]
    report = json.loads("".join(lines).split("COLAB-REPORT ", 1)[1])
    assert report["colab"], "the fake google.colab was not imported at kernel start"
    assert Path(report["package_file"]).is_relative_to(Path(report["prefix"])), (
        f"the kernel imported {report['package_file']}, not the package installed into {report['prefix']}"
    )
    assert not Path(report["package_file"]).is_relative_to(REPO / "resnext_edu"), (
        "it imported the checkout"
    )
    assert report["direct_url"].get("url") == REPO.as_uri(), report["direct_url"]
    assert not report["direct_url"].get("dir_info", {}).get("editable", False), (
        "installed editable; Colab's is not"
    )
    assert report["ipywidgets"].startswith("7.7."), report["ipywidgets"]
    assert not report["jupyterlab"], "JupyterLab is installed; Colab has none"
    shutil.rmtree(content, ignore_errors=True)

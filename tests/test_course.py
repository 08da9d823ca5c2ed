"""What the lessons show Colab: the runtime each asks for, and the setup cell's install on Colab (resnext_edu/course.py).

The setup cell runs in a real Jupyter kernel with a fake ``google.colab`` (tests/fixtures/fake_colab), so it takes its
Colab branch; the installs here are made to fail (unknown revision, unreachable host), so nothing is installed. The
successful install from a checkout, in a Colab-like environment, is tests/colab_simulation.py (`make test-colab`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from kernel_client import NudgingClient  # noqa: E402  (tests/kernel_client.py)
from resnext_edu import course  # noqa: E402

FAKE_COLAB = Path(__file__).resolve().parent / "fixtures" / "fake_colab"
LESSONS = sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
TRAINING_LESSONS = {"05", "06", "07"}  # the issue: lessons 05, 06 and 07 open on a GPU runtime


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_says_its_runtime_and_colab_opens_it_on_that_runtime(path):
    nb = nbformat.read(path, as_version=4)
    lines = nb.cells[0].source.splitlines()
    badge = next(i for i, line in enumerate(lines) if "colab-badge.svg" in line)
    runtime = [line for line in lines if line.startswith("**Runtime:**")]
    assert runtime == [lines[badge + 2]] and not lines[badge + 1], (
        f"{path.name}: one '**Runtime:**' line, right under the Colab badge (`python -m resnext_edu.course` writes it)"
    )
    if path.name[:2] in TRAINING_LESSONS:
        # Colab's own notebook format: "accelerator": "GPU" at the top level of the metadata opens a GPU runtime
        assert nb.metadata.get("accelerator") == "GPU", (
            f"{path.name} should open on a Colab GPU runtime"
        )
        assert "GPU" in runtime[0]
    else:
        assert "accelerator" not in nb.metadata, (
            f"{path.name} needs no GPU; Colab should open it on its default CPU"
        )
        assert "CPU" in runtime[0]


def run_setup_cell(tmp_path: Path, monkeypatch, install: str, on_colab: bool) -> list[dict]:
    """Executes the lessons' setup cell in a fresh kernel; returns its outputs."""
    monkeypatch.setenv(course.INSTALL_ENV, install)
    if on_colab:
        monkeypatch.setenv("PYTHONPATH", str(FAKE_COLAB))
    else:
        monkeypatch.delenv("PYTHONPATH", raising=False)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(course.setup_cell()),
            nbformat.v4.new_code_cell("print('after setup')"),
        ]
    )
    client = NudgingClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError:
        pass
    return nb.cells[0].outputs + nb.cells[1].outputs


def git_repo_without_tags(folder: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(folder),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "empty",
        ],
        check=True,
    )
    return folder


@pytest.mark.parametrize("case", ["unknown revision", "no internet"])
def test_failed_install_on_colab_stops_the_lesson_with_one_line(case, tmp_path, monkeypatch):
    if case == "unknown revision":
        install, cause = (
            f"git+file://{git_repo_without_tags(tmp_path / 'repo')}@v0.0.404",
            "did not match",
        )
    else:  # port 9 (discard) on this machine: the connection is refused at once, like a host without internet
        install, cause = "git+https://127.0.0.1:9/resnext-edu.git@v0.1.0", "unable to access"
    outputs = run_setup_cell(tmp_path, monkeypatch, install, on_colab=True)
    assert [o["output_type"] for o in outputs] == ["error"], (
        f"one error and nothing after it: {outputs}"
    )
    (line,) = outputs[0]["traceback"]
    assert (
        line.startswith("Setup failed: could not install ") and install in line and cause in line
    ), line
    assert "\n" not in line


def test_setup_cell_installs_nothing_off_colab(tmp_path, monkeypatch):
    # the install it would try fails at once; no output at all shows it was not tried
    outputs = run_setup_cell(
        tmp_path, monkeypatch, str(tmp_path / "no-such-checkout"), on_colab=False
    )
    assert outputs == [{"output_type": "stream", "name": "stdout", "text": "after setup\n"}]


def test_update_notebooks_writes_badge_runtime_line_metadata_and_setup_cell(tmp_path):
    """A lesson as it was before this file knew runtimes (a badge at ``main``, the old one-line setup cell)."""
    old_setup = (
        "# Setup: on Google Colab this installs the course package.\nimport subprocess, sys\n"
        'if "google.colab" in sys.modules:\n    subprocess.run([sys.executable, "-m", "pip", "install"])'
    )
    old_badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://x/blob/main/y)"
    for name in ("01_a.ipynb", "06_b.ipynb"):
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell(f"# Title\n\n{old_badge}\n\nText."),
                nbformat.v4.new_code_cell(old_setup),
            ]
        )
        nbformat.write(nb, tmp_path / name)
    assert course.update_notebooks(tmp_path) == ["01_a.ipynb", "06_b.ipynb"]
    assert course.update_notebooks(tmp_path) == []  # a second run changes nothing
    for name, runtime, accelerator in (
        ("01_a.ipynb", "a CPU is enough", None),
        ("06_b.ipynb", "a GPU", "GPU"),
    ):
        nb = nbformat.read(tmp_path / name, as_version=4)
        badge_url = f"https://colab.research.google.com/github/{course.REPOSITORY}/blob/{course.REVISION}/notebooks/{name}"
        title, blank, badge, blank2, runtime_line, blank3, text = nb.cells[0].source.splitlines()
        assert (title, badge_url in badge, runtime in runtime_line, text) == (
            "# Title",
            True,
            True,
            "Text.",
        )
        assert nb.cells[1].source == course.setup_cell()
        # Colab's notebook format shows a "form" cell as its "# @title" line; Jupyter's hides a source_hidden input
        assert nb.cells[1].source.splitlines()[0].startswith("# @title Setup:")
        assert nb.cells[1].metadata["cellView"] == "form"
        assert nb.cells[1].metadata["jupyter"] == {"source_hidden": True}
        assert nb.metadata.get("accelerator") == accelerator

"""What a user installing the package sees: its declared dependencies, licence, URLs, version and model list."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from resnext_edu import __version__, course, models

try:
    import tomllib  # Python >= 3.11
except ModuleNotFoundError:
    tomllib = None

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = (
    tomllib.loads((REPO / "pyproject.toml").read_text())
    if tomllib
    else {"project": {"dependencies": []}}
)
needs_tomllib = pytest.mark.skipif(
    tomllib is None, reason="reading pyproject.toml needs tomllib (Python >= 3.11)"
)
IMPORT_NAME = {
    "pillow": "PIL",
    "scikit-image": "skimage",
}  # distributions whose import name differs from their own


def declared() -> list[str]:
    return [
        re.split(r"[<>=!~ \[;]", requirement, maxsplit=1)[0].lower()
        for requirement in PYPROJECT["project"]["dependencies"]
    ]


def imported_anywhere(module: str) -> bool:
    """Whether the package or a lesson imports ``module`` (an ``import x`` or ``from x`` statement)."""
    statement = re.compile(rf"^\s*(?:\"\s*)?(?:import|from)\s+{re.escape(module)}\b", re.MULTILINE)
    files = [*(REPO / "resnext_edu").rglob("*.py"), *(REPO / "notebooks").glob("*.ipynb")]
    return any(statement.search(path.read_text(encoding="utf-8")) for path in files)


@needs_tomllib
@pytest.mark.parametrize("distribution", declared())
def test_every_declared_dependency_is_imported(distribution):
    assert imported_anywhere(IMPORT_NAME.get(distribution, distribution)), (
        f"{distribution} is declared in pyproject.toml but nothing in resnext_edu/ or notebooks/ imports it"
    )


@needs_tomllib
def test_pillow_is_declared_because_data_imports_it():
    assert imported_anywhere("PIL") and "pillow" in declared()


@needs_tomllib
def test_licence_is_an_spdx_string_with_its_file():
    assert (
        PYPROJECT["project"]["license"] == "MIT"
    )  # PEP 639; the {text = ...} table form is deprecated
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


@needs_tomllib
def test_project_urls_are_the_one_address_of_course_py():
    urls = PYPROJECT["project"]["urls"]
    assert urls["Source"] == urls["Homepage"] == course.REPO_URL, (
        "pyproject.toml's [project.urls] disagree with resnext_edu/course.py's REPOSITORY; a fork changes both"
    )
    assert urls["Issues"] == f"{course.REPO_URL}/issues"


def test_version_on_the_command_line_is_the_installed_distributions():
    out = subprocess.run(
        [sys.executable, "-m", "resnext_edu", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    assert (
        out.strip()
        == f"resnext-edu {importlib.metadata.version('resnext-edu')}"
        == f"resnext-edu {__version__}"
    )


def test_list_models_filters_like_timm():
    everything = models.list_models()
    assert models.list_models(filter="resnext*") == [
        n for n in everything if n.startswith("resnext")
    ]
    assert models.list_models("*_32x*") == [n for n in everything if "_32x" in n]
    assert models.list_models(["resnet*", "resnext50*"]) == [
        n for n in everything if n.startswith("resnet") or n.startswith("resnext50")
    ]
    assert models.list_models("RESNEXT*") == []  # case-sensitive, as timm
    assert models.list_models("") == models.list_models([]) == everything
    with pytest.raises(TypeError, match="pattern string"):
        models.list_models(filter=29)

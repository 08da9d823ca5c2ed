"""Build the course as a static website (``make site``): every lesson executed, with its figures.

    python site/build.py                       # the English edition into site/_build/html
    RESNEXT_EDU_QUICK=1 python site/build.py   # quick mode, as CI builds it
    python site/build.py --language zh_CN --notebooks notebooks/zh --out site/_build/zh/html \
        --copy-into site/_build/html/zh      # the Chinese edition, published inside the English one

Sphinx with MyST-NB does the work (``site/conf.py``). This script lays out the pages Sphinx reads (the home page
with its lesson table, the reference page, the lessons copied from ``--notebooks``), fetches MathJax once from npm so that the site needs no CDN, sets what the lessons' kernels need
(the real CIFAR-10 folder, quick mode, this checkout's package) and runs ``sphinx-build``, which fails on any cell
error and on any Sphinx warning.

MyST-NB writes the lessons' images a second time into ``jupyter_execute/`` beside the output folder (``<out>/..``),
so an edition is never built straight into another one's folder: the Chinese edition is built into
``site/_build/zh/html`` and ``--copy-into`` then puts a copy of it at ``site/_build/html/zh``, where the language
switch (site/_ext/language_switch.py) expects it.

The lessons run through MyST-NB's execution cache: a rebuild executes again only the lessons whose code changed. The
cache folder is named after the mode and a hash of the package's source and data files, so a change to the package
(which every lesson imports) runs every lesson again, and a quick build never serves a default build's outputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

SITE = Path(__file__).resolve().parent
REPO = SITE.parent
BUILD = SITE / "_build"
VENDOR = BUILD / "vendor"  # files fetched for the site (MathJax), kept between builds
MATHJAX = "mathjax@3"  # npm's MathJax 3: one self-contained es5/ folder, fonts included
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y", "adaptors")

sys.path.insert(0, str(REPO))
from resnext_edu import course  # noqa: E402  (after the sys.path line above)

#: Seconds one cell, and all the cells of one lesson, may take (nbclient's per-cell timeout; the lesson's budget),
#: by mode. A default-mode training cell takes minutes on a CPU; a quick-mode lesson under one minute.
TIMEOUTS = {"quick": (300, 900), "default": (2400, 5400)}

#: The modules of the reference page, in the order of the lessons that introduce them.
REFERENCE_MODULES = (
    "blocks",
    "models",
    "counting",
    "train",
    "stats",
    "sweep",
    "pretrained",
    "widgets",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--language", default="en", help="the edition's language (Sphinx's `language`)"
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        default=REPO / "notebooks",
        help="the folder of the lessons (*.ipynb) and glossary.md of this edition",
    )
    parser.add_argument("--out", type=Path, default=BUILD / "html", help="where the HTML goes")
    parser.add_argument(
        "--cache",
        type=Path,
        default=BUILD / "jupyter-cache",
        help="the folder of MyST-NB's execution caches",
    )
    parser.add_argument(
        "--copy-into",
        type=Path,
        help="after a successful build, replace this folder with a copy of the HTML (the Chinese edition: "
        "site/_build/html/zh)",
    )
    args = parser.parse_args(argv)
    if (args.out.resolve().parent / "index.html").is_file():
        parser.error(
            f"--out {args.out} is inside a built site ({args.out.resolve().parent}), and MyST-NB writes "
            "jupyter_execute/ beside the output folder, so it would be published twice; build into "
            "another folder and --copy-into this one (site/_build/zh/html --copy-into site/_build/html/zh)"
        )

    quick = course.quick_mode(False)
    mode = "quick" if quick else "default"
    work = work_folder(args.language, args.out.resolve())
    source = stage(work / "src", args.notebooks.resolve(), args.language)
    cache = execution_cache(args.cache.resolve(), mode)
    vendor_mathjax()
    env = kernel_environment(quick)
    # -E: every page is read again (from the execution cache: nothing is executed again for it), because
    # sphinx-codeautolink keeps the links of .ipynb pages only for the pages it has just read.
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-E",
        "-W",
        "--keep-going",
        "-c",
        str(SITE),
        "-d",
        str(work / "doctrees"),
        "-D",
        f"language={args.language}",
        "-D",
        f"nb_execution_cache_path={cache}",
        "-D",
        f"resnext_edu_mode={mode}",
        "-D",
        f"nb_execution_timeout={TIMEOUTS[mode][0]}",
        "-D",
        f"resnext_edu_lesson_timeout={TIMEOUTS[mode][1]}",
        str(source),
        str(args.out.resolve()),
    ]
    print(
        f"site: {mode} mode, {args.language}, lessons from {args.notebooks}, into {args.out}",
        flush=True,
    )
    status = subprocess.run(command, env=env, check=False).returncode
    if status != 0:
        print(
            f"site: the build failed (sphinx-build exit {status}); the lessons it read are copies of "
            f"{args.notebooks}/ in {source / 'notebooks'}/ (a failed cell is shown above, after "
            "'Executing notebook failed')",
            flush=True,
        )
    elif args.copy_into is not None:
        copy_into(args.out.resolve(), args.copy_into.resolve())
    return status


def copy_into(html: Path, target: Path) -> None:
    """``target`` replaced by a copy of the built ``html`` (Sphinx's build info and object inventory included)."""
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(html, staging)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging, target)
    print(f"site: copied {html} into {target}", flush=True)


# ----------------------------------------------------------------------------------------------------------------
# The pages Sphinx reads
# ----------------------------------------------------------------------------------------------------------------
def lessons(folder: Path) -> list[Path]:
    """The lessons of ``folder`` in course order: ``NN_name.ipynb`` (the appendix is 90_)."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def work_folder(language: str, out: Path) -> Path:
    """``site/_build/work/<language>-<hash of out>/``: the pages Sphinx reads (src/) and its doctrees, one folder
    per edition and output, so that a test's build does not disturb ``make site``'s."""
    return BUILD / "work" / f"{language}-{hashlib.sha256(str(out).encode()).hexdigest()[:12]}"


def stage(source: Path, notebooks: Path, language: str = "en") -> Path:
    """Lay out ``source``: index.md, reference.md and notebooks/ (copies of the lessons and of glossary.md). A file
    is rewritten only when its content changed."""
    found = lessons(notebooks)
    if not found:
        raise SystemExit(f"site: no lessons (NN_name.ipynb) in {notebooks}")
    wanted = {"index.md": home_page(found, notebooks, language), "reference.md": reference_page()}
    copies = {f"notebooks/{path.name}": path for path in found}
    glossary = notebooks / "glossary.md"
    if glossary.is_file():
        copies["notebooks/glossary.md"] = glossary
    for name, text in wanted.items():
        write_if_changed(source / name, text)
    for name, path in copies.items():
        target = source / name
        if not target.is_file() or target.read_bytes() != path.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    for old in (source / "notebooks").iterdir():  # a lesson renamed or removed since the last build
        if f"notebooks/{old.name}" not in copies:
            old.unlink()
    return source


def write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def title_of(path: Path) -> str:
    """The lesson's title: the first markdown heading of its first cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for line in "".join(cells[0]["source"]).splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise SystemExit(
        f"site: {path.name} does not start with a title (a markdown cell whose first line is '# ...')"
    )


#: The home page's words by edition: the lesson table's header, "Appendix", the two runtimes.
HOME_WORDS = {
    "en": ("| | Lesson | Runtime |", "Appendix", "GPU (a CPU runs it too)", "CPU"),
    "zh_CN": ("| | 课程 | 运行环境 |", "附录", "GPU（CPU 也能运行）", "CPU"),
}


def home_page(found: list[Path], notebooks: Path, language: str = "en") -> str:
    """site/pages/index.md (pages/<language>/index.md where there is one) with the lesson table and the table of
    contents filled in."""
    header, appendix, gpu, cpu = HOME_WORDS.get(language, HOME_WORDS["en"])
    rows = [header, "| --- | --- | --- |"]
    for path in found:
        number = appendix if path.name.startswith("9") else path.name[:2]
        runtime = gpu if course.wants_gpu(path.name) else cpu
        rows.append(f"| {number} | [{title_of(path)}](notebooks/{path.name}) | {runtime} |")
    pages = [f"notebooks/{path.stem}" for path in found]
    if (notebooks / "glossary.md").is_file():
        pages.append("notebooks/glossary")
    toctree = "\n".join(
        ["```{toctree}", ":maxdepth: 1", ":hidden:", "", *pages, "reference", "```"]
    )
    translated = SITE / "pages" / language / "index.md"
    template = (translated if translated.is_file() else SITE / "pages" / "index.md").read_text(
        encoding="utf-8"
    )
    return template.replace("{{ lesson_table }}", "\n".join(rows)).replace("{{ toctree }}", toctree)


def reference_page() -> str:
    """site/pages/reference.md with one autodoc section per module of REFERENCE_MODULES (a package: per module)."""
    import importlib

    sections = []
    for name in REFERENCE_MODULES:
        module = importlib.import_module(f"resnext_edu.{name}")
        inside = sorted(m.name for m in pkgutil.iter_modules(getattr(module, "__path__", [])))
        for qualified in [f"resnext_edu.{name}"] + [f"resnext_edu.{name}.{m}" for m in inside]:
            members = "" if qualified == f"resnext_edu.{name}" and inside else "   :members:\n"
            sections.append(
                f"## `{qualified}`\n\n```{{eval-rst}}\n.. automodule:: {qualified}\n{members}```\n"
            )
    template = (SITE / "pages" / "reference.md").read_text(encoding="utf-8")
    return template.replace("{{ modules }}", "\n".join(sections))


# ----------------------------------------------------------------------------------------------------------------
# Execution: the cache, the kernels' environment
# ----------------------------------------------------------------------------------------------------------------
def package_fingerprint() -> str:
    """A hash of every file of the package (code and shipped results): the lessons' outputs depend on all of it."""
    digest = hashlib.sha256()
    package = REPO / "resnext_edu"
    for path in sorted(
        p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_folder(folder: Path, mode: str) -> Path:
    """The execution cache of this mode and this package: ``folder/<mode>-<package fingerprint>``."""
    return folder / f"{mode}-{package_fingerprint()}"


def execution_cache(folder: Path, mode: str) -> Path:
    """:func:`cache_folder`; the same mode's caches of other package versions are removed."""
    cache = cache_folder(folder, mode)
    if folder.is_dir():
        for old in folder.glob(f"{mode}-*"):
            if old != cache:
                shutil.rmtree(old)
    return cache


def cifar10_folder() -> Path | None:
    """The real CIFAR-10 image folder, as the tests find it: $RESNEXT_EDU_DATA, else data/cifar10-jpeg (extracted
    once from ../shared/data/cifar10-jpeg.tar.gz by the tests' conftest, whose code is reused here)."""
    if os.environ.get("RESNEXT_EDU_DATA"):
        return Path(os.environ["RESNEXT_EDU_DATA"])
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import _extract_shared_copy  # tests/conftest.py

    return _extract_shared_copy()


def kernel_environment(quick: bool) -> dict[str, str]:
    """The environment of sphinx-build and so of the lessons' kernels."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [env.get("PYTHONPATH")])]
    )  # this checkout
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env[course.QUICK_ENV] = "1" if quick else "0"
    folder = cifar10_folder()
    if folder is None:
        print(
            "site: no real CIFAR-10 found ($RESNEXT_EDU_DATA, data/cifar10-jpeg, ../shared/data): the lessons "
            "will try torchvision's download",
            flush=True,
        )
    else:
        env["RESNEXT_EDU_DATA"] = str(folder)
    return env


# ----------------------------------------------------------------------------------------------------------------
# MathJax, from npm (no CDN: the site also works offline)
# ----------------------------------------------------------------------------------------------------------------
def vendor_mathjax() -> None:
    """MathJax's es5/ files the site loads, into site/_build/vendor/mathjax/ (``npm pack``, once)."""
    target = VENDOR / "mathjax"
    if (target / "tex-chtml.js").is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            f"site: the math needs MathJax from npm ({MATHJAX}); install Node.js with npm and retry"
        )
    VENDOR.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        [npm, "pack", MATHJAX, "--silent", "--pack-destination", str(VENDOR)],
        capture_output=True,
        text=True,
        check=False,
    )
    if packed.returncode != 0:
        raise SystemExit(
            f"site: `npm pack {MATHJAX}` failed: {packed.stderr.strip() or packed.stdout.strip()}"
        )
    tarball = VENDOR / packed.stdout.strip().splitlines()[-1]
    staging = VENDOR / "mathjax.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        members = [
            m
            for m in tar.getmembers()
            if any(
                m.name == f"package/es5/{p}" or m.name.startswith(f"package/es5/{p}/")
                for p in MATHJAX_PARTS
            )
        ]
        if hasattr(
            tarfile, "data_filter"
        ):  # Python >= 3.10.12: refuse links and paths outside staging
            tar.extractall(staging, members=members, filter="data")
        else:
            tar.extractall(staging, members=members)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging / "package" / "es5", target)
    shutil.rmtree(staging)
    tarball.unlink()


if __name__ == "__main__":
    sys.exit(main())

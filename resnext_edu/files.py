"""Writing files so that a crash never leaves half of one: checkpoints, histories, sweep results, the data cache;
what a killed write left behind, removed on the next start; an output folder checked before any work is done.

Used by :mod:`resnext_edu.checkpoints`, :mod:`resnext_edu.train`, :mod:`resnext_edu.data` and the sweep runner
(lessons 05 and 06), and by the benchmark scripts.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import time
from pathlib import Path


def portable(path: str | os.PathLike) -> str:
    """``path`` as a file that others read may name it (a result file, a data source): relative to the working
    folder when inside it, else its last two parts after ``.../``, never the absolute path of the machine that
    wrote it (a shipped result names no folder of its author's machine)."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return ".../" + "/".join(path.parts[-2:])


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path`` (``os.replace``): a crash
    or a full disk leaves the old file whole, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private (0600); a data file is not secret
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def check_out_folder(path: str | os.PathLike, option: str = "--out", create: bool = True) -> Path:
    """Refuse an output folder that cannot be written (a file, a read-only place) before anything runs; else create
    it (if ``create``). Returns it as a Path."""
    path = Path(path)
    if "\n" in str(path) or "\r" in str(path):
        raise ValueError(
            f"{option} {str(path)!r} contains a line break; give a folder name without one."
        )
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is" if existing == path else f"is inside {existing}, which is"
        raise ValueError(
            f"{option} {path} {where} a file, not a folder. Give a folder (it is created if missing)."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(
            f"{option} {path} cannot be written: {existing} is not writable by this user. Give a folder "
            f"you can write to, e.g. one under {Path.home()}."
        )
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def remove_stale_temps(
    *targets: str | os.PathLike, folders=(), older_than: float = 0
) -> list[Path]:
    """Delete what killed :func:`atomic_write` calls left behind and return it: ``<name>*.tmp`` beside each of
    ``targets`` (atomic_write names its temporary file after the target, in the target's folder) and every ``*.tmp``
    in each of ``folders`` (a folder this process owns, such as a sweep run's). Only files older than
    ``older_than`` seconds go: a younger one may be another process's write in progress."""
    stale = [
        tmp for folder in map(Path, folders) if folder.is_dir() for tmp in folder.glob("*.tmp")
    ]
    for target in map(Path, targets):
        stale += (
            target.parent.glob(f"{glob.escape(target.name)}*.tmp") if target.parent.is_dir() else []
        )
    removed = []
    for tmp in dict.fromkeys(stale):
        try:
            if time.time() - tmp.stat().st_mtime >= older_than:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:  # another process removed or renamed it meanwhile
            pass
    return removed


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON with :func:`atomic_write` (history files, sweep results)."""

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")

    atomic_write(path, write)

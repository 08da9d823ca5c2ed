"""Writing files so that a crash never leaves half of one: checkpoints, histories, sweep results, the data cache.

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


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path`` (``os.replace``): a crash
    or a full disk leaves the old file whole, never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)                     # mkstemp makes it private (0600); a data file is not secret
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_stale_temps(*targets: str | os.PathLike, folders=(), older_than: float = 0) -> list[Path]:
    """Delete what killed :func:`atomic_write` calls left behind and return it: ``<name>*.tmp`` beside each of
    ``targets`` (atomic_write names its temporary file after the target, in the target's folder) and every ``*.tmp``
    in each of ``folders`` (a folder this process owns, such as a sweep run's). Only files older than
    ``older_than`` seconds go: a younger one may be another process's write in progress."""
    stale = [tmp for folder in map(Path, folders) if folder.is_dir() for tmp in folder.glob("*.tmp")]
    for target in map(Path, targets):
        stale += target.parent.glob(f"{glob.escape(target.name)}*.tmp") if target.parent.is_dir() else []
    removed = []
    for tmp in dict.fromkeys(stale):
        try:
            if time.time() - tmp.stat().st_mtime >= older_than:
                tmp.unlink()
                removed.append(tmp)
        except FileNotFoundError:           # another process removed or renamed it meanwhile
            pass
    return removed


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON with :func:`atomic_write` (history files, sweep results)."""
    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
    atomic_write(path, write)

"""Writing files so that a crash never leaves half of one: checkpoints, histories, sweep results, the data cache.

Used by :mod:`resnext_edu.checkpoints`, :mod:`resnext_edu.train`, :mod:`resnext_edu.data` and the sweep runner
(lessons 05 and 06), and by the benchmark scripts.
"""

from __future__ import annotations

import json
import os
import tempfile
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


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON with :func:`atomic_write` (history files, sweep results)."""
    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1)
            f.write("\n")
    atomic_write(path, write)

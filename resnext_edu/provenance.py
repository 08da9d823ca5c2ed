"""Where a result came from: code version, software, hardware and date, stored beside every measured number.

A figure without its machine is not a figure: this machine's bf16 speed-up (avx512_bf16, 2 cores) differs from a
laptop's and from a Colab T4's. History files (:mod:`resnext_edu.train`) and benchmark JSONs embed :func:`describe`.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from .device import describe_device
from .files import portable

REPO = Path(__file__).resolve().parent.parent


def git_commit(repo: str | os.PathLike = REPO) -> dict | None:
    """``{"commit": sha, "dirty": bool}`` of the checkout holding the package, or None outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        return {
            "commit": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.SubprocessError):
        return None


def describe(device: str | torch.device = "cpu") -> dict:
    """Plain data for a JSON record: date (UTC), git commit, Python/torch/torchvision versions, device."""
    try:
        import torchvision  # optional: the record says None without it

        tv = torchvision.__version__
    except ImportError:
        tv = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git": git_commit(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "torchvision": str(tv) if tv else None,
        "platform": platform.platform(),
        "device": describe_device(device),
    }


def command_line() -> str:
    """The command this process was started with, as a user would type it; an absolute path among its arguments is
    shown as :func:`resnext_edu.files.portable` shows it (a result file names no folder of the machine)."""
    argv = [portable(a) if os.path.isabs(a) else a for a in sys.argv]
    first = Path(argv[0]) if argv else Path("")
    if first.name == "__main__.py" and first.parent.name == "resnext_edu":
        argv = ["python", "-m", "resnext_edu"] + argv[1:]
    elif first.name in ("resnext-edu",):
        argv = ["resnext-edu"] + argv[1:]
    else:
        argv = [Path(sys.executable).name] + argv
    return shlex.join(argv)


def code_fingerprint() -> dict:
    """SHA-256 (first 16 hex digits) of every ``resnext_edu`` source file this process has imported, so a result
    names the exact code even when the checkout had uncommitted changes (``git.dirty``). Call it when the sweep
    starts (the sweep runner does): the files are read then, right after they were imported."""
    root = Path(__file__).resolve().parent
    out = {}
    for name, module in sorted(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if name.startswith("resnext_edu") and path and path.endswith(".py"):
            out[Path(path).resolve().relative_to(root).as_posix()] = hashlib.sha256(
                Path(path).read_bytes()
            ).hexdigest()[:16]
    return out

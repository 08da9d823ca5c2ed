"""A sweep's output folder: where result files go, the event log, and who owns a run (lesson 05).

Layout (:mod:`.runner` describes how a sweep uses it)::

    OUT/<run_id>.json         one finished run
    OUT/runs/<run_id>/        the run's working folder: checkpoint.pt + history.json (train.fit), owner.json
    OUT/sweep.log             one line per event: started, resumed, finished, skipped, busy, problem

A run is owned by one process while it trains: ``owner.json`` (pid, host, start, command) is created exclusively,
so sweeps sharing a folder never train the same run twice; an owner that has died (same host, no such process) is
taken over.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

RESULT_FORMAT = "resnext-edu sweep result v1"
LOG = "sweep.log"
RUNS = "runs"
OWNER = "owner.json"
SETTINGS = "settings.json"


# ---------------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------------

def result_path(out_dir: str | os.PathLike, run) -> Path:
    """Where a finished run's result file goes: ``OUT/<run_id>.json``."""
    return Path(out_dir) / f"{run.run_id}.json"


def log_event(out_dir: Path, event: str, run_id: str = "", detail: str = "") -> None:
    """Append one line to ``OUT/sweep.log`` (a single write with O_APPEND: lines of parallel sweeps never mix)."""
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    line = f"{stamp} pid={os.getpid()} host={socket.gethostname()} {event} {run_id} {detail}".rstrip() + "\n"
    fd = os.open(Path(out_dir) / LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------------
# Ownership of a run (one process at a time)
# ---------------------------------------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie, killed but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _read_owner(path: Path) -> dict | None:
    try:
        owner = json.loads(path.read_text())
        return owner if isinstance(owner, dict) and "pid" in owner else None
    except (OSError, ValueError):
        return None


def acquire(folder: Path, command: str) -> tuple[bool, str]:
    """Take ownership of a run's working folder. Returns (True, note) or (False, who owns it, in words)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / OWNER
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "since": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": command}
    note = ""
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read_owner(path)
            if owner is None:
                age = time.time() - path.stat().st_mtime if path.exists() else 0
                if age < 60:       # being written this very moment by another process
                    return False, f"{path} is being created by another sweep right now"
                note = f"removed an unreadable owner file {path}"
            elif owner.get("host") == me["host"] and owner["pid"] == me["pid"]:
                note = "continuing (this process owned it already: an earlier call was interrupted)"
            elif owner.get("host") == me["host"] and not _alive(owner["pid"]):
                note = f"took over from pid {owner['pid']} (no longer running), owner since {owner.get('since')}"
            else:
                return False, (f"pid {owner['pid']} on host {owner.get('host')} owns it since {owner.get('since')} "
                               f"(command: {owner.get('command')}). If that sweep is no longer running, delete "
                               f"{path} and re-run.")
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        return True, note
    return False, f"could not take {path} (another sweep keeps creating it)"


def release(folder: Path) -> None:
    path = folder / OWNER
    owner = _read_owner(path)
    if owner is not None and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)

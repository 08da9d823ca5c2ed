"""A sweep's output folder: where result files go, the event log, and who owns a run (lesson 05).

Layout (:mod:`.runner` describes how a sweep uses it)::

    OUT/<run_id>.json         one finished run
    OUT/sweep-settings.json   the settings every run in this folder trains with, claimed by the first sweep
    OUT/runs/<run_id>/        the run's working folder: checkpoint.pt + history.json (train.fit), owner.json
    OUT/sweep.log             one line per event: started, resumed, finished, skipped, busy, diverged, damaged, problem

A folder holds one experiment: the first sweep *claims* its settings (:func:`claim_settings`, an atomic
``os.link``), and a sweep with other settings is refused before it trains, even when both start at the same moment.
A run is owned by one process while it trains: ``owner.json`` (pid, host, start, command) is created exclusively,
so sweeps sharing a folder never train the same run twice; an owner that has died (same host, no such process) is
taken over, and the temporary files its killed writes left (``<name>*.tmp``) are removed
(:func:`resnext_edu.files.remove_stale_temps`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from .schema import differences

RESULT_FORMAT = "resnext-edu sweep result v1"
LOG = "sweep.log"
RUNS = "runs"
OWNER = "owner.json"
SETTINGS = "settings.json"
FOLDER_SETTINGS = "sweep-settings.json"
SETTINGS_FORMAT = "resnext-edu sweep settings v1"


# ---------------------------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------------------------

def result_path(out_dir: str | os.PathLike, run) -> Path:
    """Where a finished run's result file goes: ``OUT/<run_id>.json``."""
    return Path(out_dir) / f"{run.run_id}.json"


def claim_settings(out_dir: Path, wanted: dict, command: str) -> dict:
    """Record ``wanted`` as the settings of ``out_dir``, or compare them with the settings already recorded.

    The record appears whole or not at all: it is written to a temporary file and hard-linked to its name
    (``os.link`` fails if the name exists), so of two sweeps starting together exactly one claims the folder and the
    other reads the winner's settings. Returns the differences ``{field: (recorded, wanted)}``; empty when they agree.
    """
    path = out_dir / FOLDER_SETTINGS
    record = {"format": SETTINGS_FORMAT, "settings": wanted, "claimed_by": {
        "pid": os.getpid(), "host": socket.gethostname(), "command": command,
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}}
    tmp = out_dir / f"{FOLDER_SETTINGS}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    try:
        os.link(tmp, path)
        return {}
    except FileExistsError:
        pass
    except OSError:            # a file system without hard links: exclusive create (the reader below retries)
        try:
            with open(path, "x") as f:
                f.write(tmp.read_text())
            return {}
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return differences(read_folder_settings(path), wanted)


def read_folder_settings(path: Path, attempts: int = 20) -> dict:
    """The settings recorded in ``OUT/sweep-settings.json`` (retried for a moment while another sweep writes it)."""
    for _ in range(attempts):
        try:
            record = json.loads(path.read_text())
            if isinstance(record, dict) and record.get("format") == SETTINGS_FORMAT \
                    and isinstance(record.get("settings"), dict):
                return record["settings"]
            error = f"format {record.get('format') if isinstance(record, dict) else type(record).__name__!r}"
        except (OSError, ValueError) as exc:
            error = str(exc)
        time.sleep(0.05)
    raise ValueError(f"{path} records this folder's settings but cannot be read ({error}). If the folder holds no "
                     f"results you want to keep, delete {path.name}; else restore it, or use another --out.")


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

"""What a sweep's folder already holds, checked before anything trains: finished runs, damaged result files, runs
trained with other settings (lesson 05; the folder's layout: :mod:`.folder`).

A result file counts as *done* only if it reads back whole (:func:`~.results.load_result` checks every field) and
was trained with this sweep's settings; a damaged one is named and skipped, the rest of the sweep goes on; one
trained with other settings stops the sweep before it trains anything (:class:`SweepConflict`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .folder import RUNS, SETTINGS, result_path
from .results import ResultError, load_result
from .schema import differences
from .settings import Run, SweepSettings


@dataclass
class SweepOutcome:
    """What a call to :func:`run_sweep` did, run ids per category."""

    out_dir: Path
    already_done: list[str] = field(default_factory=list)   # result file was there: skipped
    trained: list[str] = field(default_factory=list)        # trained (or resumed) and finished now
    busy: list[str] = field(default_factory=list)           # owned by another live sweep: left to it
    problems: list[str] = field(default_factory=list)       # messages: unreadable files, failed runs (skipped)
    diverged: list[str] = field(default_factory=list)       # stopped by the divergence guard (checkpoint kept)
    damaged: list[str] = field(default_factory=list)        # their checkpoint could not be resumed

    @property
    def complete(self) -> bool:
        return not self.busy and not self.problems


class SweepConflict(ValueError):
    """The output folder holds runs trained with other settings than the sweep asks for."""


def settings_identity(settings: SweepSettings) -> dict:
    """The settings as stored in every result file and compared with a folder's (``sweep-settings.json``)."""
    return asdict(settings)


def finished(path: Path, wanted: dict) -> tuple[str, str]:
    """Is ``path`` a valid result trained with ``wanted``? ("done", ""), ("bad", why) or ("other", the differences)."""
    try:
        saved = load_result(path).raw["settings"]
    except ResultError as error:
        return "bad", (f"{path} {error}; run {path.stem} is skipped. Move or delete the file to train that run "
                       f"again.")
    diff = differences(saved, wanted)
    return ("other" if diff else "done"), ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in diff.items())


def count_finished(outcome: SweepOutcome, path: Path, wanted: dict) -> None:
    """A result that appeared while this sweep ran (another sweep trained it): done only if its settings agree."""
    status, why = finished(path, wanted)
    if status == "done":
        outcome.already_done.append(path.stem)
    else:
        outcome.problems.append(why if status == "bad" else f"{path} was trained with other settings ({why}); not "
                                f"counted as done. Move it away to train that run with this sweep's settings.")


def take_stock(runs: list[Run], out: Path, wanted: dict, outcome: SweepOutcome) -> list[Run]:
    """The runs still to train; finished and damaged ones are noted in ``outcome``. Raises :class:`SweepConflict`
    if a result or an interrupted run in ``out`` was trained with other settings than ``wanted``."""
    todo, conflicts = [], []
    for run in runs:                        # check everything before training anything
        path = result_path(out, run)
        if path.exists():
            status, why = finished(path, wanted)
            if status == "done":
                outcome.already_done.append(run.run_id)
            elif status == "bad":                      # unreadable or malformed: named, skipped, the rest go on
                outcome.problems.append(why)
            else:
                conflicts.append(f"{path.name}: {why}")
            continue
        saved_settings = out / RUNS / run.run_id / SETTINGS
        if saved_settings.exists():
            try:
                saved = json.loads(saved_settings.read_text())
            except (OSError, ValueError):
                saved = None
            diff = differences(saved, wanted) if isinstance(saved, dict) else {}
            if diff:
                conflicts.append(f"{saved_settings} (interrupted run): " +
                                 ", ".join(f"{k} was {a!r}, now {b!r}" for k, (a, b) in diff.items()))
                continue
        todo.append(run)
    if conflicts:
        raise SweepConflict(f"{out} holds runs trained with other settings than this sweep asks for:\n  " +
                            "\n  ".join(conflicts) + "\nUse another --out folder for the new settings, or the "
                            "same settings to continue this sweep. Nothing was trained.")
    return todo

"""Reading sweep result files (shipped or the learner's), and the statistics over seeds (lesson 05).

A folder may hold other things: a corrupt file (a truncated copy, a hand edit that broke the JSON or put a string
where a number belongs: :func:`~resnext_edu.sweep.schema.check_result`) or a foreign one (some other program's JSON).
Neither stops the gathering: each is listed in :attr:`Gathered.problems` with the reason and left out of the
statistics.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .configs import SweepConfig
from .folder import FOLDER_SETTINGS, RESULT_FORMAT, RUNS
from .schema import RecordError, check_result

SHIPPED = Path(__file__).resolve().parent.parent / "results"   # resnext_edu/results (package data)
REQUIRED = ("run_id", "seed", "config", "settings", "final", "history", "provenance", "data")
PROVENANCE_FIELDS = ("command", "git", "device", "torch", "date", "wall_seconds")


class ResultError(ValueError):
    """A file is not a usable sweep result; the message says why."""


@dataclass
class Result:
    """One finished run, read from its result file."""

    path: Path
    source: str                 # "shipped", "mine", or the folder's name
    raw: dict                   # the whole file

    @property
    def config(self) -> SweepConfig:
        return SweepConfig.from_dict(self.raw["config"])

    @property
    def seed(self) -> int:
        return self.raw["seed"]

    @property
    def final(self) -> dict:
        return self.raw["final"]

    @property
    def history(self) -> list[dict]:
        return self.raw["history"]

    @property
    def experiment(self) -> str:
        """Runs that can be averaged together: same source, budget and scale, and training settings."""
        s = self.raw["settings"]
        subset = "all" if s.get("subset") is None else f"{s['subset']:,}"
        data = "synthetic data" if s.get("dataset") == "synthetic" else "CIFAR-10"
        return (f"{self.source}: {self.raw['config']['budget']}, {s['epochs']} epoch{'s' * (s['epochs'] != 1)} on "
                f"{subset} {data} images")


def load_result(path: str | os.PathLike, source: str = "") -> Result:
    """Read and check one result file. Raises :class:`ResultError` saying what is wrong with it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise ResultError(f"cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise ResultError(f"is not valid JSON ({error.msg} at line {error.lineno}); truncated or edited?") from None
    if not isinstance(raw, dict) or raw.get("format") != RESULT_FORMAT:
        what = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ResultError(f"is not a resnext-edu sweep result (format {what!r}, expected {RESULT_FORMAT!r})")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ResultError(f"lacks the field(s) {', '.join(missing)}")
    try:
        check_result(raw)
    except (RecordError, KeyError, TypeError, ValueError) as error:
        raise ResultError(f"has a malformed field: {error}. Restore the file from the sweep that wrote it, or "
                          f"delete it to train that run again") from None
    return Result(path, source or path.parent.name, raw)


@dataclass
class Gathered:
    """Everything found in some folders: usable results, problems (file: why), runs still in progress."""

    results: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)

    def __add__(self, other: "Gathered") -> "Gathered":
        return Gathered(self.results + other.results, self.problems + other.problems,
                        self.in_progress + other.in_progress)

    def experiments(self) -> list[str]:
        return list(dict.fromkeys(r.experiment for r in self.results))


def gather(*paths: str | os.PathLike, source: str | None = None) -> Gathered:
    """Read every ``*.json`` under these folders (or these files), except the runs' working folders.

    ``source`` labels the results ("shipped", "mine"); default: each folder's name.
    """
    found = Gathered()
    for root in map(Path, paths):
        if root.is_file():
            files, label = [root], source or root.parent.name
        elif root.is_dir():
            files = sorted(p for p in root.rglob("*.json") if RUNS not in p.relative_to(root).parts[:-1]
                           and "report" not in p.relative_to(root).parts[:-1] and p.name != FOLDER_SETTINGS)
            label = source or root.name
            for history in sorted((root / RUNS).glob("*/history.json")):
                if not (root / f"{history.parent.name}.json").exists():
                    try:
                        done = len(json.loads(history.read_text())["epochs"])
                    except (OSError, ValueError, LookupError, TypeError):   # half-written or edited by hand
                        done = "?"
                    found.in_progress.append(f"{history.parent.name} ({done} epochs so far)")
        else:
            found.problems.append(f"{root}: no such file or folder")
            continue
        seen = {}
        for path in files:
            try:
                result = load_result(path, label)
            except ResultError as error:
                found.problems.append(f"{path}: {error}; skipped")
                continue
            key = (result.experiment, result.raw["run_id"])
            if key in seen:
                found.problems.append(f"{path}: the same run as {seen[key]}; counted once")
                continue
            seen[key] = path
            found.results.append(result)
    return found


def shipped(budget: str | None = None) -> Gathered:
    """The result files that ship with the package (``resnext_edu/results/<budget>/``), labelled "shipped"."""
    root = SHIPPED / budget if budget else SHIPPED
    return gather(root, source="shipped") if root.is_dir() else Gathered()


# ---------------------------------------------------------------------------------------------------------------
# Statistics over seeds
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    label: str                  # axis label, with its unit
    final_key: str              # key in a result's "final"
    curve_key: str | None       # key in each epoch of its "history"
    scale: float = 1.0          # value shown = scale x stored (100 for %)
    complement: bool = False    # shown = scale x (1 - stored): error from accuracy
    higher_is_better: bool = True

    def final(self, result: Result) -> float:
        return self._show(result.final[self.final_key])

    def curve(self, result: Result) -> list[float]:
        return [self._show(e[self.curve_key]) for e in result.history] if self.curve_key else []

    def _show(self, value: float) -> float:
        return self.scale * ((1 - value) if self.complement else value)


METRICS = {
    "test_acc": Metric("test accuracy (%)", "test_acc", "test_acc", 100),
    "test_error": Metric("test error (%)", "test_acc", "test_acc", 100, complement=True, higher_is_better=False),
    "test_loss": Metric("test loss (cross-entropy, nats)", "test_loss", "test_loss", higher_is_better=False),
    "train_acc": Metric("training accuracy (%, augmented batches)", "train_acc", "train_acc", 100),
    "train_error": Metric("training error (%, augmented batches)", "train_acc", "train_acc", 100, complement=True,
                          higher_is_better=False),
    "train_loss": Metric("training loss (cross-entropy, nats)", "train_loss", "train_loss", higher_is_better=False),
    "seconds_per_epoch": Metric("seconds per training epoch", "seconds_per_epoch", "train_seconds",
                                higher_is_better=False),
}


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Choose one of: {', '.join(METRICS)}.")
    return METRICS[name]


@dataclass
class Row:
    """One model of one experiment: its seeds' values of a metric and their mean and spread."""

    experiment: str
    config: SweepConfig
    seeds: list[int]
    values: list[float]
    curves: list[list[float]]
    seconds_per_epoch: list[float]   # per seed: its fastest training epoch (the least disturbed by other programs)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return sum(self.values) / self.n

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (n - 1 in the denominator); 0 for one seed."""
        if self.n < 2:
            return 0.0
        return math.sqrt(sum((v - self.mean) ** 2 for v in self.values) / (self.n - 1))

    @property
    def mean_curve(self) -> list[float]:
        """The mean over seeds, epoch by epoch (as long as the shortest curve)."""
        length = min(len(c) for c in self.curves) if self.curves else 0
        return [sum(c[i] for c in self.curves) / len(self.curves) for i in range(length)]


def summarize(results: list[Result], metric: str = "test_acc", seeds=None) -> list[Row]:
    """Rows per (experiment, model), ordered by experiment, scale, axis and cardinality; only ``seeds`` if given."""
    m = get_metric(metric)
    rows: dict[tuple, Row] = {}
    for r in results:
        if seeds is not None and r.seed not in seeds:
            continue
        key = (r.experiment, r.config.key)
        row = rows.setdefault(key, Row(r.experiment, r.config, [], [], [], []))
        row.seeds.append(r.seed)
        row.values.append(m.final(r))
        row.curves.append(m.curve(r))
        row.seconds_per_epoch.append(r.final.get("min_seconds_per_epoch", r.final["seconds_per_epoch"]))
    axis_order = {"cardinality": 0, "wider": 1, "deeper": 2}
    return sorted(rows.values(), key=lambda row: (row.experiment, row.config.scale, row.config.axis != "cardinality",
                                                  axis_order.get(row.config.axis, 3), row.config.cardinality))


def summary_table(rows: list[Row], metric: str = "test_acc") -> str:
    """A text table: one line per model, mean +- std over seeds of the metric, params, MACs, time per epoch."""
    m = get_metric(metric)
    lines, current = [], None
    for row in rows:
        if row.experiment != current:
            current = row.experiment
            lines += ["", current, f"  {'model':<20}{'setting':<22}{'params':>10}{'MACs':>13}{'seeds':>6}"
                                   f"  {m.label:<28}{'s/epoch':>8}"]
        c = row.config
        setting = c.setting + ("" if c.scale == 1 else f" 2x {c.axis}")
        spread = f"{row.mean:7.2f} +- {row.std:.2f}" if row.n > 1 else f"{row.mean:7.2f}"
        secs = sum(row.seconds_per_epoch) / len(row.seconds_per_epoch)
        lines.append(f"  {c.model_name:<20}{setting:<22}{c.params:>10,}{c.macs:>13,}{row.n:>6}  {spread:<28}"
                     f"{secs:>8.1f}")
    if lines:
        lines.append("\nmean +- sample standard deviation over seeds; params: learnable numbers; MACs: multiply-"
                     "accumulates per 32x32 image;\ns/epoch: each run's fastest training epoch on its machine, mean "
                     "over seeds")
    return "\n".join(lines).lstrip("\n")

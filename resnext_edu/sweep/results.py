"""Reading sweep result files (shipped or the learner's), and their statistics over seeds (lesson
05).

A folder may hold other things: a corrupt file (truncated, or a hand edit that put a string where a
number belongs) or a foreign one (some other program's JSON). Neither stops the reading: each is
listed in :attr:`Gathered.problems` with the reason and left out of the statistics. Differences
between two models come with Welch's t-test (:func:`resnext_edu.stats.welch`)."""

from __future__ import annotations

import json
import math
import os
import statistics
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ..stats import Welch, welch
from .configs import AXES, SweepConfig

SHIPPED = Path(__file__).resolve().parent.parent / "results"  # resnext_edu/results (package data)
RESULT_FORMAT = "resnext-edu sweep result v1"
SETTINGS_FILE = "sweep-settings.json"
FINAL_NUMBERS = ("test_acc", "test_loss", "train_acc", "train_loss", "seconds_per_epoch")
EPOCH_NUMBERS = ("test_acc", "test_loss", "train_acc", "train_loss", "train_seconds")


class ResultError(ValueError):
    """A file is not a usable sweep result; the message says why."""


def is_json(value, kind) -> bool:
    """Whether ``value`` is of ``kind`` as JSON has it: a bool is no number, a float is finite (a
    whole number is a float too)."""
    if kind is type(None) or isinstance(value, bool):
        return value is None if kind is type(None) else kind is bool
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, typing.get_origin(kind) or kind)


def _value(record, where: str, name: str, kind: type, optional: bool = False):
    """``record[name]``, refused unless it is of ``kind`` (:func:`is_json`) or, if ``optional``,
    None."""
    if not isinstance(record, dict) or name not in record:
        raise ResultError(f"{where} lacks {name!r}")
    value = record[name]
    if not (is_json(value, kind) or (optional and value is None)):
        expected = {int: "a whole number", float: "a finite number", str: "a string"}[kind]
        raise ResultError(
            f"{where}[{name!r}] is {value!r}; expected {expected}" + (" or null" * optional)
        )
    return value


def check_result(raw) -> SweepConfig:
    """Check every field a reader of a result file uses; return its model. Raises
    :class:`ResultError`."""
    if not isinstance(raw, dict) or raw.get("format") != RESULT_FORMAT:
        what = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ResultError(
            f"is not a resnext-edu sweep result (format {what!r}, expected {RESULT_FORMAT!r})"
        )
    seed = _value(raw, "the file", "seed", int)
    if seed < 0:
        raise ResultError(f"seed is {seed}; seeds are whole numbers >= 0")
    config = raw.get("config")
    for name, kind in typing.get_type_hints(SweepConfig).items():
        if typing.get_origin(kind) is tuple:
            widths = config.get(name) if isinstance(config, dict) else None
            if not (
                isinstance(widths, list)
                and widths
                and all(type(w) is int and w > 0 for w in widths)
            ):
                raise ResultError(
                    f"config[{name!r}] is {widths!r}; expected a list of whole numbers >= 1"
                )
        elif kind is int and _value(config, "config", name, int) < 1:
            raise ResultError(f"config[{name!r}] is {config[name]}; expected a whole number >= 1")
        elif kind is str:
            _value(config, "config", name, str)
    if config["axis"] not in AXES:
        raise ResultError(
            f"config['axis'] is {config['axis']!r}; expected one of {', '.join(AXES)}"
        )
    parsed = SweepConfig.from_dict(config)
    if raw.get("run_id") != f"{parsed.key}_seed{seed}":
        raise ResultError(
            f"run_id {raw.get('run_id')!r} does not match its config and seed "
            f"({parsed.key}_seed{seed}; edited by hand?)"
        )
    _value(raw.get("settings"), "settings", "epochs", int)
    _value(raw.get("settings"), "settings", "subset", int, optional=True)
    history = raw.get("history")
    if not isinstance(history, list) or not history:
        raise ResultError("history is not a list of epochs, or has none")
    records = [("final", raw.get("final"), FINAL_NUMBERS)]
    records += [(f"history[{i}]", epoch, EPOCH_NUMBERS) for i, epoch in enumerate(history)]
    for i, epoch in enumerate(history):
        if _value(epoch, f"history[{i}]", "epoch", int) != i + 1:
            raise ResultError(
                f"history[{i}]['epoch'] is {epoch['epoch']}; expected {i + 1} (each epoch once)"
            )
    for where, record, names in records:
        for name in names:
            value = _value(
                record, where, name, float, optional=where != "final" and name.startswith("test")
            )
            if name.endswith("_acc") and value is not None and not 0 <= value <= 1:
                raise ResultError(
                    f"{where}[{name!r}] is {value}; an accuracy is a fraction in [0, 1]"
                )
    return parsed


@dataclass
class Result:
    """One finished run, read from its result file."""

    path: Path
    source: str  # "shipped", "mine", or the folder's name
    raw: dict  # the whole file

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
    def key(self) -> tuple:
        """Runs with one key can be averaged together: same source, budget and settings."""
        return (
            self.source,
            self.raw["config"]["budget"],
            json.dumps(self.raw["settings"], sort_keys=True),
        )

    @property
    def label(self) -> str:
        """The key in words, e.g. "shipped: lesson, 4 epochs on 5,000 CIFAR-10 images"."""
        s = self.raw["settings"]
        images = "all" if s.get("subset") is None else f"{s['subset']:,}"
        data = "synthetic data" if s.get("dataset") == "synthetic" else "CIFAR-10"
        epochs = f"{s['epochs']} epoch{'s' * (s['epochs'] != 1)}"
        return f"{self.source}: {self.raw['config']['budget']}, {epochs} on {images} {data} images"


def load_result(path: str | os.PathLike, source: str = "") -> Result:
    """Read and check one result file. Raises :class:`ResultError` saying what is wrong with it."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise ResultError(f"cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise ResultError(
            f"is not valid JSON ({error.msg} at line {error.lineno}); truncated or edited?"
        ) from None
    check_result(raw)
    return Result(path, source or path.parent.name, raw)


@dataclass
class Gathered:
    """Everything found in some folders: usable results, and problems (file: why)."""

    results: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __add__(self, other: Gathered) -> Gathered:
        return Gathered(self.results + other.results, self.problems + other.problems)

    def experiments(self) -> dict[tuple, str]:
        """{key: label} of the groups of results that can be averaged together, in the order
        found."""
        return {r.key: r.label for r in self.results}


def gather(*paths: str | os.PathLike, source: str | None = None) -> Gathered:
    """Read every result file under these folders (or these files), except the runs' working
    folders.

    ``source`` labels the results ("shipped", "mine"); default: each folder's name."""
    found = Gathered()
    for root in map(Path, paths):
        if root.is_file():
            files = [root]
        elif root.is_dir():
            files = sorted(
                p
                for p in root.rglob("*.json")
                if p.name != SETTINGS_FILE
                and not {"runs", "report"} & set(p.relative_to(root).parts[:-1])
            )
        else:
            found.problems.append(f"{root}: no such file or folder")
            continue
        seen = {}
        for path in files:
            try:
                result = load_result(
                    path, source or (root.parent.name if root.is_file() else root.name)
                )
            except ResultError as error:
                found.problems.append(
                    f"{path}: {error}; skipped. Restore it, or delete it to train that run again."
                )
                continue
            if (result.key, result.raw["run_id"]) in seen:
                found.problems.append(
                    f"{path}: the same run as {seen[result.key, result.raw['run_id']]}; "
                    f"counted once"
                )
                continue
            seen[result.key, result.raw["run_id"]] = path
            found.results.append(result)
    return found


def shipped(budget: str | None = None) -> Gathered:
    """The result files that ship with the package (``resnext_edu/results/<budget>/``), labelled
    "shipped"."""
    root = SHIPPED / budget if budget else SHIPPED
    return gather(root, source="shipped") if root.is_dir() else Gathered()


@dataclass(frozen=True)
class Metric:
    label: str  # axis label, with its unit
    final_key: str  # key in a result's "final"
    curve_key: str  # key in each epoch of its "history"
    scale: float = 1.0  # value shown = scale x stored (100 for %)
    complement: bool = False  # shown = scale x (1 - stored): error from accuracy

    def show(self, value: float | None) -> float | None:
        return None if value is None else self.scale * ((1 - value) if self.complement else value)


METRICS = {
    "test_acc": Metric("test accuracy (%)", "test_acc", "test_acc", 100),
    "test_error": Metric("test error (%)", "test_acc", "test_acc", 100, complement=True),
    "test_loss": Metric("test loss (cross-entropy, nats)", "test_loss", "test_loss"),
    "train_acc": Metric("training accuracy (%, augmented batches)", "train_acc", "train_acc", 100),
    "train_error": Metric(
        "training error (%, augmented batches)", "train_acc", "train_acc", 100, complement=True
    ),
    "train_loss": Metric("training loss (cross-entropy, nats)", "train_loss", "train_loss"),
    "seconds_per_epoch": Metric("seconds per training epoch", "seconds_per_epoch", "train_seconds"),
}


def get_metric(name: str) -> Metric:
    if name not in METRICS:
        raise ValueError(f"Unknown metric {name!r}. Choose one of: {', '.join(METRICS)}.")
    return METRICS[name]


@dataclass
class Row:
    """One model of one group of results: its seeds' values of a metric, their mean and spread."""

    key: tuple  # Result.key
    label: str  # Result.label
    config: SweepConfig
    seeds: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    curves: list[list[float]] = field(default_factory=list)
    seconds_per_epoch: list[float] = field(
        default_factory=list
    )  # per seed: its fastest training epoch

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.mean(self.values)

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (n - 1 in the denominator); 0 for one seed."""
        return statistics.stdev(self.values) if self.n > 1 else 0.0

    @property
    def mean_curve(self) -> list[float]:
        """The mean over seeds, epoch by epoch (as long as the shortest curve; epochs not evaluated:
        left out)."""
        length = min(map(len, self.curves), default=0)
        return [
            statistics.mean(c[i] for c in self.curves)
            for i in range(length)
            if all(c[i] is not None for c in self.curves)
        ]


AXIS_ORDER = {"cardinality": 0, "wider": 1, "deeper": 2}


def summarize(results: list[Result], metric: str = "test_acc", seeds=None) -> list[Row]:
    """Rows per (group, model), ordered by group, scale, axis and cardinality; only ``seeds`` if
    given."""
    m = get_metric(metric)
    rows: dict[tuple, Row] = {}
    for r in results:
        if seeds is not None and r.seed not in seeds:
            continue
        row = rows.setdefault((r.key, r.config.key), Row(r.key, r.label, r.config))
        row.seeds.append(r.seed)
        row.values.append(m.show(r.final[m.final_key]))
        row.curves.append([m.show(e[m.curve_key]) for e in r.history])
        row.seconds_per_epoch.append(
            r.final.get("min_seconds_per_epoch", r.final["seconds_per_epoch"])
        )
    return sorted(
        rows.values(),
        key=lambda row: (
            row.label,
            row.key,
            row.config.scale,
            AXIS_ORDER.get(row.config.axis, 3),
            row.config.cardinality,
        ),
    )


def summary_table(rows: list[Row], metric: str = "test_acc") -> str:
    """A text table: one line per model, mean +- std over seeds of the metric, params, MACs, time
    per epoch."""
    m = get_metric(metric)
    lines, current = [], None
    for row in rows:
        if row.key != current:
            current = row.key
            lines += [
                "",
                row.label,
                f"  {'model':<20}{'setting':<22}{'params':>10}{'MACs':>13}{'seeds':>6}"
                f"  {m.label:<28}{'s/epoch':>8}",
            ]
        c = row.config
        setting = c.setting + ("" if c.scale == 1 else f" 2x {c.axis}")
        spread = f"{row.mean:7.2f} +- {row.std:.2f}" if row.n > 1 else f"{row.mean:7.2f}"
        lines.append(
            f"  {c.model_name:<20}{setting:<22}{c.params:>10,}{c.macs:>13,}{row.n:>6}  {spread:<28}"
            f"{statistics.mean(row.seconds_per_epoch):>8.1f}"
        )
    if lines:
        lines.append(
            "\nmean +- sample standard deviation over seeds; params: learnable numbers; MACs: "
            "multiply-"
            "accumulates per 32x32 image;\ns/epoch: each run's fastest training epoch on its "
            "machine, "
            "mean over seeds"
        )
    return "\n".join(lines).lstrip("\n")


def difference(high: Row, low: Row) -> Welch | None:
    """Welch's test of ``high``'s seeds against ``low``'s; None where there is no spread to judge
    by (a model with one seed, or every seed of both giving the same value)."""
    if min(high.n, low.n) < 2 or (len(set(high.values)) == 1 and len(set(low.values)) == 1):
        return None
    return welch(high.values, low.values)


def ladder(rows: list[Row], key: tuple) -> dict[int, Row]:
    """The 1x cardinality models of one group, by C."""
    return {
        r.config.cardinality: r
        for r in rows
        if r.key == key and r.config.scale == 1 and r.config.axis == "cardinality"
    }


def compare_to_baseline(rows: list[Row]) -> list[dict]:
    """Each cardinality against the C = 1 model of its group: the difference of the means with
    Welch's 95% confidence interval, degrees of freedom, t (the difference over its standard error)
    and p. NaN where a model has one seed."""
    out = []
    for key in dict.fromkeys(r.key for r in rows):
        models = ladder(rows, key)
        for C in sorted(models)[1:] if 1 in models else []:
            high, low = models[C], models[1]
            w = difference(high, low)
            nan = math.nan
            out.append(
                {
                    "label": high.label,
                    "setting": high.config.setting,
                    "baseline": low.config.setting,
                    "difference": high.mean - low.mean,
                    "low": w.low if w else nan,
                    "high": w.high if w else nan,
                    "df": w.df if w else nan,
                    "t": w.t if w else nan,
                    "p": w.p if w else nan,
                    "n": (high.n, low.n),
                }
            )
    return out


def comparison_table(rows: list[Row]) -> str:
    """:func:`compare_to_baseline` as text (differences in the metric's unit, e.g. percentage
    points)."""
    found = compare_to_baseline(rows)
    if not found:
        return "  no C = 1 model and another cardinality of the same sweep yet: nothing to compare"
    lines = [
        f"  {'setting':<10}{'vs':<8}{'difference':>11}{'95% CI (Welch)':>20}{'df':>6}{'p':>7}  "
        "seeds"
    ]
    for c in found:
        ci = "one seed" if math.isnan(c["p"]) else f"[{c['low']:+.2f}, {c['high']:+.2f}]"
        tail = "" if math.isnan(c["p"]) else f"{c['df']:>6.1f}{c['p']:>7.3f}"
        lines.append(
            "  "
            f"{c['setting']:<10}{c['baseline']:<8}{c['difference']:>+11.2f}{ci:>20}{tail or '':>13}"
            f"  {c['n'][0]} vs {c['n'][1]}"
        )
    return "\n".join(lines)

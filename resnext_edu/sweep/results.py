"""Reading sweep result files, the shipped ones or a learner's, and their statistics over seeds
(lesson 05). A corrupt or foreign file stops nothing: it is listed in :attr:`Gathered.problems` with
the reason and left out. Differences come with Welch's t-test (:func:`resnext_edu.stats.welch`)."""

from __future__ import annotations

import json
import math
import os
import statistics
import typing
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import check_fraction, check_int
from ..options import is_json
from ..stats import Welch, welch
from .configs import SweepConfig

SHIPPED = Path(__file__).resolve().parent.parent / "results"  # resnext_edu/results (package data)
RESULT_FORMAT = "resnext-edu sweep result v1"
SETTINGS_FILE = "sweep-settings.json"


class ResultError(ValueError):
    """A file is not a usable sweep result; the message says why."""


def _check_numbers(where: str, record: dict, epoch: bool = False) -> None:
    """The numbers the metrics read (:data:`METRICS`): accuracies are fractions in [0, 1], the
    others finite; in an ``epoch``, a test figure may be null (not evaluated that epoch)."""
    for name in dict.fromkeys(m.curve_key if epoch else m.final_key for m in METRICS.values()):
        value = record[name]
        if value is None and epoch and name.startswith("test"):
            continue
        if name.endswith("_acc"):
            check_fraction(f"{where}[{name!r}]", value, closed_high=True)
        elif not is_json(value, float):
            raise ValueError(f"{where}[{name!r}] is {value!r}; expected a finite number")


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
        settings = json.dumps(self.raw["settings"], sort_keys=True)
        return (self.source, self.raw["config"]["budget"], settings)

    @property
    def label(self) -> str:
        """The key in words, e.g. "shipped: lesson, 4 epochs on 5,000 CIFAR-10 images"."""
        s = self.raw["settings"]
        images = "all" if s.get("subset") is None else f"{s['subset']:,}"
        data = "synthetic data" if s.get("dataset") == "synthetic" else "CIFAR-10"
        epochs = f"{s['epochs']} epoch{'s' * (s['epochs'] != 1)}"
        return f"{self.source}: {self.raw['config']['budget']}, {epochs} on {images} {data} images"


def load_result(path: str | os.PathLike, source: str = "") -> Result:
    """Read one result file, refused (:class:`ResultError`, naming the field) unless it is a sweep
    result whose numbers cannot mislead the statistics: each field a reader uses is there, its
    numbers of their kind (accuracies fractions in [0, 1]), the epochs numbered 1 to n, and the
    run_id the one its config and seed give."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise ResultError(f"cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise ResultError(
            f"is not valid JSON ({error.msg} at line {error.lineno}); truncated or edited?"
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != RESULT_FORMAT:
        what = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise ResultError(
            f"is not a resnext-edu sweep result (format {what!r}, expected {RESULT_FORMAT!r})"
        )
    where = "the file"
    try:
        seed, config, settings, final, history = (
            raw[name] for name in ("seed", "config", "settings", "final", "history")
        )
        check_int("seed", seed, low=0)
        where = "config"
        for name, kind in typing.get_type_hints(SweepConfig).items():
            if kind is int:
                check_int(f"config[{name!r}]", config[name], low=1)
        widths = config["stage_widths"]
        if not isinstance(widths, list) or not widths:
            raise ValueError(f"config['stage_widths'] is {widths!r}; expected a list of widths")
        for width in widths:
            check_int("a width in config['stage_widths']", width, low=1)
        run_id = f"{SweepConfig.from_dict(config).key}_seed{seed}"
        if raw["run_id"] != run_id:
            raise ValueError(
                f"run_id {raw['run_id']!r} does not match its config and seed ({run_id}; edited "
                "by hand?)"
            )
        where = "settings"
        check_int("settings['epochs']", settings["epochs"])
        if settings["subset"] is not None:
            check_int(
                "settings['subset']", settings["subset"], low=1, hint="Or null, for all the images."
            )
        where = "history"
        numbered = [epoch["epoch"] for epoch in history]
        if not numbered or numbered != list(range(1, len(numbered) + 1)):
            raise ValueError(
                f"history numbers its epochs {numbered}; expected 1, 2, 3, ... (each epoch once, "
                "at least one)"
            )
        where = "final"
        _check_numbers(where, final)
        for i, record in enumerate(history):
            where = f"history[{i}]"
            _check_numbers(where, record, epoch=True)
    except KeyError as error:
        raise ResultError(f"{where} lacks {error}") from None
    except ValueError as error:  # the checks above, each naming its field
        raise ResultError(str(error).rstrip(".")) from None
    except (TypeError, AttributeError) as error:
        raise ResultError(f"{where} is not as a sweep writes it ({error})") from None
    return Result(path, source or path.parent.name, raw)


@dataclass
class Gathered:
    """Everything found in some folders: usable results, and problems (file: why)."""

    results: list[Result] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __add__(self, other: Gathered) -> Gathered:
        return Gathered(self.results + other.results, self.problems + other.problems)

    def experiments(self) -> dict[tuple, str]:
        """{key: label} of the groups of results that can be averaged together, in order found."""
        return {r.key: r.label for r in self.results}


def gather(*paths: str | os.PathLike, source: str | None = None) -> Gathered:
    """Read every result file under these folders (or these files), except the runs' working
    folders. ``source`` labels the results ("shipped", "mine"); by default, each folder's name."""
    found = Gathered()
    for root in map(Path, paths):
        if root.is_file():
            files, label = [root], source or root.parent.name
        elif root.is_dir():
            files = [
                p
                for p in sorted(root.rglob("*.json"))
                if p.name != SETTINGS_FILE
                and not {"runs", "report"} & set(p.relative_to(root).parts[:-1])
            ]
            label = source or root.name
        else:
            found.problems.append(f"{root}: no such file or folder")
            continue
        seen = {}
        for path in files:
            try:
                result = load_result(path, label)
            except ResultError as error:
                found.problems.append(
                    f"{path}: {error}; skipped. Restore it, or delete it to train that run again."
                )
                continue
            run = (result.key, result.raw["run_id"])
            if seen.setdefault(run, path) == path:
                found.results.append(result)
            else:
                found.problems.append(f"{path}: the same run as {seen[run]}; counted once")
    return found


def shipped(budget: str | None = None) -> Gathered:
    """The result files shipped in ``resnext_edu/results/<budget>/``, labelled "shipped"."""
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
    seconds_per_epoch: list[float] = field(default_factory=list)  # each seed's fastest epoch

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
        """The mean over seeds, epoch by epoch, as long as the shortest curve; an epoch some seed
        did not evaluate is left out."""
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
    return sorted(rows.values(), key=_order)


def _order(row: Row) -> tuple:
    c = row.config
    return row.label, row.key, c.scale, AXIS_ORDER.get(c.axis, 3), c.cardinality


def summary_table(rows: list[Row], metric: str = "test_acc") -> str:
    """A text table: per model, the mean +- std over seeds of ``metric``, params, MACs and time per
    epoch; "" for no rows."""
    m = get_metric(metric)
    lines, current = [], None
    for row in rows:
        if row.key != current:
            current = row.key
            header = f"{'model':<20}{'setting':<22}{'params':>10}{'MACs':>13}{'seeds':>6}"
            lines += ["", row.label, f"  {header}  {m.label:<28}{'s/epoch':>8}"]
        c = row.config
        setting = c.setting + ("" if c.scale == 1 else f" 2x {c.axis}")
        spread = f"{row.mean:7.2f}" + (f" +- {row.std:.2f}" if row.n > 1 else "")
        seconds = statistics.mean(row.seconds_per_epoch)
        lines.append(
            f"  {c.model_name:<20}{setting:<22}{c.params:>10,}{c.macs:>13,}{row.n:>6}  "
            f"{spread:<28}{seconds:>8.1f}"
        )
    if lines:
        lines.append(
            "\nmean +- sample standard deviation over seeds; params: learnable numbers; MACs: "
            "multiply-accumulates per 32x32 image;\ns/epoch: each run's fastest training epoch on "
            "its machine, mean over seeds"
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
    Welch's 95% confidence interval (low, high), degrees of freedom, t and p; NaN for these where
    :func:`difference` has no test."""
    out = []
    for key in dict.fromkeys(r.key for r in rows):
        models = ladder(rows, key)
        for C in sorted(models)[1:] if 1 in models else []:
            high, low = models[C], models[1]
            w = difference(high, low)  # None: no test, so NaN for each of its figures
            test = {name: getattr(w, name, math.nan) for name in ("low", "high", "df", "t", "p")}
            out.append(
                {
                    "label": high.label,
                    "setting": high.config.setting,
                    "baseline": low.config.setting,
                    "difference": high.mean - low.mean,
                    **test,
                    "n": (high.n, low.n),
                }
            )
    return out


def comparison_table(rows: list[Row]) -> str:
    """:func:`compare_to_baseline` as text, the differences in the metric's unit (e.g. percentage
    points)."""
    found = compare_to_baseline(rows)
    if not found:
        return "  no C = 1 model and another cardinality of the same sweep yet: nothing to compare"
    lines = [
        f"  {'setting':<10}{'vs':<8}{'difference':>11}{'95% CI (Welch)':>20}{'df':>6}{'p':>7}  seeds"
    ]
    for c in found:
        if math.isnan(c["p"]):
            test = f"{'one seed':>20}{'':>13}"
        else:
            ci = f"[{c['low']:+.2f}, {c['high']:+.2f}]"
            test = f"{ci:>20}{c['df']:>6.1f}{c['p']:>7.3f}"
        lines.append(
            f"  {c['setting']:<10}{c['baseline']:<8}{c['difference']:>+11.2f}{test}"
            f"  {c['n'][0]} vs {c['n'][1]}"
        )
    return "\n".join(lines)

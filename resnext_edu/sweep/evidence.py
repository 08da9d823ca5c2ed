"""What a sweep's numbers show, said in sentences computed from them (lesson 05, sections 3 and 4).

A difference of two models' means is compared with the noise of re-running them: the standard error of the
difference of two means, sqrt(s1^2/n1 + s2^2/n2) (Welch), with s the sample standard deviation over seeds. With one
seed of a model there is no spread to estimate, and the sentences say so instead of printing a ratio.
The paper's Fig. 5 argument (more cardinality reaches a lower *training* error, so it is a stronger representation,
not a regulariser) is read from the result files' per-epoch histories the same way.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from datetime import datetime

from .results import Result, Row, get_metric, summarize


@dataclass(frozen=True)
class Difference:
    """The mean of ``high`` minus the mean of ``low``: two models of one experiment, in the metric's unit."""

    high: Row
    low: Row

    @property
    def value(self) -> float:
        return self.high.mean - self.low.mean

    @property
    def standard_error(self) -> float | None:
        """sqrt(s_high^2 / n_high + s_low^2 / n_low); None when a model has only one seed (no spread to estimate)."""
        if min(self.high.n, self.low.n) < 2:
            return None
        return math.sqrt(self.high.std ** 2 / self.high.n + self.low.std ** 2 / self.low.n)

    @property
    def ratio(self) -> float | None:
        """The difference in units of its standard error; None when there is none (one seed, or zero spread)."""
        se = self.standard_error
        return self.value / se if se else None


def _ladder(rows: list[Row], experiment: str) -> dict[int, Row]:
    return {r.config.cardinality: r for r in rows
            if r.experiment == experiment and r.config.scale == 1 and r.config.axis == "cardinality"}


def differences(rows: list[Row], high: int = 32, low: int = 1) -> dict[str, Difference | None]:
    """Per experiment: C = ``high`` minus C = ``low`` at equal complexity; None where either model is missing."""
    out = {}
    for experiment in dict.fromkeys(r.experiment for r in rows):
        ladder = _ladder(rows, experiment)
        out[experiment] = Difference(ladder[high], ladder[low]) if high in ladder and low in ladder else None
    return out


def compare_to_baseline(rows: list[Row]) -> list[dict]:
    """Each cardinality's mean minus the C = 1 model's (same experiment), with the standard error of that
    difference, sqrt(s1^2/n1 + s2^2/n2) (Welch), and their ratio: how many standard errors apart they are.

    A ratio below about 2 means the seeds' noise could explain the difference on its own. Where a model has one
    seed, the standard error is None and the ratio NaN: one run has no spread to compare with.
    """
    out = []
    for experiment in dict.fromkeys(r.experiment for r in rows):
        ladder = _ladder(rows, experiment)
        if 1 not in ladder:
            continue
        for c in sorted(ladder)[1:]:
            d = Difference(ladder[c], ladder[1])
            out.append({"experiment": experiment, "setting": d.high.config.setting, "baseline": d.low.config.setting,
                        "difference": d.value, "standard_error": d.standard_error,
                        "ratio": math.nan if d.ratio is None else d.ratio, "n": (d.high.n, d.low.n)})
    return out


def comparison_table(rows: list[Row]) -> str:
    """:func:`compare_to_baseline` as text (differences in the metric's unit, e.g. percentage points)."""
    lines = [f"  {'setting':<10}{'vs':<8}{'difference':>11}{'std. error':>12}{'ratio':>8}  seeds"]
    if not compare_to_baseline(rows):
        return "  no C = 1 model and another cardinality of the same sweep yet: nothing to compare"
    for c in compare_to_baseline(rows):
        se = "no spread" if c["standard_error"] is None else f"{c['standard_error']:.2f}"
        ratio = "-" if math.isnan(c["ratio"]) else f"{c['ratio']:.1f}"
        lines.append(f"  {c['setting']:<10}{c['baseline']:<8}{c['difference']:>+11.2f}{se:>12}{ratio:>8}  "
                     f"{c['n'][0]} vs {c['n'][1]}")
    return "\n".join(lines)


def _wrap(sentences: list[str], width: int = 116) -> str:
    """Each sentence as its own paragraph, wrapped to fit a notebook's output."""
    return "\n".join(textwrap.fill(s, width, subsequent_indent="  ") for s in sentences)


def _mean_sd(row: Row) -> str:
    return f"{row.mean:.2f} +- {row.std:.2f}" if row.n > 1 else f"{row.mean:.2f} (one seed)"


def _unit(metric) -> str:
    return "points" if metric.scale == 100 else metric.label.split("(")[-1].rstrip(")")


def _direction(d: Difference, metric, same: str) -> str:
    """"better", "worse" or ``same`` for ``high`` against ``low`` (lower is better for errors and losses)."""
    better = d.value > 0 if metric.higher_is_better else d.value < 0
    return "better" if better else "worse" if d.value else same


def _single_seeded(d: Difference, high_name: str, low_name: str) -> str:
    """The names of the models of ``d`` with one seed, "x and y"; "" when both have several."""
    return " and ".join(name for name, r in ((high_name, d.high), (low_name, d.low)) if r.n < 2)


def _beyond_noise(d: Difference) -> bool:
    """More than two standard errors apart: the rule both sentences below apply (``d.ratio`` must exist)."""
    return abs(d.ratio) > 2


def _say_pair(d: Difference, metric, high_name: str | None = None, low_name: str | None = None) -> str:
    """``high`` against ``low``: both means, their difference, and whether it is larger than the seeds' noise (two
    standard errors), or why that cannot be said (one seed, zero spread). One sentence, without its experiment."""
    unit = _unit(metric)
    h, lo = high_name or d.high.config.setting, low_name or d.low.config.setting
    head = (f"{metric.label} of {h} {_mean_sd(d.high)}, of {lo} {_mean_sd(d.low)}; {h} minus {lo} = "
            f"{d.value:+.2f} {unit} ({h} {_direction(d, metric, 'the same')})")
    if d.standard_error is None:
        return (f"{head}. With one seed of {_single_seeded(d, h, lo)} there is no spread over seeds, so no standard "
                f"error: this difference could be the seeds' noise alone. It needs a second seed.")
    if d.ratio is None:
        return f"{head}. The seeds agree exactly (zero spread), so no standard error can be estimated."
    verdict = ("more than two: unlikely to be the seeds' noise alone" if _beyond_noise(d) else
               "less than two: the seeds' noise alone could give a difference this large")
    rough = (f" With {min(d.high.n, d.low.n)} seeds the standard error is itself a rough estimate."
             if min(d.high.n, d.low.n) < 3 else "")
    return (f"{head}; standard error of the difference {d.standard_error:.2f} {unit} ({d.high.n} and {d.low.n} "
            f"seeds), so {abs(d.ratio):.1f} standard errors apart, {verdict}.{rough}")


def say_difference(rows: list[Row], metric: str = "test_error", high: int = 32, low: int = 1) -> str:
    """One sentence per experiment: C = ``high`` against C = ``low`` in ``metric``, and whether the difference is
    larger than the seeds' noise (two standard errors), or why that cannot be said (a model missing, one seed)."""
    m = get_metric(metric)
    sentences = []
    for experiment, d in differences(rows, high, low).items():
        if d is None:
            have = sorted(_ladder(rows, experiment))
            sentences.append(f"{experiment}: {m.label}: no C = {high} and C = {low} pair yet (cardinalities with "
                             f"results: {', '.join(map(str, have)) or 'none'}), so nothing to compare.")
        else:
            sentences.append(f"{experiment}: {_say_pair(d, m)}")
    return _wrap(sentences) if sentences else "No results to compare."


def _name_2x(row: Row) -> str:
    """A Table 4 model by the paper's words: "2x deeper (resnet38)", "2x cardinality (64x5d)"."""
    c = row.config
    return f"2x {c.axis} ({c.setting if c.axis == 'cardinality' else c.model_name})"


def _say_short(d: Difference, metric) -> str:
    """"2x cardinality (64x5d) minus 2x deeper (resnet38): -1.20 points, 3.1 standard errors (2 and 2 seeds): ..."."""
    h, lo = _name_2x(d.high), _name_2x(d.low)
    head = f"{h} minus {lo}: {d.value:+.2f} {_unit(metric)} ({_direction(d, metric, 'equal')})"
    if d.standard_error is None:
        return (f"{head}; one seed of {_single_seeded(d, h, lo)}: no standard error yet, so it could be the seeds' "
                f"noise alone.")
    if d.ratio is None:
        return f"{head}; the seeds agree exactly (zero spread): no standard error can be estimated."
    verdict = "more than the seeds' noise" if _beyond_noise(d) else "within the seeds' noise"
    return f"{head}, {abs(d.ratio):.1f} standard errors ({d.high.n} and {d.low.n} seeds): {verdict}."


def table4_rows(rows: list[Row], experiment: str) -> tuple[Row | None, list[Row]]:
    """The 1x64d baseline (C = 1 of the 1x ladder) and the 2x-complexity models of one experiment (Table 4)."""
    return (_ladder(rows, experiment).get(1),
            [r for r in rows if r.experiment == experiment and r.config.scale == 2])


def say_table4(rows: list[Row], metric: str = "test_error") -> str:
    """Table 4's question at this scale: twice the complexity spent deeper, wider or on cardinality (lesson 05).

    Per experiment, a table of each 2x model's mean +- sample SD over seeds, its params and MACs as multiples of
    the 1x64d baseline (depth comes in steps of one block per stage, so the deeper model is matched only roughly:
    the ratios say how far) and its difference from the baseline in units of the standard error; then each 2x
    cardinality model against the deeper and the wider one, the paper's comparison."""
    m = get_metric(metric)
    out = []
    for experiment in dict.fromkeys(r.experiment for r in rows):
        base, twice = table4_rows(rows, experiment)
        if not twice:
            continue
        lines = [f"{experiment}: Table 4's question, {m.label}:",
                 f"  {'model':<28}{'seeds':>6}  {'mean +- SD':<15}{'params':>7}{'MACs':>7}{'minus 1x64d':>13}"
                 f"{'ratio':>7}"]
        for r in ([base] if base else []) + twice:
            vs = Difference(r, base) if base and r is not base else None
            cost = (f"{r.config.params / base.config.params:>7.2f}x{r.config.macs / base.config.macs:>6.2f}x"
                    if base else f"{'-':>8}{'-':>7}")
            diff = "" if vs is None else f"{vs.value:>+13.2f}{'-' if vs.ratio is None else f'{vs.ratio:.1f}':>7}"
            name = "1x64d (baseline)" if r is base else _name_2x(r)
            value = f"{r.mean:.2f} +- {r.std:.2f}" if r.n > 1 else f"{r.mean:.2f}"      # one run has no spread
            lines.append(f"  {name:<28}{r.n:>6}  {value:<15}{cost}{diff}")
        lines.append("  params, MACs: as multiples of 1x64d's; ratio: the difference from 1x64d over its standard error"
                     if base else "  No 1x64d run in this experiment: nothing to measure the 2x models against.")
        pairs = [(h, lo) for h in twice if h.config.axis == "cardinality"
                 for lo in twice if lo.config.axis in ("deeper", "wider")]
        lines.append(_wrap([_say_short(Difference(h, lo), m) for h, lo in pairs]
                           or ["No 2x cardinality model beside a deeper or a wider one yet: the paper's comparison "
                               "cannot be made."]))
        best = min(twice, key=lambda r: r.mean) if not m.higher_is_better else max(twice, key=lambda r: r.mean)
        if len(twice) > 1:
            lines.append(f"Best mean among the {len(twice)} 2x models: {_name_2x(best)}, {best.mean:.2f} ({best.n} "
                         f"seed{'s' * (best.n != 1)}).")
        out.append("\n".join(lines))
    return "\n\n".join(out) or "No 2x-complexity (Table 4) runs yet: `sweep --table4` trains them."


def say_fig5(results: list[Result], high: int = 32, low: int = 1) -> str:
    """The paper's Fig. 5 argument, checked on ``results``: does C = ``high`` reach a lower training error than
    C = ``low`` in the final epoch? A lower training error (beside a lower test error, :func:`say_difference`) means a
    stronger representation; a regulariser would raise the training error. Also says how it was measured."""
    if not results:
        return "No result files yet, so no training curves to compare."
    train = summarize(results, "train_error")
    lines = [say_difference(train, "train_error", high, low)]
    for experiment, d in differences(train, high, low).items():
        if d is None or d.ratio is None:
            answer = "the data cannot answer the question yet (see above)"
        elif abs(d.ratio) <= 2:
            answer = ("no difference in training error larger than the seeds' noise, so these runs neither show "
                      "nor refute it")
        elif d.value < 0:
            answer = (f"yes: {d.high.config.setting} fits its training images better than {d.low.config.setting}, "
                      f"by more than the noise, a stronger representation (a regulariser would raise the training "
                      f"error instead)")
        else:
            answer = f"no: {d.high.config.setting} has the higher training error, by more than the noise"
        lines.append(f"{experiment}: does more cardinality reach a lower training error? {answer}.")
    smoothing = sorted({r.raw["settings"].get("label_smoothing", 0.0) for r in results})
    smoothing = " or ".join(f"label smoothing {s}" for s in smoothing if s) or "no label smoothing"
    lines.append(f"Training error here is 100 % minus train_acc of the history: measured on the augmented batches "
                 f"(random crops, flips) while the weights were still changing during the epoch, with {smoothing} "
                 f"in the loss; it is not the error of the final model on the clean training images.")
    return "\n".join(lines[:1] + [_wrap(lines[1:])])


def concurrency(results: list[Result]) -> list[float]:
    """For each run, how many runs of other processes (among ``results``) trained alongside it, on average over its
    (last session's) time: the sum of its overlaps with them divided by its duration (0: alone, 1: one other all the
    time). From the provenance: a run's interval is [date - session_seconds, date] (date: when it finished)."""
    spans = []
    for r in results:
        p = r.raw["provenance"]
        end = datetime.fromisoformat(p["date"]).timestamp()
        spans.append(((p.get("host"), p.get("pid")), end - p.get("session_seconds", p["wall_seconds"]), end))
    return [sum(max(0.0, min(e, end) - max(s, start)) for w, s, e in spans if w != who) / (end - start)
            if end > start else 0.0 for who, start, end in spans]


def say_time(rows: list[Row], results: list[Result], high: int = 32, low: int = 1) -> str:
    """Time per training epoch of C = ``high`` against C = ``low`` (each run's fastest epoch, mean over seeds),
    beside their MACs: equal work, unequal time. Says how many other runs shared the CPU with each, by provenance."""
    if not results:
        return "No result files yet, so no times to compare."
    alongside = dict(zip((id(r) for r in results), concurrency(results)))
    lines = []
    for experiment, d in differences(rows, high, low).items():
        if d is None:
            lines.append(f"{experiment}: no C = {high} and C = {low} pair yet.")
            continue
        secs = [sum(r.seconds_per_epoch) / len(r.seconds_per_epoch) for r in (d.high, d.low)]
        h, lo = d.high.config, d.low.config
        busy = [[alongside[id(r)] for r in results if r.experiment == experiment and r.config.key == c.key]
                for c in (h, lo)]
        lines.append(f"{experiment}: {h.setting} took {secs[0]:.1f} s per training epoch, {lo.setting} "
                     f"{secs[1]:.1f} s: {secs[0] / secs[1]:.2f} times as long, for {h.macs / lo.macs:.2f} times "
                     f"the MACs (fastest epoch of each run, mean over {d.high.n} and {d.low.n} seeds). On average "
                     f"{sum(busy[0]) / len(busy[0]):.1f} runs of other processes trained alongside a {h.setting} run, "
                     f"{sum(busy[1]) / len(busy[1]):.1f} alongside a {lo.setting} run.")
    shared = concurrency(results)
    devices = sorted({r.raw["provenance"]["device"] for r in results})
    slow = [r.final["seconds_per_epoch"] / r.final["min_seconds_per_epoch"] for r in results
            if r.final.get("min_seconds_per_epoch")]
    lines.append(f"The {len(results)} run{'s' * (len(results) != 1)} ran on {'; '.join(devices)}. By their provenance "
                 f"(process id, finish time, duration), {min(shared):.1f} to {max(shared):.1f} runs of other "
                 f"processes trained alongside each, on average over its time (counting only runs among these files; "
                 f"other programs are not recorded in them).")
    if slow:
        lines.append(f"Within a run, the median epoch took {min(slow):.2f} to {max(slow):.2f} times as long as the "
                     f"fastest (1.00: all epochs alike); above 1, the same work ran at different speeds, because the "
                     f"machine was busy with other things for part of the time. The fastest epoch is the least "
                     f"disturbed, so it is the fairer measure of a model's speed, but not an undisturbed one where "
                     f"other runs trained alongside it.")
    return _wrap(lines)

"""Benchmark 6: where one training step's time goes, by kind of operation and by feature-map size (CPU).

The step is the package's own: ``train.train_step`` (autocast forward, cross-entropy, backward, SGD update) between
what ``train.fit`` does around it on the CPU: the next batch from ``augment.train_batches`` (random crop, flip,
normalise, channels_last) and the bookkeeping after it (lr schedule, the loss and accuracy kept on the device, the
per-step divergence check). The images are random uint8 tensors of CIFAR-10's shape: pixel values do not change the
time of any operation here, so the real data are not needed.

After a few untimed warm-up steps, some steps are timed without the profiler (the reference time), then a few are
profiled with ``torch.profiler`` (``record_shapes=True``), each in its own profiler session after an unprofiled step
(in one long session, each step here ran slower than the one before it: 0.9 s, then 1.5, 2.3, 3.4 s). The self
CPU time of every operation (its time minus that of the operations it calls, so the self times add up to the
profiled time without double counting) is put in one category by :func:`classify`: the convolutions by their
weight's shape (1x1; 3x3 with groups > 1 = grouped; other = dense), BatchNorm, ReLU, the residual add, copies,
casts, loss and head, the optimizer; forward and backward apart (backward = under the autograd engine). The
feature-map size of each operation (32x32, 16x16, 8x8: the three CIFAR stages) is read from its input's shape (a
stride-2 convolution counts at its input's size).

Models (``--models``): "resnext17" is benchmark 3's ResNeXt 4x32d at stage widths 16/32/64 with 1/2/2 blocks; the
others are the "full" cardinality sweep's ResNeXt-20s at the same widths (C = 1, 4, 32 at about equal MACs).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/step_profile.py [--models resnext17 resnet20 ...] [--steps 5]

One torch thread by default (``--threads``): the project's 2-core machine is shared with long training runs, and
one thread is the steadiest measure there. Prints a table per model and writes benchmarks/results/step_profile.json.
``--smoke`` profiles a tiny model for 2 steps (tests/test_step_profile.py).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

# benchmark 4's malloc setting, as benchmark 3 runs with it (glibc reads it only at start-up, hence the re-exec)
from malloc_tuning import TUNED  # noqa: E402 (that module imports the standard library only)

if (
    __name__ == "__main__"
    and sys.platform == "linux"
    and "GLIBC_TUNABLES" not in os.environ
    and "--no-malloc-tuning" not in sys.argv
):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": TUNED})
os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before torch loads OpenMP (benchmarks/README.md)

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile, record_function  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from record import write_result  # noqa: E402 (benchmarks/record.py)
from resnext_edu.augment import train_batches  # noqa: E402
from resnext_edu.counting import count  # noqa: E402
from resnext_edu.device import Precision, resolve_precision  # noqa: E402
from resnext_edu.models import create  # noqa: E402
from resnext_edu.train import lr_factor, train_step  # noqa: E402

LESSON_WIDTHS = {"stage_widths": (16, 32, 64), "stem_width": 16}
MODELS = {  # key: (registered name, overrides, what it is)
    "resnext17": (
        "resnext20_4x32d",
        {**LESSON_WIDTHS, "blocks_per_stage": (1, 2, 2)},
        "benchmark 3's model with blocks 1/2/2: ResNeXt 4x32d ('ResNeXt-17')",
    ),
    "resnet20": ("resnet20", LESSON_WIDTHS, "the full sweep's C = 1 (1x64d)"),
    "resnext20_4x25d": ("resnext20_4x25d", LESSON_WIDTHS, "the full sweep's C = 4"),
    "resnext20_32x4d": ("resnext20_32x4d", LESSON_WIDTHS, "the full sweep's C = 32"),
    "smoke": (
        "resnext20_4x32d",
        {"stage_widths": (8, 16, 32), "stem_width": 8, "blocks_per_stage": (1, 1, 1)},
        "a toy ResNeXt for testing this script",
    ),
}

# Categories, in the order of the table. A convolution's kind is read from its weight (out, in/groups, kh, kw).
CATEGORIES = {
    "grouped 3x3 conv fwd": "3x3 convolutions with groups > 1 (the ResNeXt block's C paths)",
    "grouped 3x3 conv bwd": "their backward (input and weight gradients)",
    "dense 3x3 conv fwd": "3x3 convolutions with groups = 1 (the stem; every block's 3x3 when C = 1)",
    "dense 3x3 conv bwd": "their backward",
    "1x1 conv fwd": "the blocks' 1x1 convolutions and 1x1 projection shortcuts",
    "1x1 conv bwd": "their backward",
    "BatchNorm fwd": "training-mode BatchNorm (batch statistics, running averages)",
    "BatchNorm bwd": "its backward",
    "ReLU fwd": "ReLU (in place inside a block; out of place after the residual add)",
    "ReLU bwd": "threshold_backward",
    "residual add": "the block's out + shortcut (forward) and the gradient sum where a tensor feeds two paths",
    "layout conversions, copies": "contiguous(), clone(): a tensor copied into another memory layout",
    "dtype casts": "aten::to: autocast's bf16 copies of weights and inputs, fp32 <-> bf16 (both passes)",
    "head and loss": "average pool, fc, cross-entropy with label smoothing (both passes)",
    "optimizer": "SGD step (Nesterov momentum, weight decay) and zero_grad",
    "input pipeline": "the next batch: crop, flip, normalise to float, channels_last (train.fit's data)",
    "bookkeeping": "lr schedule step, loss/accuracy kept on the device, divergence check (train.fit)",
    "between ops": "the step's time outside every op: Python, module calls, hooks (the profile's own overhead too)",
    "other": "the autograd engine's own work, views, allocations, anything not above",
}
SCOPES = {
    "input pipeline": "input pipeline",
    "bookkeeping": "bookkeeping",
    "Optimizer.step": "optimizer",
    "Optimizer.zero_grad": "optimizer",
}  # record_function names (the last two are torch.optim's own)
# Convolution ops and the positions of (input, weight) among their arguments.
CONV_OPS = {
    "aten::conv2d": (0, 1),
    "aten::convolution": (0, 1),
    "aten::_convolution": (0, 1),
    "aten::mkldnn_convolution": (0, 1),
    "aten::_slow_conv2d_forward": (0, 1),
    "aten::convolution_backward": (1, 2),
    "aten::mkldnn_convolution_backward": (0, 2),
    "aten::_slow_conv2d_backward": (1, 2),
}
RELU_OPS = {
    "aten::relu",
    "aten::relu_",
    "aten::clamp_min",
    "aten::clamp_min_",
    "aten::threshold",
    "aten::threshold_",
    "aten::threshold_backward",
}
ADD_OPS = {"aten::add", "aten::add_"}
HEAD_OPS = {
    "aten::cross_entropy_loss",
    "aten::log_softmax",
    "aten::_log_softmax",
    "aten::nll_loss",
    "aten::nll_loss_nd",
    "aten::nll_loss2d",
    "aten::_log_softmax_backward_data",
    "aten::nll_loss_backward",
    "aten::linear",
    "aten::addmm",
    "aten::mm",
    "aten::adaptive_avg_pool2d",
    "aten::mean",
}
HEAD_NODES = (
    "AddmmBackward",
    "MeanBackward",
    "NllLossBackward",
    "LogSoftmaxBackward",
    "MaskedFillBackward",
    "TBackward",
    "ViewBackward",
    "ReshapeAliasBackward",
    "AsStridedBackward",
    "DivBackward",
    "MulBackward",
    "SumBackward",
    "NegBackward",
    "UnsqueezeBackward",
    "SqueezeBackward",
)
CASTS = {"aten::to", "aten::_to_copy"}
COPIES = {"aten::contiguous", "aten::clone"}
COUNTED = [
    c
    for c in CATEGORIES
    if c.startswith(("grouped", "dense", "1x1", "BatchNorm", "ReLU", "residual"))
]
ENGINE = "autograd::engine::evaluate_function: "


# ---------------------------------------------------------------------------------------------------------------
# The step as train.fit runs it on the CPU
# ---------------------------------------------------------------------------------------------------------------


def build(key: str, **changes) -> torch.nn.Module:
    """The model of ``MODELS[key]``, with ``changes`` to its overrides (e.g. ``blocks_per_stage=(1, 1, 3)``)."""
    name, overrides, _ = MODELS[key]
    return create(name, **{**overrides, **changes})


class FitStep:
    """One call = one step of ``train.fit``'s loop: next batch, ``train_step``, lr schedule, bookkeeping.

    ``net`` may be a compiled or otherwise wrapped ``model`` (benchmarks/speed_experiments.py); the optimizer holds
    ``model``'s parameters. The one-cycle schedule is set for ``total_steps`` so that the lr stays in a sane range.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        batch_size: int = 256,
        lr: float = 0.4,
        precision: Precision,
        net: torch.nn.Module | None = None,
        images: int | None = None,
        crop_padding: int = 1,
        label_smoothing: float = 0.1,
        total_steps: int = 1000,
        seed: int = 0,
    ):
        self.model, self.net, self.precision = model, net if net is not None else model, precision
        self.batch_size, self.label_smoothing = batch_size, label_smoothing
        model.to(
            memory_format=torch.channels_last
            if precision.channels_last
            else torch.contiguous_format
        )
        model.train()
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor("onecycle", s, total_steps, total_steps, 0.25)
        )
        self.scaler = torch.amp.GradScaler("cpu", enabled=precision.grad_scaler)
        g = torch.Generator().manual_seed(seed)
        n = images or 8 * batch_size
        self.images = torch.randint(
            0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g
        )  # pixel values: any
        self.labels = torch.randint(0, 10, (n,), generator=g)
        self.crop_padding = crop_padding
        self.batches = self._forever()
        self.losses, self.corrects = [], []

    def _forever(self):
        for epoch in itertools.count():
            yield from train_batches(
                self.images,
                self.labels,
                self.batch_size,
                epoch=epoch,
                pad=self.crop_padding,
                channels_last=self.precision.channels_last,
            )

    def __call__(self) -> None:
        with record_function("input pipeline"):
            x, y = next(self.batches)
        logits, loss = train_step(
            self.net,
            self.optimizer,
            x,
            y,
            scaler=self.scaler,
            precision=self.precision,
            label_smoothing=self.label_smoothing,
        )
        with record_function(
            "bookkeeping"
        ):  # what fit's epoch does after each step (sync_every = 1)
            self.scheduler.step()
            self.losses.append(loss.detach().float())
            self.corrects.append((logits.detach().argmax(1) == y).sum())
            new = torch.stack(self.losses[-1:]).cpu()
            if not torch.isfinite(new).all():
                raise RuntimeError(f"the loss became {new.item()}: this benchmark's step diverged")
            new.sum().item(), torch.stack(self.corrects[-1:]).sum().item()


def time_steps(step, n: int) -> list[float]:
    """Seconds of each of ``n`` calls of ``step``."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        out.append(time.perf_counter() - t0)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Sorting the profiler's events into categories
# ---------------------------------------------------------------------------------------------------------------


def _map_size(shape) -> str | None:
    """ "32x32" for an activation (N, C, H, W) with a map of at least 4x4 (a 3x3 or 1x1 weight is not a map)."""
    if isinstance(shape, (list, tuple)) and len(shape) == 4 and min(shape[2:]) >= 4:
        return f"{shape[2]}x{shape[3]}"
    return None


def _conv_kind(event) -> tuple[str, str | None]:
    """("1x1 conv" | "grouped 3x3 conv" | "dense 3x3 conv", map size) from a convolution op's shapes."""
    i, w = CONV_OPS[event.name]
    shapes = event.input_shapes
    x, weight = shapes[i], shapes[w]
    groups = x[1] // weight[1]
    if tuple(weight[2:]) == (1, 1):
        kind = "1x1 conv"
    else:
        kind = "grouped 3x3 conv" if groups > 1 else "dense 3x3 conv"
    return kind, _map_size(x)


def _family(event) -> str | None:
    """The family of a key operation (one that names a category), or None."""
    name = event.name
    if name in CONV_OPS:
        return "conv"
    if "batch_norm" in name:
        return "BatchNorm"
    if name in RELU_OPS:
        return "ReLU"
    if name in ADD_OPS and any(len(shape) == 4 for shape in event.input_shapes or []):
        return "residual add"  # (a 0-d add_ is BatchNorm's num_batches_tracked += 1: "other")
    if name in HEAD_OPS:
        return "head and loss"
    return None


def _chain(event) -> list:
    out = []
    while event is not None:
        out.append(event)
        event = event.cpu_parent
    return out  # the event itself first, the outermost last


def classify(event) -> tuple[str, str | None]:
    """(category, map size or None) of one profiler event's self time. Rules, first match wins:

    0. the self time of the step's own record_function: "between ops";
    1. inside one of :data:`SCOPES` (record_function): that scope's category;
    2. inside ``aten::to``: "dtype casts"; inside ``contiguous``/``clone``: "layout conversions, copies";
    3. backward work of the head's autograd nodes (mean, fc, loss): "head and loss";
    4. the outermost key operation around it (a conv, BatchNorm, ReLU, add, head/loss op) names it, with fwd/bwd
       from whether the autograd engine runs it;
    5. the rest: "other".
    """
    chain = _chain(event)
    names = [e.name for e in chain]
    if len(chain) == 1 and event.name.startswith(
        "step "
    ):  # the step's own record_function (split_steps)
        return "between ops", None
    for name in names:
        for scope, category in SCOPES.items():
            if name.startswith(scope):
                return category, None
    backward = any(n.startswith(ENGINE) for n in names)
    size = next((s for e in chain for s in map(_map_size, e.input_shapes or []) if s), None)
    if any(n in CASTS for n in names):
        return "dtype casts", size
    if any(n in COPIES for n in names):
        return "layout conversions, copies", size
    node = next((n[len(ENGINE) :] for n in names if n.startswith(ENGINE)), "")
    if node.startswith(HEAD_NODES):
        return "head and loss", None
    key = next((e for e in reversed(chain) if _family(e)), None)  # the outermost key op
    if key is not None:
        family = _family(key)
        if family == "conv":
            kind, size = _conv_kind(key)
            return f"{kind} {'bwd' if backward else 'fwd'}", size
        if family in ("BatchNorm", "ReLU"):
            return f"{family} {'bwd' if backward else 'fwd'}", size
        return family, size
    return "other", size


def categorize(events) -> dict:
    """Self CPU ms of each category in ``events`` (one step's), split by feature-map size, and the calls.

    A call is counted at the outermost key operation (an autocast ``conv2d`` calls ``conv2d`` again inside: one
    call). Returns ``{"categories": {name: {"ms", "by_map", "calls"}}, "total_ms"}``.
    """
    ms, calls = defaultdict(float), defaultdict(int)
    by_map = defaultdict(lambda: defaultdict(float))
    for e in events:
        category, size = classify(e)
        ms[category] += e.self_cpu_time_total / 1000
        by_map[category][size or "no map"] += e.self_cpu_time_total / 1000
        family = _family(e)
        if family and not any(_family(p) for p in _chain(e)[1:]) and category in COUNTED:
            calls[category] += 1
    unknown = set(ms) - set(CATEGORIES)
    assert not unknown, f"categories missing from CATEGORIES: {unknown}"
    return {
        "categories": {
            c: {"ms": ms[c], "by_map": dict(by_map[c]), "calls": calls[c]} for c in CATEGORIES
        },
        "total_ms": sum(ms.values()),
    }


def split_steps(events) -> list[list]:
    """The events under each ``record_function("step i")``, in step order (the profile wraps every step in one)."""
    steps = defaultdict(list)
    for e in events:
        root = _chain(e)[-1]
        if root.name.startswith("step "):
            steps[int(root.name.split()[1])].append(e)
    return [steps[i] for i in sorted(steps)]


def summarize(per_step: list[dict]) -> dict:
    """Medians over the profiled steps of each category's ms (and of each map size's), and the total's.

    Medians, because on a shared machine one step can be slowed by another program; the categories' medians add up
    to about the median total, not exactly (both are given).
    """
    med = statistics.median
    sizes = sorted({s for r in per_step for c in r["categories"].values() for s in c["by_map"]})
    categories = {}
    for c in CATEGORIES:
        runs = [r["categories"][c] for r in per_step]
        categories[c] = {
            "ms": med(r["ms"] for r in runs),
            "by_map": {s: med(r["by_map"].get(s, 0.0) for r in runs) for s in sizes},
            "calls": med(r["calls"] for r in runs),
            "ms_each_step": [r["ms"] for r in runs],
        }
    summed = sum(v["ms"] for v in categories.values())
    for v in categories.values():
        v["percent"] = 100 * v["ms"] / summed if summed else 0.0
    return {
        "categories": categories,
        "sum_of_medians_ms": summed,
        "total_ms": med(r["total_ms"] for r in per_step),
        "total_ms_each_step": [r["total_ms"] for r in per_step],
        "by_map": {s: sum(v["by_map"][s] for v in categories.values()) for s in sizes},
    }


def roots_ms(events) -> float:
    """Ms of the outermost events (their total time, callees included): what the self times must add up to."""
    return sum(e.cpu_time_total for e in events if e.cpu_parent is None) / 1000


# ---------------------------------------------------------------------------------------------------------------


def profile_model(key: str, args: argparse.Namespace, precision: Precision) -> dict:
    torch.manual_seed(0)
    model = build(key)
    counts = count(model)
    step = FitStep(model, batch_size=args.batch_size, lr=args.lr, precision=precision)
    time_steps(step, args.warmup)
    reference = time_steps(step, args.reference_steps)
    load_before = os.getloadavg()
    walls, per_step, outermost = [], [], []
    for i in range(
        args.steps
    ):  # one profiler session per step, an unprofiled step between (see the docstring)
        step()
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            t0 = time.perf_counter()
            with record_function(f"step {i}"):
                step()
            walls.append(1000 * (time.perf_counter() - t0))
        (events,) = split_steps(prof.events())
        per_step.append(categorize(events))
        outermost.append(roots_ms(events))
    result = summarize(per_step)
    result.update(
        {
            "model": MODELS[key][0],
            "overrides": {
                k: list(v) if isinstance(v, tuple) else v for k, v in MODELS[key][1].items()
            },
            "about": MODELS[key][2],
            "params": counts.params,
            "macs_per_image": counts.macs,
            "batch_size": args.batch_size,
            "profiled_steps": args.steps,
            "unprofiled_ms_per_step": {
                "median": 1000 * statistics.median(reference),
                "min": 1000 * min(reference),
                "max": 1000 * max(reference),
                "steps": len(reference),
            },
            "profiled_wall_ms_each_step": walls,
            "outermost_event_ms_each_step": outermost,
            "load_average_during": [load_before, os.getloadavg()],
        }
    )
    return result


def print_table(key: str, r: dict) -> None:
    sizes = [s for s in ("32x32", "16x16", "8x8") if s in r["by_map"]] + ["no map"]
    ref = r["unprofiled_ms_per_step"]["median"]
    print(
        f"\n{key}: {MODELS[key][2]}; {r['params']:,} params, {r['macs_per_image'] / 1e6:.1f} M MACs per image, "
        f"batch {r['batch_size']}"
    )
    print(
        f"step without the profiler {ref:.0f} ms (median of {r['unprofiled_ms_per_step']['steps']}; "
        f"{1000 * r['batch_size'] / ref:.0f} img/s); profiled steps (wall ms) "
        + ", ".join(f"{w:.0f}" for w in r["profiled_wall_ms_each_step"])
        + f"; medians of {r['profiled_steps']} profiled steps below (ms of op self time)"
    )
    print(
        f"{'category':28} {'ms/step':>8} {'%':>6} {'calls':>6} "
        + " ".join(f"{s:>8}" for s in sizes)
    )
    for c, v in r["categories"].items():
        if v["ms"] == 0 and not v["calls"]:
            continue
        print(
            f"{c:28} {v['ms']:8.1f} {v['percent']:6.1f} {v['calls']:6.0f} "
            + " ".join(f"{v['by_map'].get(s, 0.0):8.1f}" for s in sizes)
        )
    print(
        f"{'sum of the medians':28} {r['sum_of_medians_ms']:8.1f} {100:6.1f} {'':6} "
        + " ".join(f"{r['by_map'].get(s, 0.0):8.1f}" for s in sizes)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["resnext17", "resnet20", "resnext20_4x25d", "resnext20_32x4d"],
        choices=[k for k in MODELS if k != "smoke"],
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.4)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument(
        "--reference-steps", type=int, default=5, help="steps timed without the profiler"
    )
    parser.add_argument(
        "--steps", type=int, default=5, help="profiled steps (medians over them are shown)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: see the docstring)"
    )
    parser.add_argument("--precision", default="auto")
    parser.add_argument(
        "--smoke", action="store_true", help="a toy model, batch 16, 1 + 1 + 2 steps (for tests)"
    )
    parser.add_argument(
        "--no-malloc-tuning", action="store_true", help="keep glibc's default malloc settings"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "step_profile.json")
    )
    args = parser.parse_args()
    if args.smoke:
        args.models, args.batch_size, args.warmup, args.reference_steps, args.steps = (
            ["smoke"],
            16,
            1,
            1,
            2,
        )
    torch.set_num_threads(args.threads)
    precision = resolve_precision(args.precision, torch.device("cpu"))
    print(
        f"precision {precision.name}, channels_last {precision.channels_last}, {torch.get_num_threads()} thread(s),"
        f" load average {os.getloadavg()[0]:.1f}"
    )
    load_before = os.getloadavg()
    results = {}
    for key in args.models:
        results[key] = profile_model(key, args, precision)
        print_table(key, results[key])
    result = {
        "benchmark": "where a training step's time goes (torch.profiler, self CPU time per category)",
        "unit": "ms per step of self CPU time (wall-clock time of each op minus its callees), 1 process",
        "data": "random uint8 images of CIFAR-10's shape through the package's train_batches",
        "categories": CATEGORIES,
        "precision": precision.name,
        "channels_last": precision.channels_last,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "models": results,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

"""Benchmark 7: what could make benchmark 3's CPU training step faster, each variant measured beside the real step.

Benchmark 6 (step_profile.py) found that BatchNorm, ReLU, the residual add and the 1x1 convolutions on 32x32 maps
take most of a step: memory traffic, not arithmetic. The variants here try to move that. Each runs the step
``train.fit`` runs (step_profile.FitStep: next batch, ``train.train_step``, lr schedule, bookkeeping) on benchmark
3's recipe on its model with blocks 1/2/2 (ResNeXt 4x32d, widths 16/32/64; batch 256, SGD Nesterov
lr 0.4, label smoothing 0.1), with random uint8 images of CIFAR-10's shape (pixel values do not change the time):

* ``baseline``: the package's step, precision "auto" (bf16 autocast + channels_last on an AVX512-BF16 CPU).
* ``grouped_nchw``: the grouped 3x3 convolutions run on contiguous (NCHW) tensors and weights, converted on the way
  in and back to channels_last on the way out; everything else as the baseline.
* ``nchw``: the whole model and its inputs NCHW, still bf16 autocast.
* ``sum_pool``: the global average pool as ``x.sum((2, 3)) / (H·W)`` instead of ``AdaptiveAvgPool2d(1)`` (the
  same average): its backward hands the last ReLU's backward a gradient in a layout it handles fast (SumPool).
* ``bn_relu_compiled``: every BatchNorm followed by a ReLU (the stem's and the blocks' first two) replaced by one
  module ``relu(bn(x))`` compiled by inductor: one fused loop forward and one backward, the convolutions eager.
  This is what torch offers on a CPU for a fused training BN+ReLU; eval-mode folding into the convolution does
  not apply to training, and torch has no eager fused training kernel for it on the CPU.
* ``compiled``: ``torch.compile(model)`` (inductor's C++ backend, default mode), as ``TrainConfig(compile=True)``.
* ``max_autotune``: ``torch.compile(model, mode="max-autotune")``; its compilation is stopped after
  ``--compile-limit`` seconds (then the variant is recorded as stopped, not measured).
* ``blocks_1_1_3``: not the same function: the model with one block moved from its 16x16 stage to its 8x8 one
  (blocks 1/1/3 instead of 1/2/2: the same MACs, 27% more parameters; benchmark 3's default model). Its logits are
  not compared with the baseline's.
* ``batch512``: batch 512 with the lr scaled linearly (0.8): throughput only. Whether it reaches the same accuracy
  in the same number of epochs needs a full training run (benchmark 3: 20 minutes of the whole machine).

Compilation time (the first steps of a compiled variant) is recorded apart from the step time. Then the variants
are timed in alternating rounds (the order rotates each round), so that every ratio compares runs made under the
same load; the figures are medians over the rounds, and each round's ratio to the baseline is kept. Before timing,
each variant's logits on one batch are compared with the baseline's (same initial weights): every variant computes
the same function up to bf16 rounding.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/speed_experiments.py [--rounds 5] [--images 1024]

One torch thread by default (the shared 2-core machine; benchmarks/README.md). Inductor's cache goes to a fresh
temporary folder (so compile times are cold). Writes benchmarks/results/speed_experiments.json. ``--smoke``: a toy
model, batch 16, the cheap variants only (tests/test_step_profile.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

from malloc_tuning import TUNED  # noqa: E402 (that module imports the standard library only)

if (
    __name__ == "__main__"
    and sys.platform == "linux"
    and "GLIBC_TUNABLES" not in os.environ
    and "--no-malloc-tuning" not in sys.argv
):  # benchmark 4's malloc setting, as benchmark 3 runs with it
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "GLIBC_TUNABLES": TUNED})
os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before torch loads OpenMP (benchmarks/README.md)
if __name__ == "__main__":  # a cold, throw-away inductor cache, not the user's or the repository's
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from step_profile import MODELS, FitStep, build  # noqa: E402 (benchmarks/ is on the path when run as a script)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from record import write_result  # noqa: E402 (benchmarks/record.py)
from resnext_edu.blocks import ResNeXtBlock  # noqa: E402
from resnext_edu.device import resolve_precision  # noqa: E402

VARIANTS = (
    "baseline",
    "grouped_nchw",
    "nchw",
    "sum_pool",
    "bn_relu_compiled",
    "compiled",
    "max_autotune",
    "batch512",
    "blocks_1_1_3",
)
CHEAP = (
    "baseline",
    "grouped_nchw",
    "nchw",
    "sum_pool",
    "batch512",
    "blocks_1_1_3",
)  # no compilation: --smoke's
OTHER_MODEL = (
    "blocks_1_1_3",
)  # variants that change the function: logits not compared with the baseline's


# ---------------------------------------------------------------------------------------------------------------
# The variants' model changes
# ---------------------------------------------------------------------------------------------------------------


class NCHWConv(nn.Module):
    """``conv`` on a contiguous (NCHW) copy of its input, the result handed back in channels_last."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x.contiguous()).contiguous(memory_format=torch.channels_last)


def grouped_convs_nchw(model: nn.Module) -> int:
    """Wrap every grouped convolution of ``model`` in :class:`NCHWConv`, its weight made contiguous (call after the
    model was put in channels_last). Returns how many were wrapped."""
    wrapped = 0
    for block in model.modules():
        if isinstance(block, ResNeXtBlock) and block.form == "C" and block.conv2.groups > 1:
            block.conv2.weight.data = (
                block.conv2.weight.data.contiguous()
            )  # the same Parameter (the optimizer's)
            block.conv2 = NCHWConv(block.conv2)
            wrapped += 1
    return wrapped


class SumPool(nn.Module):
    """``AdaptiveAvgPool2d(1)`` as ``x.sum((2, 3), keepdim=True) / (H·W)``: the same average, but its backward hands
    the last ReLU an expanded gradient (strides 0 over H, W) instead of an NCHW one. ``threshold_backward`` with an
    NCHW gradient and a channels_last output took 16.7 ms per step here, 0.9 ms with this pool (benchmark 6); with
    ``x.mean((2, 3))`` the gradient is NCHW again (mean's backward divides the expanded gradient into a new tensor)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sum((2, 3), keepdim=True) / (x.shape[2] * x.shape[3])  # (N, C, 1, 1)


class BNReLU(nn.Module):
    """``relu(bn(x))`` as one module, so that inductor can compile the pair into one loop (forward and backward)."""

    def __init__(self, bn: nn.BatchNorm2d):
        super().__init__()
        self.bn = bn

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(x))


def _block_forward_fused(self: ResNeXtBlock, x: Tensor) -> Tensor:
    """ResNeXtBlock.forward (form C) with bn1/bn2 already followed by their ReLU (BNReLU): no separate ReLU."""
    out = self.bn1(self.conv1(x))
    out = self.bn2(self.conv2(out))
    return self._finish(self.bn3(self.conv3(out)), x)


def compile_bn_relu(model: nn.Module) -> int:
    """Replace each BatchNorm + ReLU pair (the stem's, and bn1/bn2 of every form-C block) by a compiled BNReLU.
    Returns how many pairs. The model's own ReLU is kept where it follows the residual add."""
    # all BNReLU instances share one forward, compiled once per shape: allow more shapes than the default 8
    torch._dynamo.config.recompile_limit = max(64, torch._dynamo.config.recompile_limit)

    def fused(bn):
        return torch.compile(BNReLU(bn), dynamic=False)

    model.bn1, model.relu = fused(model.bn1), nn.Identity()  # stem: relu(bn1(conv1(x)))
    pairs = 1
    for block in model.modules():
        if isinstance(block, ResNeXtBlock):
            if block.form != "C":
                raise ValueError("compile_bn_relu rewrites form-C blocks only")
            block.bn1, block.bn2 = fused(block.bn1), fused(block.bn2)
            block.forward = types.MethodType(_block_forward_fused, block)
            pairs += 2
    return pairs


def make_variant(name: str, key: str, args: argparse.Namespace) -> tuple[FitStep, dict]:
    """The FitStep of variant ``name`` on a fresh model (same initial weights for all) and a note of what it is."""
    torch.manual_seed(0)
    model = build(key, **({"blocks_per_stage": (1, 1, 3)} if name == "blocks_1_1_3" else {}))
    batch, lr, channels_last, net, note = args.batch_size, args.lr, None, None, {}
    if name == "nchw":
        channels_last = False
    if name == "batch512":
        batch, lr = 2 * args.batch_size, 2 * args.lr
    precision = resolve_precision("auto", torch.device("cpu"), channels_last)
    if name == "sum_pool":
        model.avgpool = SumPool()
    if name == "bn_relu_compiled":
        note["pairs_fused"] = compile_bn_relu(model)
    if name == "compiled":
        net = torch.compile(model)
    if name == "max_autotune":
        net = torch.compile(model, mode="max-autotune")
    step = FitStep(model, batch_size=batch, lr=lr, precision=precision, net=net, images=args.images)
    if name == "grouped_nchw":
        note["grouped_convs_wrapped"] = grouped_convs_nchw(model)
    note.update(
        {
            "batch_size": batch,
            "lr": lr,
            "precision": precision.name,
            "channels_last": precision.channels_last,
        }
    )
    return step, note


def logits_of(step: FitStep, x: Tensor) -> Tensor:
    """The variant's logits on ``x`` in training mode (batch statistics), as its step computes them (gradients on,
    a batch of the step's shape: a compiled variant reuses its compiled graph)."""
    x = x.contiguous(
        memory_format=torch.channels_last
        if step.precision.channels_last
        else torch.contiguous_format
    )
    with step.precision.autocast_context("cpu"):
        return step.net(x).detach().float()


class CompileTimeout(Exception):
    pass


def warm_up(step: FitStep, steps: int, limit: float, probe: Tensor) -> tuple[float, Tensor]:
    """The logits on ``probe`` at the initial weights, then ``steps`` untimed steps (a compiled variant compiles in
    these); stopped after ``limit`` seconds. Returns the seconds taken and the logits."""

    def stop(signum, frame):
        raise CompileTimeout

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, limit)
    t0 = time.perf_counter()
    try:
        logits = logits_of(step, probe)
        for _ in range(steps):
            step()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return time.perf_counter() - t0, logits


def measure(step: FitStep, images: int) -> dict:
    """img/s (wall clock) and process CPU ms per image over enough steps for ``images`` images."""
    steps = max(1, images // step.batch_size)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = steps * step.batch_size
    return {"img_per_s": n / wall, "cpu_ms_per_image": 1000 * cpu / n, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", nargs="+", choices=VARIANTS, help="default: all (--smoke: the cheap ones)"
    )
    parser.add_argument("--model", default="resnext17", choices=[k for k in MODELS if k != "smoke"])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.4)
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds; each times every variant once"
    )
    parser.add_argument("--images", type=int, default=1024, help="images per variant per round")
    parser.add_argument(
        "--warmup", type=int, default=3, help="untimed steps first (a compiled variant compiles)"
    )
    parser.add_argument(
        "--compile-limit",
        type=float,
        default=240.0,
        help="seconds a variant's warm-up (its compilation) may take before it is stopped",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: see the docstring)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="toy model, batch 16, cheap variants, 2 rounds"
    )
    parser.add_argument(
        "--no-malloc-tuning", action="store_true", help="keep glibc's default malloc settings"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "speed_experiments.json")
    )
    args = parser.parse_args()
    key = args.model
    if args.smoke:
        key, args.batch_size, args.images, args.rounds, args.warmup = "smoke", 16, 32, 2, 1
    args.variants = args.variants or list(CHEAP if args.smoke else VARIANTS)
    if "baseline" not in args.variants:
        args.variants.insert(0, "baseline")
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    print(
        f"{MODELS[key][2]}; {torch.get_num_threads()} thread(s); load average {load_before[0]:.1f}"
    )

    probe = torch.randint(
        0, 256, (args.batch_size, 3, 32, 32), generator=torch.Generator().manual_seed(1)
    )
    probe = ((probe / 255.0) - 0.5) / 0.25
    steps, notes, reference = {}, {}, None
    for name in args.variants:
        step, note = make_variant(name, key, args)
        note["logits_max_abs_diff_vs_baseline"] = None
        try:
            note["warmup_seconds"], logits = warm_up(step, args.warmup, args.compile_limit, probe)
        except CompileTimeout:
            note["stopped"] = (
                f"its first {args.warmup} steps (compilation) took over {args.compile_limit:g} s"
            )
            print(f"{name:18} stopped: {note['stopped']}", flush=True)
            notes[name] = note
            continue
        if reference is None:
            reference = logits
        elif name in OTHER_MODEL:
            note["model"] = "another model (blocks 1/1/3): logits not compared"
        else:
            note["logits_max_abs_diff_vs_baseline"] = (logits - reference).abs().max().item()
        note["logits_scale"] = reference.abs().max().item()
        one = measure(step, step.batch_size)  # one more step, for the compile-time estimate
        note["one_step_seconds_after_warmup"] = step.batch_size / one["img_per_s"]
        # the warm-up less its steps (and the probe's forward, about a third of a step): mostly compilation
        note["compile_seconds_estimate"] = (
            note["warmup_seconds"] - (args.warmup + 1 / 3) * note["one_step_seconds_after_warmup"]
        )
        steps[name], notes[name] = step, note
        diff = note["logits_max_abs_diff_vs_baseline"]
        print(
            f"{name:18} warm-up {note['warmup_seconds']:6.1f} s (the probe + {args.warmup} steps), then "
            f"{note['one_step_seconds_after_warmup']:.2f} s/step; logits vs baseline: "
            + (
                f"max diff {diff or 0:.3g} (scale {note['logits_scale']:.3g})"
                if name not in OTHER_MODEL
                else "not compared (another model)"
            ),
            flush=True,
        )

    names = list(steps)
    samples = {name: [] for name in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotate who goes first
        for name in order:
            samples[name].append(measure(steps[name], args.images))
        print(
            f"round {r + 1}: "
            + ", ".join(f"{n} {samples[n][-1]['img_per_s']:.0f}" for n in names)
            + " img/s",
            flush=True,
        )
    load_after = os.getloadavg()

    summary = {}
    for name in names:
        ratios = [
            s["img_per_s"] / b["img_per_s"] for s, b in zip(samples[name], samples["baseline"])
        ]
        cpu_ratios = [
            b["cpu_ms_per_image"] / s["cpu_ms_per_image"]
            for s, b in zip(samples[name], samples["baseline"])
        ]
        summary[name] = {
            "img_per_s": statistics.median(s["img_per_s"] for s in samples[name]),
            "cpu_ms_per_image": statistics.median(s["cpu_ms_per_image"] for s in samples[name]),
            "ratio_vs_baseline": statistics.median(ratios),
            "ratios_each_round": ratios,
            "cpu_ratio_vs_baseline": statistics.median(cpu_ratios),
            "cpu_ratios_each_round": cpu_ratios,
            "img_per_s_each_round": [s["img_per_s"] for s in samples[name]],
        }
    print(
        f"\n{'variant':18} {'img/s':>7} {'ratio':>6} {'CPU ms/img':>10} {'ratio':>6}  per-round img/s ratios "
        f"(medians of {args.rounds} rounds; CPU ratio: baseline's CPU time / the variant's)"
    )
    for name, s in summary.items():
        print(
            f"{name:18} {s['img_per_s']:7.1f} {s['ratio_vs_baseline']:6.3f} {s['cpu_ms_per_image']:10.2f} "
            f"{s['cpu_ratio_vs_baseline']:6.3f}  "
            + " ".join(f"{x:.2f}" for x in s["ratios_each_round"])
        )
    for name, note in notes.items():
        if "stopped" in note:
            print(f"{name:18} not measured: {note['stopped']}")
    result = {
        "benchmark": "variants of benchmark 3's training step, alternating rounds",
        "model": MODELS[key][0],
        "about": MODELS[key][2],
        "data": "random uint8 images of CIFAR-10's shape through the package's train_batches",
        "unit": "img/s: wall clock over the timed steps; ratio: variant / baseline in the same round; cpu ratio: "
        "baseline's process CPU ms per image / the variant's, same round (other programs do not "
        "inflate CPU time as they do wall time)",
        "rounds": args.rounds,
        "images_per_measurement": args.images,
        "warmup_steps": args.warmup,
        "compile_limit_seconds": args.compile_limit,
        "variants": notes,
        "summary": summary,
        "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES"),
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

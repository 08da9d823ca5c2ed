"""GPU check: the course's CUDA path in one run, for a machine with an NVIDIA GPU. Budget: 8 minutes.

What it runs, in this order, each part skipped (and recorded as skipped) when the budget would not allow it:

1. the precision each setting resolves to on this GPU ("auto" first: bf16 with compute capability >= 8.0, else fp16
   with a gradient scaler), with the reason the package gives;
2. a short training run per precision (fp32, bf16, fp16), all with channels_last: img/s of the second epoch (the
   first includes cuDNN's algorithm search), final training loss, test accuracy, and whether the loss stayed finite;
3. the "auto" run again with ``compile=True``: first-epoch seconds (compilation included) and second-epoch img/s;
4. the tutorial pipeline (PIL transforms + DataLoader with 2 workers, fp32 NCHW) against ``fit`` on the GPU, the same
   model and batch as benchmarks/pipeline_throughput.py: img/s ratio (median of the rounds after a warm-up);
5. ``torchrun`` with NCCL: one process per GPU, one epoch of ``python -m resnext_edu train``; records the backend,
   the number of ranks and the loss from the written history. With one GPU that process trains without a process
   group, so a one-rank NCCL group then all-reduces a tensor on the GPU as well;
6. lessons 05, 06 (and 07 when it exists) executed top to bottom in quick mode (RESNEXT_EDU_QUICK=1) on this GPU.

    .venv/bin/python benchmarks/gpu_check.py          # writes benchmarks/results/gpu_check_<gpu name>.json

Data: real CIFAR-10 when the package finds it (data/ cache, RESNEXT_EDU_DATA, download), else the synthetic set,
and the file says which. Without CUDA it refuses with one line. ``--cpu-smoke`` runs every part except the lessons
at toy sizes on the CPU (gloo instead of NCCL, no fp16, no compile): the project's test of this script on machines
without a GPU; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before torch loads OpenMP: see benchmarks/README.md
import torch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from pipeline_throughput import tutorial_loader  # noqa: E402  (this folder: the tutorial's pipeline, shared)
from resnext_edu import data as D  # noqa: E402
from resnext_edu.device import PRECISIONS, resolve_precision  # noqa: E402  (the one device and precision decision)
from resnext_edu.files import write_json  # noqa: E402
from resnext_edu.models import create  # noqa: E402
from resnext_edu.provenance import describe  # noqa: E402
from resnext_edu.train import TrainConfig, TrainingDiverged, fit  # noqa: E402

BUDGET_SECONDS = 8 * 60


class Budget:
    """Wall-clock seconds left of the run's budget; a part starts only when its estimate fits."""

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def allows(self, part: str, estimate: float) -> bool:
        if self.left() >= estimate:
            return True
        print(
            f"skipped {part}: needs about {estimate:.0f} s, {self.left():.0f} s of the budget left",
            flush=True,
        )
        return False


def precision_picks(device: torch.device) -> dict:
    picks = {}
    for name in PRECISIONS:
        try:
            p = resolve_precision(name, device)
            picks[name] = {
                "name": p.name,
                "autocast": str(p.autocast),
                "grad_scaler": p.grad_scaler,
                "channels_last": p.channels_last,
                "reason": p.reason,
            }
        except ValueError as error:
            picks[name] = {"refused": str(error)}
        print(f"precision {name!r:>7} -> {picks[name]}", flush=True)
    return picks


def train_once(data, args, device, precision: str, compile_model: bool = False) -> dict:
    """Two epochs of ``fit`` with channels_last; the second epoch's img/s (the first includes warm-up)."""
    torch.manual_seed(0)
    model = create(
        args.model, stage_widths=tuple(args.stage_widths), stem_width=args.stage_widths[0]
    )
    config = TrainConfig(
        epochs=2,
        batch_size=args.batch_size,
        lr=0.05,
        precision=precision,
        channels_last=True,
        compile=compile_model,
        device=str(device),
        eval_batch_size=500,
    )
    start = time.perf_counter()
    try:
        history = fit(model, data, config, progress=False)
    except TrainingDiverged as error:
        return {
            "precision": precision,
            "compile": compile_model,
            "finite": False,
            "error": str(error),
        }
    first, last = history["epochs"]
    record = {
        "precision": precision,
        "resolved": history["precision"],
        "compile": compile_model,
        "img_per_s": last["img_per_s"],
        "first_epoch_seconds": first["seconds"],
        "final_train_loss": last["train_loss"],
        "test_acc": last["test_acc"],
        "finite": math.isfinite(last["train_loss"]),
        "seconds": time.perf_counter() - start,
    }
    print(
        f"train {precision:>5}{' compiled' if compile_model else ''}: {record['img_per_s']:,.0f} img/s, loss "
        f"{record['final_train_loss']:.3f}, test acc {record['test_acc']:.1%}, first epoch "
        f"{record['first_epoch_seconds']:.1f} s",
        flush=True,
    )
    return record


def tutorial_epoch(model, optimizer, loader, device) -> float:
    """One epoch as the PyTorch CIFAR tutorial trains, on ``device``; returns images per second."""
    model.train()
    start, n = time.perf_counter(), 0
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return n / (time.perf_counter() - start)


def pipeline_ratio(data, args, device) -> dict:
    widths = (16, 32, 64)  # benchmarks/pipeline_throughput.py's model and batch
    loader = tutorial_loader(data, 128, workers=2, pin_memory=device.type == "cuda")
    torch.manual_seed(0)
    tutorial = create("resnext29_4x16d", stage_widths=widths, stem_width=16).to(device)
    optimizer = torch.optim.SGD(tutorial.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    ours = create("resnext29_4x16d", stage_widths=widths, stem_width=16)
    config = TrainConfig(epochs=1, batch_size=128, lr=0.05, device=str(device))
    rates = {"tutorial": [], "resnext_edu": []}
    for r in range(args.rounds + 1):  # round 0 is a warm-up
        t = tutorial_epoch(tutorial, optimizer, loader, device)
        o = fit(ours, data, config, progress=False)["epochs"][0]["img_per_s"]
        print(
            f"pipeline round {r}{' (warm-up)' if r == 0 else ''}: tutorial {t:,.0f} img/s, resnext_edu "
            f"{o:,.0f} img/s",
            flush=True,
        )
        if r:
            rates["tutorial"].append(t)
            rates["resnext_edu"].append(o)
    median = {k: statistics.median(v) for k, v in rates.items()}
    return {
        "img_per_s": rates,
        "median": median,
        "ratio": median["resnext_edu"] / median["tutorial"],
        "images_per_round": len(data.train_labels),
        "model": "resnext29_4x16d",
        "stage_widths": widths,
        "tutorial_pipeline": "CIFAR10-style dataset + PIL transforms + DataLoader(2 workers), fp32 NCHW",
    }


def torchrun(args, device, synthetic: bool, budget: Budget) -> dict:
    processes = (
        max(1, torch.cuda.device_count()) if device.type == "cuda" else 2
    )  # CPU smoke: 2 gloo ranks
    out = Path(tempfile.mkdtemp(prefix="gpu-check-torchrun-"))
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        "resnext_edu",
        "train",
        "--model",
        "resnext29_4x16d",
        "--stage-widths",
        "16",
        "32",
        "64",
        "--stem-width",
        "16",
        "--epochs",
        "1",
        "--subset",
        str(args.subset),
        "--test-subset",
        "500",
        "--batch-size",
        str(64 * processes),
        "--device",
        device.type,
        "--out",
        str(out / "run"),
        "--no-progress",
        "--dist-timeout",
        "120",
    ] + (["--dataset", "synthetic"] if synthetic else [])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=out, env=env, capture_output=True, text=True, timeout=max(30, budget.left())
    )
    record = {
        "command": " ".join(command[1:]),
        "processes": processes,
        "exit_code": done.returncode,
        "seconds": time.perf_counter() - start,
        "output_tail": (done.stdout + done.stderr)[-2000:],
    }
    history_file = out / "run" / "history.json"
    if done.returncode == 0 and history_file.exists():
        history = json.loads(history_file.read_text())
        dist = history.get("distributed", {})
        last = history["epochs"][-1]
        record.update(
            backend=dist.get("backend", "none (one process)"),
            world_size=dist.get("world_size", 1),
            train_loss=last["train_loss"],
            finite=math.isfinite(last["train_loss"]),
        )
    print(
        f"torchrun x{processes}: exit {done.returncode}, backend {record.get('backend')}",
        flush=True,
    )
    return record


def nccl_one_rank(device: torch.device) -> dict:
    """On a one-GPU machine torchrun starts one process, which trains without a process group; this forms a
    one-rank NCCL group and all-reduces a tensor, so NCCL itself has run on this GPU."""
    import socket

    import torch.distributed as torch_dist

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch_dist.init_process_group(
        "nccl", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1, device_id=device
    )
    try:
        x = torch.ones(1024, device=device)
        torch_dist.all_reduce(x)
        torch.cuda.synchronize(device)
        ok = bool((x == 1).all())
    finally:
        torch_dist.destroy_process_group()
    print(
        f"NCCL, one rank: all_reduce {'ok' if ok else 'WRONG'} (NCCL {torch.cuda.nccl.version()})",
        flush=True,
    )
    return {"all_reduce_ok": ok, "nccl_version": list(torch.cuda.nccl.version())}


def lessons(device: torch.device, budget: Budget) -> list[dict]:
    import nbclient
    import nbformat

    records = []
    os.environ["RESNEXT_EDU_QUICK"] = "1"
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    for path in sorted((REPO / "notebooks").glob("0[5-7]_*.ipynb")):
        if not budget.allows(path.stem, 60):
            records.append({"lesson": path.stem, "skipped": "budget"})
            continue
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        client = nbclient.NotebookClient(
            nb,
            timeout=max(60, int(budget.left())),
            kernel_name="python3",
            resources={"metadata": {"path": tempfile.mkdtemp(prefix="gpu-check-")}},
        )
        error = None
        try:
            client.execute()
        except Exception as caught:  # a cell's error, or a time-out: recorded, then the next lesson
            error = f"{type(caught).__name__}: {str(caught)[-500:]}"
        text = "".join(
            o.get("text", "")
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
        )
        device_lines = [line for line in text.splitlines() if line.startswith("device:")]
        records.append(
            {
                "lesson": path.stem,
                "seconds": time.perf_counter() - start,
                "error": error,
                "device_lines": device_lines,
            }
        )
        print(
            f"lesson {path.stem}: {'ok' if error is None else error[:200]} in {records[-1]['seconds']:.0f} s; "
            f"{device_lines[:1]}",
            flush=True,
        )
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="resnext29_8x64d", help="the model of the precision runs (lesson 06's)"
    )
    parser.add_argument(
        "--stage-widths", type=int, nargs=3, default=(64, 128, 256), help="the paper's by default"
    )
    parser.add_argument("--batch-size", type=int, default=128, help="the paper's")
    parser.add_argument("--subset", type=int, default=10_000, help="training images per epoch")
    parser.add_argument("--rounds", type=int, default=2, help="pipeline rounds after the warm-up")
    parser.add_argument(
        "--out", default=None, help="default: benchmarks/results/gpu_check_<gpu name>.json"
    )
    parser.add_argument(
        "--cpu-smoke", action="store_true", help="toy sizes on the CPU: tests this script only"
    )
    args = parser.parse_args()
    if not args.cpu_smoke and not torch.cuda.is_available():
        print(
            f"gpu_check.py needs a CUDA GPU, and PyTorch {torch.__version__} sees none here (CUDA build: "
            f"{torch.version.cuda or 'no'}); run it on a machine with an NVIDIA GPU.",
            file=sys.stderr,
        )
        return 2
    budget = Budget(BUDGET_SECONDS)
    started = time.perf_counter()
    device = torch.device("cpu") if args.cpu_smoke else torch.device("cuda")
    if args.cpu_smoke:
        args.model, args.stage_widths, args.batch_size, args.subset, args.rounds = (
            "resnext29_2x64d",
            (8, 16, 32),
            50,
            200,
            1,
        )
    try:
        data = D.load_cifar10(subset=args.subset, test_subset=1000)
    except D.DataNotFoundError:
        print(
            "real CIFAR-10 not found: the SYNTHETIC set instead (same shapes; accuracies mean nothing)",
            flush=True,
        )
        data = D.load_cifar10(dataset="synthetic", subset=min(args.subset, 2000), test_subset=500)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu-smoke"
    result = {
        "benchmark": "GPU check",
        "gpu": name,
        "gpus": torch.cuda.device_count(),
        "compute_capability": list(torch.cuda.get_device_capability(device))
        if device.type == "cuda"
        else None,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "data": data.source,
        "synthetic": data.synthetic,
        "model": args.model,
        "stage_widths": list(args.stage_widths),
        "batch_size": args.batch_size,
        "train_images": len(data.train_labels),
        "provenance": describe(device),
        "command": "python benchmarks/gpu_check.py " + " ".join(sys.argv[1:]),
        "budget_seconds": BUDGET_SECONDS,
    }
    result["precision_picks"] = precision_picks(device)
    precisions = ["fp32", "bf16"] + (["fp16"] if device.type == "cuda" else [])
    result["training"] = [
        train_once(data, args, device, p) for p in precisions if budget.allows(f"train {p}", 45)
    ]
    if device.type == "cuda" and budget.allows("compile", 120):
        result["compiled"] = train_once(data, args, device, "auto", compile_model=True)
    if budget.allows("pipeline", 60):
        result["pipeline"] = pipeline_ratio(data, args, device)
    if budget.allows("torchrun", 60):
        result["torchrun"] = torchrun(args, device, data.synthetic, budget)
    if device.type == "cuda" and torch.cuda.device_count() == 1:
        result["nccl_one_rank"] = nccl_one_rank(device)
    if device.type == "cuda":
        result["lessons"] = lessons(device, budget)
    result["seconds"] = time.perf_counter() - started
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    out = (
        Path(args.out) if args.out else Path(__file__).parent / "results" / f"gpu_check_{slug}.json"
    )
    write_json(out, result)
    print(f"done in {result['seconds']:.0f} s; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

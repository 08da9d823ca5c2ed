"""Benchmark 1: training throughput of this package's pipeline against the tutorial pipeline a learner would write.

Both train the same model with the same batch size and SGD settings:

* "tutorial": a CIFAR10-style dataset (uint8 HWC arrays in memory; ``__getitem__`` makes a PIL image, exactly as
  ``torchvision.datasets.CIFAR10`` does), PIL transforms (RandomCrop(32, padding=4), RandomHorizontalFlip, ToTensor,
  Normalize), a ``DataLoader`` (shuffle, ``--workers`` worker processes; 2 as in PyTorch's CIFAR tutorial), fp32 NCHW.
* "resnext_edu": :func:`resnext_edu.train.fit` (data on the device as uint8, crop/flip/normalise on whole batches,
  precision "auto": bf16 autocast + channels_last on a CPU with native bf16).

Each round trains one epoch of ``--images`` images with each pipeline, alternately, so both see the same machine
load; the first round is a warm-up and is not counted. img/s = images / seconds of the training steps (data loading
and augmentation included, evaluation excluded). Also recorded: CPU seconds per image (the process, plus for the
tutorial its DataLoader workers, which end with each epoch as in the tutorial; for resnext_edu the whole ``fit`` call,
so its parameter count and a 100-image evaluation are charged too). On a shared machine the CPU cost is the steadier
comparison: other programs do not inflate it. Reported: medians over rounds and their ratios.

    .venv/bin/python benchmarks/pipeline_throughput.py [--model resnext29_4x16d --stage-widths 16 32 64]

Writes benchmarks/results/pipeline_throughput.json.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before torch loads OpenMP: see benchmarks/README.md
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from record import write_result  # noqa: E402 (benchmarks/record.py)
from resnext_edu import data as D  # noqa: E402
from resnext_edu.models import create  # noqa: E402
from resnext_edu.train import TrainConfig, fit  # noqa: E402


class CIFAR10Style(torch.utils.data.Dataset):
    """What ``torchvision.datasets.CIFAR10`` does per item: uint8 HWC array -> PIL image -> transforms."""

    def __init__(self, images_hwc, labels, transform):
        self.images, self.labels, self.transform = images_hwc, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), int(self.labels[i])


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (DataLoader workers)."""
    me, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def tutorial_loader(data, batch_size: int, workers: int, pin_memory: bool = False):
    """The PyTorch CIFAR tutorial's input pipeline over ``data``'s training images: a DataLoader of
    PIL-style images, random crop with 4 pixels of padding, flip, ToTensor, Normalize."""
    from torchvision import transforms  # only the tutorial's pipeline needs it

    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(D.MEAN, D.STD),
        ]
    )
    images_hwc = data.train_images.permute(0, 2, 3, 1).contiguous().numpy()
    return torch.utils.data.DataLoader(
        CIFAR10Style(images_hwc, data.train_labels.numpy(), transform),
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=pin_memory,
    )


def tutorial_epoch(model, optimizer, loader) -> tuple[float, float]:
    """One epoch the way the PyTorch CIFAR tutorial trains; returns (images per second, CPU seconds per image)."""
    model.train()
    start, cpu, n = time.perf_counter(), cpu_seconds(), 0
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        n += len(y)
    seconds = time.perf_counter() - start
    return n / seconds, (cpu_seconds() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnext29_4x16d")
    parser.add_argument("--stage-widths", type=int, nargs=3, default=(16, 32, 64))
    parser.add_argument("--stem-width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--images", type=int, default=2560, help="training images per round and pipeline"
    )
    parser.add_argument("--rounds", type=int, default=4, help="rounds after the warm-up round")
    parser.add_argument(
        "--workers", type=int, default=2, help="DataLoader workers of the tutorial pipeline"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "pipeline_throughput.json")
    )
    args = parser.parse_args()
    try:
        data = D.load_cifar10(subset=args.images, test_subset=100)
    except D.DataNotFoundError:
        print(
            "real CIFAR-10 not found: measuring on the SYNTHETIC set (same shapes, same work per image)"
        )
        data = D.load_cifar10(dataset="synthetic", subset=min(args.images, 2000), test_subset=100)
    loader = tutorial_loader(data, args.batch_size, args.workers)
    overrides = dict(stage_widths=tuple(args.stage_widths), stem_width=args.stem_width)
    torch.manual_seed(0)
    tutorial_model = create(args.model, **overrides)
    tutorial_opt = torch.optim.SGD(
        tutorial_model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4
    )
    ours_model = create(args.model, **overrides)
    config = TrainConfig(epochs=1, batch_size=args.batch_size, lr=0.05, device="cpu")

    rates = {"tutorial": [], "resnext_edu": []}
    cpu_cost = {"tutorial": [], "resnext_edu": []}
    precision = None
    load_before = os.getloadavg()
    for r in range(args.rounds + 1):
        tutorial, tutorial_cpu = tutorial_epoch(tutorial_model, tutorial_opt, loader)
        cpu = cpu_seconds()
        history = fit(ours_model, data, config, progress=False)
        ours_cpu = (cpu_seconds() - cpu) / len(data.train_labels)
        ours, precision = history["epochs"][0]["img_per_s"], history["precision"]
        label = "warm-up" if r == 0 else f"round {r}"
        print(
            f"{label:>8}: tutorial {tutorial:6.0f} img/s {tutorial_cpu * 1e3:6.1f} CPU ms/img | resnext_edu "
            f"{ours:6.0f} img/s {ours_cpu * 1e3:6.1f} CPU ms/img | ratios {ours / tutorial:5.2f} (speed) "
            f"{tutorial_cpu / ours_cpu:5.2f} (CPU cost)",
            flush=True,
        )
        if r > 0:
            rates["tutorial"].append(tutorial)
            rates["resnext_edu"].append(ours)
            cpu_cost["tutorial"].append(tutorial_cpu)
            cpu_cost["resnext_edu"].append(ours_cpu)
    med = {k: statistics.median(v) for k, v in rates.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu_cost.items()}
    ratio, cpu_ratio = (
        med["resnext_edu"] / med["tutorial"],
        med_cpu["tutorial"] / med_cpu["resnext_edu"],
    )
    print(
        f"\nmedian over {args.rounds} rounds: tutorial {med['tutorial']:.0f} img/s, resnext_edu "
        f"{med['resnext_edu']:.0f} img/s: {ratio:.2f}x faster (target >= 4x); CPU seconds per image "
        f"{cpu_ratio:.2f}x lower"
    )
    result = {
        "benchmark": "training throughput, this pipeline vs the tutorial pipeline",
        "unit": "images per second",
        "model": args.model,
        "overrides": overrides,
        "batch_size": args.batch_size,
        "images_per_round": len(data.train_labels),
        "rounds": args.rounds,
        "data": data.source,
        "tutorial": {
            "img_per_s": rates["tutorial"],
            "median": med["tutorial"],
            "cpu_seconds_per_image": cpu_cost["tutorial"],
            "median_cpu_seconds_per_image": med_cpu["tutorial"],
            "pipeline": f"CIFAR10-style dataset + PIL transforms + DataLoader({args.workers} workers), "
            f"fp32 NCHW",
        },
        "resnext_edu": {
            "img_per_s": rates["resnext_edu"],
            "median": med["resnext_edu"],
            "cpu_seconds_per_image": cpu_cost["resnext_edu"],
            "median_cpu_seconds_per_image": med_cpu["resnext_edu"],
            "pipeline": "resnext_edu.train.fit, device-resident uint8 data",
            "precision": precision,
        },
        "ratio": ratio,
        "target_ratio": 4.0,
        "cpu_cost_ratio": cpu_ratio,
        "load_average_before_after": [load_before, os.getloadavg()],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "torch_threads": torch.get_num_threads(),
        "note": "other programs may have been running on this machine (see load averages)",
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

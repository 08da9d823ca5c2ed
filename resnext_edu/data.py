"""CIFAR-10 held on the training device as uint8: found, decoded once, cached, subset (lessons 01, 05, 06).

A learner's first pipeline decodes every image with PIL on every epoch, in DataLoader worker processes. Here the
whole data set (50,000 x 3 x 32 x 32 bytes = 154 MB) is decoded once, cached as a tensor and kept on the device;
the batches are cut, augmented and normalised there (:mod:`resnext_edu.augment`), so 2 CPU cores (Colab) are left
to the model. The per-channel mean and standard deviation (:data:`MEAN`, :data:`STD`) are CIFAR-10's published ones.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .cache import CorruptDataError, read_cache, write_cache
from .checks import check_int
from .files import portable, remove_stale_temps

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Per-channel mean and standard deviation of the 50,000 official training images, pixel values in [0, 1].
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
CACHE_NAME = "cifar10-uint8.pt"
ENV_VAR = "RESNEXT_EDU_DATA"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class CIFAR10Data:
    """A CIFAR-shaped data set as uint8 tensors, all on one device."""

    train_images: Tensor  # (N, 3, 32, 32) uint8, values 0..255
    train_labels: Tensor  # (N,) int64, class indices into ``classes``
    test_images: Tensor  # (M, 3, 32, 32) uint8
    test_labels: Tensor  # (M,) int64
    classes: list[str]  # class names in label order
    source: str  # where the pixels came from, in words (shown in every history and plot)
    synthetic: bool = False  # True only for the made-up data set of ``dataset="synthetic"``

    def to(self, device) -> "CIFAR10Data":
        """The same data on ``device`` (a copy only where the device differs)."""
        return replace(
            self,
            **{
                k: getattr(self, k).to(device)
                for k in ("train_images", "train_labels", "test_images", "test_labels")
            },
        )

    @property
    def device(self) -> torch.device:
        return self.train_images.device

    def __repr__(self) -> str:
        return (
            f"CIFAR10Data({len(self.train_labels):,} train / {len(self.test_labels):,} test images, "
            f"{len(self.classes)} classes, on {self.device}; source: {self.source})"
        )


class DataNotFoundError(FileNotFoundError):
    """No source of CIFAR-10 worked; the message lists every place that was tried and how to fix each."""


# ---------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """The repository's ``data/`` folder when the package runs from a checkout, else ``./data``."""
    repo_data = Path(__file__).resolve().parent.parent / "data"
    return repo_data if repo_data.is_dir() else Path.cwd() / "data"


def load_cifar10(
    data_dir: str | os.PathLike | None = None,
    *,
    dataset: str = "cifar10",
    subset: int | None = None,
    test_subset: int | None = None,
    device: str | torch.device | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> CIFAR10Data:
    """CIFAR-10's official 50,000 / 10,000 split as uint8 tensors, or the synthetic stand-in when asked by name.

    Sources, tried in this order (the first that works wins):

    1. the tensor cache ``cache_dir/cifar10-uint8.pt``, written the first time any other source worked (checked
       field by field when read; with an explicit ``data_dir``, used only if it was read from that folder);
    2. an image folder laid out as ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (``data_dir``, else the
       ``RESNEXT_EDU_DATA`` environment variable);
    3. torchvision's download into ``cache_dir`` (checksum-verified by torchvision), when ``download`` is True.

    Args:
        data_dir: an image folder (source 2); overrides ``RESNEXT_EDU_DATA``.
        dataset: "cifar10", or "synthetic" for :func:`synthetic_cifar10` (never substituted silently).
        subset: keep only the first ``subset`` training images, class-balanced (``subset // 10`` per class).
        test_subset: likewise for the test images (quicker evaluation in lessons).
        device: where the tensors live ("cpu", "cuda", ...); default: the CPU.
        cache_dir: folder of the tensor cache and of downloads; default: the repository's ``data/``.
        download: allow source 3.
    """
    if dataset == "synthetic":
        data = synthetic_cifar10()
    elif dataset == "cifar10":
        data = _load_real(
            data_dir, Path(cache_dir) if cache_dir is not None else default_cache_dir(), download
        )
    else:
        raise ValueError(f"dataset must be 'cifar10' or 'synthetic', got {dataset!r}.")
    if subset is not None:
        keep = balanced_subset(data.train_labels, subset, len(data.classes))
        data = replace(
            data,
            train_images=data.train_images[keep],
            train_labels=data.train_labels[keep],
            source=f"{data.source}; first {subset:,} training images, class-balanced",
        )
    if test_subset is not None:
        keep = balanced_subset(data.test_labels, test_subset, len(data.classes))
        data = replace(
            data,
            test_images=data.test_images[keep],
            test_labels=data.test_labels[keep],
            source=f"{data.source}; first {test_subset:,} test images, class-balanced",
        )
    return data.to(device) if device is not None else data


def balanced_subset(labels: Tensor, n: int, num_classes: int) -> Tensor:
    """Indices of the first ``n`` samples taken class by class: ``n // num_classes`` of each class, one more for
    the first ``n % num_classes`` classes. Returned in data-set order."""
    n = check_int(
        "A subset", n, low=1, high=len(labels), hint="The upper bound is the data set's size."
    )
    picked = []
    for c in range(num_classes):
        take = n // num_classes + (1 if c < n % num_classes else 0)
        of_class = (labels == c).nonzero().flatten()
        if len(of_class) < take:
            raise ValueError(
                f"A class-balanced subset of {n:,} needs {take:,} images of class {c}, "
                f"but the data set has only {len(of_class):,}. Use a smaller subset."
            )
        picked.append(of_class[:take])
    return torch.cat(picked).sort().values


def _load_real(data_dir, cache_dir: Path, download: bool) -> CIFAR10Data:
    cache = cache_dir / CACHE_NAME
    remove_stale_temps(cache, older_than=600)  # a younger temp file may be another process's write
    tried = []
    corrupt = None
    explicit = (
        _image_folder(data_dir, "data_dir (--data-dir)", must_exist=True)
        if data_dir is not None
        else None
    )
    if cache.exists():
        try:
            fields, folder = read_cache(cache)
            data = CIFAR10Data(**fields)
            if explicit is None or folder == str(explicit.resolve()):
                return data
            tried.append(f"1. tensor cache {cache}: holds {data.source}, not the folder you gave")
        except CorruptDataError as error:
            corrupt = error
            warnings.warn(
                f"{error} Trying the next source; if one works, the bad file is kept as "
                f"{cache.name}.corrupt and a new cache is written.",
                stacklevel=3,
            )
            tried.append(f"1. tensor cache {cache}: {error}")
    else:
        tried.append(
            f"1. tensor cache {cache}: not there yet (it is written after the first successful load)"
        )

    folder = (
        explicit
        if explicit is not None
        else _image_folder(
            os.environ.get(ENV_VAR) or None, f"{ENV_VAR} environment variable", tried=tried
        )
    )
    data = (
        read_image_folder(folder) if folder is not None else None
    )  # a broken folder raises: pointed at on purpose
    if folder is None and not os.environ.get(ENV_VAR):
        tried.append(f"2. image folder: none given (pass data_dir / --data-dir, or set {ENV_VAR})")
    if data is None and download:
        try:
            data = _download(cache_dir)
        except Exception as error:  # no internet, disk full, ...: all end in the one message below
            tried.append(
                f"3. torchvision download into {cache_dir}: failed ({type(error).__name__}: {error})"
            )
    elif data is None:
        tried.append("3. torchvision download: switched off (download=False)")
    if data is None:
        raise DataNotFoundError(
            "Could not find CIFAR-10. Tried, in order:\n  "
            + "\n  ".join(tried)
            + "\nTo fix: pass data_dir (--data-dir) or set RESNEXT_EDU_DATA to a folder with train/<class>/ and "
            "test/<class>/ image folders, or connect to the internet so torchvision can download it. "
            "For a quick check of the code only, use dataset='synthetic' (--dataset synthetic)."
        )
    if corrupt is not None:
        os.replace(cache, cache.with_name(cache.name + ".corrupt"))
    write_cache(cache, data, str(folder.resolve()) if folder is not None else None)
    return data


def _image_folder(
    folder, how: str, must_exist: bool = False, tried: list | None = None
) -> Path | None:
    """``folder`` as a Path if it is a folder; else raise (an explicit ``data_dir``) or note why in ``tried``."""
    if folder is None:
        return None
    folder = Path(folder).expanduser()
    if folder.is_dir():
        return folder
    problem = "is a file, not a folder" if folder.exists() else "does not exist (no such folder)"
    if must_exist:
        raise DataNotFoundError(
            f"The image folder {folder} given as {how} {problem}. Give the folder that holds "
            f"train/<class>/ and test/<class>/, or leave it out to use the cache or a download."
        )
    tried.append(f"2. image folder {folder} (from the {how}): {problem}")
    return None


def read_image_folder(root: str | os.PathLike) -> CIFAR10Data:
    """Decode ``root/train/<class>/*`` and ``root/test/<class>/*`` (32x32 RGB images) into uint8 tensors.

    Labels follow CIFAR-10's order (:data:`CLASSES`), which is also the alphabetical order ``ImageFolder`` uses.
    Files are read in sorted name order. About 10 s for 60,000 JPEGs on one core; done once, then cached.
    """
    # PIL only when decoding an image folder (once; then the tensor cache is read)
    from PIL import Image

    root = Path(root)
    splits = {}
    for split in ("train", "test"):
        folder = root / split
        if not folder.is_dir():
            raise CorruptDataError(
                f"{root} has no {split}/ folder. Expected the layout train/<class>/*.jpg and "
                f"test/<class>/*.jpg, with classes {', '.join(CLASSES)}."
            )
        missing = [c for c in CLASSES if not (folder / c).is_dir()]
        if missing:
            found = sorted(p.name for p in folder.iterdir() if p.is_dir())
            raise CorruptDataError(
                f"{folder} lacks the class folder(s) {', '.join(missing)} (found: "
                f"{', '.join(found) or 'none'}). All ten CIFAR-10 classes are needed: "
                f"{', '.join(CLASSES)}. Re-extract the data set."
            )
        images, labels = [], []
        for label, name in enumerate(CLASSES):
            files = sorted(
                p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise CorruptDataError(
                    f"{folder / name} holds no images ({', '.join(IMAGE_SUFFIXES)})."
                )
            for file in files:
                try:
                    with Image.open(file) as image:
                        array = np.asarray(image.convert("RGB"))
                except Exception as error:
                    raise CorruptDataError(
                        f"Cannot decode {file} ({error}). Re-extract the data set."
                    ) from error
                if array.shape != (32, 32, 3):
                    raise CorruptDataError(
                        f"{file} is {array.shape[1]}x{array.shape[0]}, not a 32x32 CIFAR image."
                    )
                images.append(array)
            labels += [label] * len(files)
        splits[split] = (
            torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(),
            torch.tensor(labels, dtype=torch.int64),
        )
    jpeg = any(
        p.suffix.lower() in (".jpg", ".jpeg") for p in (root / "test" / CLASSES[0]).iterdir()
    )
    note = (
        (
            " - JPEG files: a lossy re-encoding of CIFAR-10, pixels differ slightly from the official data and test "
            "accuracy is typically a little lower (up to about a point)"
        )
        if jpeg
        else ""
    )
    return CIFAR10Data(
        *splits["train"],
        *splits["test"],
        classes=list(CLASSES),
        source=f"CIFAR-10 image folder {portable(root)}{note}",
    )


def _download(cache_dir: Path) -> CIFAR10Data:
    from torchvision.datasets import CIFAR10  # heavy (about 1 s): only for the one-time download

    parts = []
    for train in (True, False):
        ds = CIFAR10(root=str(cache_dir), train=train, download=True)
        parts += [
            torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(),
            torch.tensor(ds.targets),
        ]
    return CIFAR10Data(
        *parts,
        classes=list(CLASSES),
        source=f"CIFAR-10 official batches (torchvision download into {portable(cache_dir)})",
    )


def synthetic_cifar10(n_train: int = 2000, n_test: int = 500, seed: int = 0) -> CIFAR10Data:
    """A small, learnable, CIFAR-shaped stand-in (NOT CIFAR-10), for tests and for checking code quickly.

    Each of 10 classes is a fixed random smooth colour pattern (a 3x4x4 grid upsampled to 32x32); an image is its
    class pattern at a random brightness, plus a random shift of up to 4 pixels and pixel noise. Deterministic.
    """
    g = torch.Generator().manual_seed(seed)
    patterns = torch.nn.functional.interpolate(
        torch.randn(10, 3, 4, 4, generator=g), size=(40, 40), mode="bilinear", align_corners=False
    )  # (10, 3, 40, 40)

    def make(n: int) -> tuple[Tensor, Tensor]:
        labels = torch.arange(n) % 10
        labels = labels[torch.randperm(n, generator=g)]
        dy, dx = torch.randint(0, 9, (2, n), generator=g)
        rows = dy[:, None] + torch.arange(32)  # (n, 32)
        cols = dx[:, None] + torch.arange(32)
        shifted = patterns[labels[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(
            0, 3, 1, 2
        )
        brightness = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=g)
        pixels = 128 + 45 * brightness * shifted + 40 * torch.randn(n, 3, 32, 32, generator=g)
        return pixels.round().clamp(0, 255).to(torch.uint8), labels

    return CIFAR10Data(
        *make(n_train),
        *make(n_test),
        classes=[f"pattern {i}" for i in range(10)],
        source=f"SYNTHETIC data (not CIFAR-10): {n_train:,} train / {n_test:,} test images of 10 "
        f"random colour patterns + noise, seed {seed}",
        synthetic=True,
    )

"""Shared test set-up: the offline CIFAR-10 copy, the synthetic data set, a tiny model and one torch thread.

At session start, when ``RESNEXT_EDU_DATA`` is unset and the JPEG copy of CIFAR-10 sits in ``../shared/data`` beside
the checkout (see its README), it is extracted once into ``data/cifar10-jpeg/`` and ``RESNEXT_EDU_DATA`` points there,
so tests and executed notebooks read real data. Without it, real-data tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_TARBALL = REPO.parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
EXTRACTED = REPO / "data" / "cifar10-jpeg"


def _extract_shared_copy() -> Path | None:
    """Extract the shared tarball into data/cifar10-jpeg (once; into a temporary folder first, then renamed)."""
    if (EXTRACTED / "train").is_dir() and (EXTRACTED / "test").is_dir():
        return EXTRACTED
    if not SHARED_TARBALL.is_file():
        return None
    EXTRACTED.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=EXTRACTED.parent, prefix=".cifar10-jpeg-"))
    try:
        with tarfile.open(SHARED_TARBALL) as tar:
            if hasattr(
                tarfile, "data_filter"
            ):  # Python >= 3.10.12: refuse links and paths outside tmp
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        if not ((tmp / "train").is_dir() and (tmp / "test").is_dir()):
            raise RuntimeError(
                f"{SHARED_TARBALL} does not hold train/ and test/ folders at its top level."
            )
        try:
            os.rename(tmp, EXTRACTED)
        except OSError:  # another process (a parallel test run) got there first
            if not (EXTRACTED / "train").is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return EXTRACTED


def pytest_sessionstart(session) -> None:
    if not os.environ.get("RESNEXT_EDU_DATA"):
        folder = _extract_shared_copy()
        if folder is not None:
            os.environ["RESNEXT_EDU_DATA"] = str(folder)


@pytest.fixture(scope="session")
def real_cifar_dir() -> Path:
    """The real CIFAR-10 image folder (train/<class>/, test/<class>/), or a skip saying where it was looked for."""
    folder = os.environ.get("RESNEXT_EDU_DATA")
    if not folder or not (Path(folder) / "train").is_dir():
        pytest.skip(
            f"real CIFAR-10 is absent: RESNEXT_EDU_DATA is {folder!r} and {SHARED_TARBALL} does not exist"
        )
    return Path(folder)


@pytest.fixture(scope="session")
def synthetic_data():
    """The small synthetic stand-in (2,000 train / 500 test, CPU). Tests must not modify it."""
    from resnext_edu.data import load_cifar10

    return load_cifar10(dataset="synthetic")


@pytest.fixture(scope="session")
def small_data():
    """256 training and 100 test images of the synthetic set: enough for a few SGD steps. Tests must not modify it."""
    from resnext_edu.data import load_cifar10

    return load_cifar10(dataset="synthetic", subset=256, test_subset=100)


TINY = dict(
    stage_widths=(8, 16, 32), stem_width=8
)  # a lesson-size ResNeXt-11: about 20 k parameters


def make_tiny_model(seed: int = 0, name: str = "resnext11_2x32d"):
    """A ResNeXt-11 at stage widths 8/16/32 (stem 8), its weights drawn from ``seed``."""
    import torch

    from resnext_edu.models import create

    torch.manual_seed(seed)
    return create(name, **TINY)


@pytest.fixture
def tiny_model():
    """:func:`make_tiny_model`, for tests that build one or several tiny models."""
    return make_tiny_model


@pytest.fixture
def one_thread():
    """One intra-op thread: tiny models gain nothing from two, and on a busy 2-core machine (tests run beside other
    work) two threads waiting on each other are several times slower. Restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def with_batchnorm_statistics(module, seed: int = 0, bias: float = 0.3):
    """``module`` in eval mode with every BatchNorm given non-trivial affine parameters and running statistics, as
    after training: a fresh BN (weight 1, bias 0, mean 0, var 1) is close to the identity and hides wrong mappings,
    folds and orderings."""
    import torch

    torch.manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.weight, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -bias, bias)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return module.eval()

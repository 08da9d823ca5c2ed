"""The data pipeline against independent references: torchvision's Normalize and ImageFolder, hand-written slices,
torch.flip, PIL-written image files, and (when present) the real CIFAR-10 copy's known counts."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from resnext_edu import data as D
from resnext_edu.augment import crop_flip, eval_batches, normalize, train_batches
from resnext_edu.data import (
    CLASSES,
    CorruptDataError,
    DataNotFoundError,
    balanced_subset,
    load_cifar10,
    read_image_folder,
)

# --- synthetic set -------------------------------------------------------------------------------------------


def test_synthetic_set_is_cifar_shaped_labelled_and_deterministic(synthetic_data):
    d = synthetic_data
    assert d.train_images.shape == (2000, 3, 32, 32) and d.test_images.shape == (500, 3, 32, 32)
    assert d.train_images.dtype == torch.uint8 and d.train_labels.dtype == torch.int64
    assert torch.bincount(d.train_labels).tolist() == [200] * 10
    assert d.synthetic and "SYNTHETIC" in d.source and "not CIFAR-10" in d.source
    assert d.train_images.float().std() > 20  # not a constant image
    again = load_cifar10(dataset="synthetic")
    assert torch.equal(again.train_images, d.train_images) and torch.equal(
        again.test_labels, d.test_labels
    )


def test_unknown_dataset_name_is_refused():
    with pytest.raises(ValueError, match="'cifar10' or 'synthetic'"):
        load_cifar10(dataset="cifar100")


def test_balanced_subset_takes_the_first_images_of_each_class():
    labels = torch.tensor([0, 1, 0, 2, 1, 0, 2, 1, 2, 0])
    # n = 5 over 3 classes: 2 of class 0, 2 of class 1, 1 of class 2, the earliest of each, in data-set order
    assert balanced_subset(labels, 5, 3).tolist() == [0, 1, 2, 3, 4]
    assert balanced_subset(labels, 3, 3).tolist() == [0, 1, 3]
    with pytest.raises(ValueError, match="from 1 to 10"):
        balanced_subset(labels, 11, 3)


def test_subset_option_is_class_balanced(synthetic_data):
    d = load_cifar10(dataset="synthetic", subset=300, test_subset=50)
    assert torch.bincount(d.train_labels).tolist() == [30] * 10
    assert torch.bincount(d.test_labels).tolist() == [5] * 10
    assert "first 300 training images" in d.source


# --- normalisation and augmentation --------------------------------------------------------------------------


def test_normalize_matches_torchvision():
    from torchvision.transforms import Normalize

    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    expected = Normalize(D.MEAN, D.STD)(images.float() / 255)
    torch.testing.assert_close(normalize(images), expected)
    cl = normalize(images, torch.bfloat16, channels_last=True)
    assert cl.dtype == torch.bfloat16 and cl.is_contiguous(memory_format=torch.channels_last)


def test_crop_equals_a_hand_computed_slice_of_the_zero_padded_image():
    images = torch.randint(1, 256, (3, 3, 32, 32), dtype=torch.uint8)
    dy, dx = torch.tensor([0, 4, 8]), torch.tensor([8, 4, 1])
    out = crop_flip(images, dy, dx, torch.zeros(3, dtype=torch.bool))
    padded = torch.zeros(3, 3, 40, 40, dtype=torch.uint8)
    padded[:, :, 4:36, 4:36] = images
    for i in range(3):
        assert torch.equal(out[i], padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32])
    assert torch.equal(out[1], images[1])  # offset (4, 4) is the original image
    assert (out[0, :, :4] == 0).all() and (out[0, :, :, -4:] == 0).all()  # the zero border came in


def test_flip_equals_torch_flip_after_the_crop():
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    dy, dx = torch.tensor([2, 4]), torch.tensor([7, 4])
    plain = crop_flip(images, dy, dx, torch.tensor([False, False]))
    flipped = crop_flip(images, dy, dx, torch.tensor([True, True]))
    assert torch.equal(flipped, torch.flip(plain, dims=[3]))
    assert torch.equal(crop_flip(images, dy, dx, torch.tensor([True, False]))[1], plain[1])


@pytest.mark.parametrize("pad", [4, 2, 0])
def test_augmentation_varies_per_sample_and_is_always_a_crop_or_flip_of_the_image(pad):
    image = torch.randint(1, 256, (1, 3, 32, 32), dtype=torch.uint8)
    same = image.expand(256, -1, -1, -1).contiguous()
    kwargs = {} if pad == 4 else {"pad": pad}  # 4, the paper's, is the default
    ((x, _),) = list(train_batches(same, torch.zeros(256, dtype=torch.long), 256, seed=3, **kwargs))
    distinct = {tuple(row.tolist()) for row in x.flatten(1)[:, ::7]}
    offsets = 2 * pad + 1
    assert len(distinct) > min(100, offsets**2)  # offsets**2 shifts x 2 flips available
    padded = F.pad(image[0], (pad, pad, pad, pad))  # the allowed results, by slicing
    allowed = [padded[:, a : a + 32, b : b + 32] for a in range(offsets) for b in range(offsets)]
    allowed = torch.stack(allowed + [c.flip(2) for c in allowed])
    want = normalize(allowed)
    for sample in x[:32]:
        assert (want - sample).abs().flatten(1).amax(1).min() < 1e-5


def test_batches_are_deterministic_per_seed_and_epoch(synthetic_data):
    d = synthetic_data

    def first(seed, epoch):
        return next(iter(train_batches(d.train_images, d.train_labels, 64, seed=seed, epoch=epoch)))

    a, b, c, e = first(0, 0), first(0, 0), first(0, 1), first(1, 0)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0]) and not torch.equal(a[0], e[0])


def test_an_epoch_is_a_permutation_in_full_batches(synthetic_data):
    d = synthetic_data
    batches = list(
        train_batches(d.train_images, d.train_labels, 300, augment=False, channels_last=True)
    )
    assert len(batches) == 2000 // 300 and all(x.shape == (300, 3, 32, 32) for x, _ in batches)
    assert batches[0][0].is_contiguous(memory_format=torch.channels_last)
    seen = torch.cat([x for x, _ in batches])
    keys = {tuple(r) for r in normalize(d.train_images).flatten(1)[:, :40].tolist()}
    got = [tuple(r) for r in seen.flatten(1)[:, :40].tolist()]
    assert len(set(got)) == len(got) and set(got) <= keys  # no image twice, every one from the set
    with pytest.raises(ValueError, match="larger than the 2,000 training images"):
        next(train_batches(d.train_images, d.train_labels, 2001))


@pytest.mark.parametrize("size", [16, 24])
def test_progressive_resizing_shrinks_each_augmented_image_as_pil_does(synthetic_data, size):
    """``size``: the same augmented images (same seed and epoch) scaled down as a whole; PIL's bilinear resize of
    each full-size image, normalised, is the reference (PIL rounds to uint8, hence the tolerance)."""
    d = synthetic_data
    full, labels = next(train_batches(d.train_images, d.train_labels, 64, seed=5, epoch=2))
    small, labels_small = next(
        train_batches(
            d.train_images, d.train_labels, 64, seed=5, epoch=2, size=size, channels_last=True
        )
    )
    assert small.shape == (64, 3, size, size) and small.is_contiguous(
        memory_format=torch.channels_last
    )
    assert torch.equal(labels, labels_small)
    mean, std = torch.tensor(D.MEAN).view(3, 1, 1), torch.tensor(D.STD).view(3, 1, 1)
    pixels = (
        ((full * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)
    )  # back to the uint8 crops
    for image, got in zip(pixels[:16], small[:16]):
        pil = Image.fromarray(image.permute(1, 2, 0).numpy()).resize((size, size), Image.BILINEAR)
        want = normalize(torch.from_numpy(np.asarray(pil)).permute(2, 0, 1)[None])[0]
        assert (want - got).abs().max() < 0.03  # 0.5 / 255 / std is 0.008; PIL's fixed point adds


def test_eval_batches_are_every_test_image_in_order_unaugmented(synthetic_data):
    d = synthetic_data
    batches = list(eval_batches(d.test_images, d.test_labels, 200))
    assert [len(y) for _, y in batches] == [200, 200, 100]
    torch.testing.assert_close(torch.cat([x for x, _ in batches]), normalize(d.test_images))
    assert torch.equal(torch.cat([y for _, y in batches]), d.test_labels)


# --- image folders, the cache, bad input ---------------------------------------------------------------------


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """A CIFAR-layout folder of PNGs (lossless): 2 train and 1 test image per class, pixels from a fixed seed."""
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 2), ("test", 1)):
        for name in CLASSES:
            (tmp_path / "img" / split / name).mkdir(parents=True)
            for i in range(n):
                pixels = torch.randint(0, 256, (32, 32, 3), generator=g, dtype=torch.uint8).numpy()
                Image.fromarray(pixels).save(tmp_path / "img" / split / name / f"{i:04d}.png")
    return tmp_path / "img"


def test_image_folder_gives_the_pixels_and_labels_torchvision_imagefolder_gives(tiny_folder):
    from torchvision.datasets import ImageFolder

    d = read_image_folder(tiny_folder)
    reference = ImageFolder(str(tiny_folder / "train"))
    assert reference.classes == d.classes == list(CLASSES)
    for i, (image, label) in enumerate(reference):
        assert torch.equal(d.train_images[i], torch.from_numpy(np.array(image)).permute(2, 0, 1))
        assert d.train_labels[i].item() == label
    assert d.test_images.shape == (10, 3, 32, 32) and "JPEG" not in d.source


def test_folder_is_cached_and_the_cache_is_read_next_time(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("RESNEXT_EDU_DATA", raising=False)
    first = load_cifar10(tiny_folder, cache_dir=tmp_path / "cache", download=False)
    assert (tmp_path / "cache" / D.CACHE_NAME).is_file()
    again = load_cifar10(cache_dir=tmp_path / "cache", download=False)
    assert torch.equal(again.train_images, first.train_images) and torch.equal(
        again.test_labels, first.test_labels
    )
    # named by its last two parts (outside the working folder: a result file must not carry the absolute path)
    assert (
        "cached in .../cache/" in again.source
        and f".../{tiny_folder.parent.name}/{tiny_folder.name}" in again.source
        and str(tmp_path) not in again.source
    )


def test_environment_variable_names_the_folder(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("RESNEXT_EDU_DATA", str(tiny_folder))
    assert len(load_cifar10(cache_dir=tmp_path / "c", download=False).train_labels) == 20


def test_missing_classes_are_named(tiny_folder, tmp_path):
    for name in ("cat", "ship"):
        for f in (tiny_folder / "test" / name).iterdir():
            f.unlink()
        (tiny_folder / "test" / name).rmdir()
    with pytest.raises(CorruptDataError, match="lacks the class folder.s. cat, ship"):
        load_cifar10(tiny_folder, cache_dir=tmp_path / "c", download=False)


def test_no_source_names_all_three_options_and_the_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("RESNEXT_EDU_DATA", raising=False)
    with pytest.raises(DataNotFoundError) as info:
        load_cifar10(cache_dir=tmp_path / "nothing", download=False)
    message = str(info.value)
    assert str(tmp_path / "nothing" / D.CACHE_NAME) in message
    assert "RESNEXT_EDU_DATA" in message and "--data-dir" in message and "download" in message
    assert "synthetic" in message  # offered by name, never substituted
    with pytest.raises(DataNotFoundError, match="no such folder"):
        load_cifar10(tmp_path / "typo", cache_dir=tmp_path / "nothing", download=False)


def test_a_truncated_cache_is_reported_kept_aside_and_rebuilt(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("RESNEXT_EDU_DATA", raising=False)
    cache_dir = tmp_path / "cache"
    load_cifar10(tiny_folder, cache_dir=cache_dir, download=False)
    cache = cache_dir / D.CACHE_NAME
    truncated = cache.read_bytes()[:1000]
    cache.write_bytes(truncated)
    with pytest.raises(
        DataNotFoundError, match="truncated or corrupt"
    ):  # nothing else to fall back on
        with pytest.warns(UserWarning, match=str(cache)):
            load_cifar10(cache_dir=cache_dir, download=False)
    assert cache.read_bytes() == truncated  # left as it was
    with pytest.warns(UserWarning, match="truncated or corrupt"):
        d = load_cifar10(tiny_folder, cache_dir=cache_dir, download=False)
    assert len(d.train_labels) == 20
    assert (cache_dir / (D.CACHE_NAME + ".corrupt")).read_bytes() == truncated
    assert len(load_cifar10(cache_dir=cache_dir, download=False).train_labels) == 20


def test_an_explicit_folder_wins_over_a_cache_read_from_another(tiny_folder, tmp_path, monkeypatch):
    monkeypatch.delenv("RESNEXT_EDU_DATA", raising=False)
    cache_dir = tmp_path / "cache"
    first = load_cifar10(tiny_folder, cache_dir=cache_dir, download=False)  # cache from folder A
    other = tmp_path / "other"  # folder B: A's images inverted
    for file in tiny_folder.rglob("*.png"):
        target = other / file.relative_to(tiny_folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(255 - np.array(Image.open(file))).save(target)
    got = load_cifar10(other, cache_dir=cache_dir, download=False)
    assert (
        torch.equal(got.train_images, 255 - first.train_images)
        and f"{tmp_path.name}/other" in got.source
    )
    again = load_cifar10(tiny_folder, cache_dir=cache_dir, download=False)  # and back: A's pixels
    assert torch.equal(again.train_images, first.train_images)
    assert (
        "cached in" in load_cifar10(tiny_folder, cache_dir=cache_dir, download=False).source
    )  # same folder: cache


def test_stale_temporary_files_of_the_cache_are_removed(tiny_folder, tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.delenv("RESNEXT_EDU_DATA", raising=False)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    stale, fresh = cache_dir / f"{D.CACHE_NAME}abc123.tmp", cache_dir / f"{D.CACHE_NAME}def456.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a cache")
    hour_ago = time.time() - 3600
    os.utime(
        stale, (hour_ago, hour_ago)
    )  # left by a write killed an hour ago; fresh: perhaps being written
    load_cifar10(tiny_folder, cache_dir=cache_dir, download=False)
    assert not stale.exists() and fresh.exists()


def test_data_moves_to_a_device(synthetic_data):
    moved = synthetic_data.to("cpu")
    assert moved.device.type == "cpu" and "2,000 train" in repr(moved)


# --- the real copy, when present -----------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_cifar10_has_the_official_split_and_statistics(real_cifar_dir):
    """Decodes the JPEG copy once (about 10 s) into the repository's data/ cache; later runs take a second."""
    d = load_cifar10()
    assert d.train_images.shape == (50000, 3, 32, 32) and d.test_images.shape == (10000, 3, 32, 32)
    assert torch.bincount(d.train_labels).tolist() == [5000] * 10
    assert torch.bincount(d.test_labels).tolist() == [1000] * 10
    assert d.classes == list(CLASSES) and not d.synthetic
    pixels = d.train_images[::5].float() / 255  # every 5th image: 10,000 are plenty
    mean, std = pixels.mean((0, 2, 3)), pixels.std((0, 2, 3))
    torch.testing.assert_close(
        mean, torch.tensor(D.MEAN), atol=0.01, rtol=0
    )  # published CIFAR-10 statistics
    torch.testing.assert_close(std, torch.tensor(D.STD), atol=0.01, rtol=0)
    if str(real_cifar_dir) in d.source:  # the cache was made from this copy: same pixels
        from torchvision.datasets import ImageFolder

        assert "JPEG" in d.source
        reference = ImageFolder(str(real_cifar_dir / "test"))
        for i in (0, 4321, 9999):
            image, label = reference[i]
            assert torch.equal(d.test_images[i], torch.from_numpy(np.array(image)).permute(2, 0, 1))
            assert d.test_labels[i].item() == label

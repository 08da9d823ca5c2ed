"""Training-time estimates against arithmetic done by hand, and the measured throughput's contract."""

import pytest
import torch

from reference_figures import CIFAR_RECIPE, GMACS
from resnext_edu import counting
from resnext_edu import estimate as E
from resnext_edu.models import create


def test_flops_per_training_image_is_two_times_three_times_the_macs():
    assert E.training_flops_per_image(1e9) == 6e9  # 2 FLOPs per MAC x (forward + 2 x forward)
    with pytest.raises(ValueError, match="positive"):
        E.training_flops_per_image(0)


def test_throughput_from_a_stated_peak_by_hand():
    t = E.from_peak(5e9, peak_tflops=60, utilisation=0.25)  # 15e12 FLOP/s / 30e9 FLOP per image
    assert t.img_per_s == pytest.approx(500.0)
    assert t.eval_img_per_s == pytest.approx(1500.0) and not t.measured
    assert "25% of a 60 TFLOP/s peak" in str(t) and "assumed" in str(t)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        E.from_peak(5e9, 60, 1.5)
    with pytest.raises(ValueError, match="peak_tflops"):
        E.from_peak(5e9, 0, 0.2)


def test_recipe_counts_whole_batches_only():
    r = E.Recipe(epochs=2, train_images=1_000, test_images=200, batch_size=128)
    assert (r.steps_per_epoch, r.steps, r.images, r.eval_images) == (7, 14, 1_792, 400)
    paper = E.paper_recipe()
    assert (paper.epochs, paper.batch_size, paper.train_images, paper.test_images) == (
        300,
        128,
        50_000,
        10_000,
    )
    assert (paper.steps_per_epoch, paper.steps, paper.images) == (390, 117_000, 14_976_000)
    for bad in (
        dict(epochs=0),
        dict(epochs=1.5),
        dict(epochs=1, batch_size=60_000),
        dict(epochs=1, test_images=-1),
    ):
        with pytest.raises(ValueError):
            E.Recipe(**bad)


def test_estimate_adds_training_and_evaluation_by_hand():
    r = E.Recipe(epochs=2, train_images=1_000, test_images=300, batch_size=100)
    est = E.estimate(r, E.Throughput(100.0, measured=True, detail="by hand"))
    assert est.train_seconds == pytest.approx(2_000 / 100)  # 20 steps x 100 images at 100 img/s
    assert est.eval_seconds == pytest.approx(600 / 300)  # forward only: 3 x 100 img/s
    assert est.seconds == pytest.approx(22.0) and est.hours == pytest.approx(22 / 3600)
    text = str(est)
    assert (
        text.startswith("ESTIMATE (from a measured throughput)")
        and "2,000 images at 100.0 img/s" in text
    )


def test_progressive_resizing_shrinks_the_training_time_by_its_pixels_by_hand():
    """20 epochs, 6 on 16x16 images (1/4 of the pixels), 6 on 24x24 (9/16), 8 full size: (1.5 + 3.375 + 8) / 20."""
    r = E.Recipe(
        epochs=20,
        train_images=1_000,
        test_images=0,
        batch_size=100,
        resize_schedule=((16, 0.3), (24, 0.3)),
    )
    assert r.pixel_share == pytest.approx(12.875 / 20)
    est = E.estimate(r, E.Throughput(100.0, measured=True, detail="by hand"))
    assert est.train_seconds == pytest.approx(20_000 * 12.875 / 20 / 100)
    assert "x 0.64 for the smaller images of progressive resizing" in str(est)
    assert E.Recipe(epochs=3).pixel_share == 1 and "progressive" not in str(
        E.estimate(E.Recipe(epochs=3), est.throughput)
    )


def test_the_papers_recipe_on_a_t4_by_hand():
    macs = counting.count("resnext29_8x64d").macs
    assert macs == pytest.approx(
        GMACS["resnext29_8x64d"] * 1e9, rel=1e-3
    )  # about 5.39 G (reference_figures)
    t4 = E.t4_throughput(macs)  # 20% of 65 TFLOP/s
    assert t4.img_per_s == pytest.approx(0.2 * 65e12 / (6 * 5.387e9), rel=1e-3)  # about 402 img/s
    recipe = E.paper_recipe()
    assert (recipe.epochs, recipe.batch_size, recipe.train_images, recipe.test_images) == tuple(
        CIFAR_RECIPE[k] for k in ("epochs", "batch_size", "train_images", "test_images")
    )
    est = E.estimate(recipe, t4)
    by_hand = 14_976_000 / 402.2 + 300 * 10_000 / (
        3 * 402.2
    )  # 37,236 s training + 2,486 s evaluation
    assert est.seconds == pytest.approx(by_hand, rel=1e-3) and est.hours == pytest.approx(
        11.03, abs=0.02
    )
    assert "assumed" in str(est) and "ESTIMATE" in str(est)
    low, high = (
        E.estimate(E.paper_recipe(), E.t4_throughput(macs, u)) for u in E.T4_UTILISATION_RANGE
    )
    assert low.hours == pytest.approx(2 * est.hours) and high.hours == pytest.approx(est.hours / 2)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (45, "45 s"),
        (600, "10.0 min"),
        (7_200, "2.0 h"),
        (3 * 86_400, "3.0 days"),
        (2 * 365.25 * 86_400, "2.0 years"),
    ],
)
def test_durations_read_like_a_person_says_them(seconds, text):
    assert E.format_duration(seconds) == text


def test_measured_throughput_times_real_steps_and_leaves_the_model_alone():
    torch.manual_seed(0)
    model = create("resnext11_2x32d", stage_widths=(8, 16, 32), stem_width=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    t = E.measure(model, batch_size=8, steps=2, warmup=1, precision="fp32", device="cpu")
    assert t.measured and t.img_per_s > 0 and "fp32" in t.detail and "batch 8" in t.detail
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items()
    )  # weights and BN statistics
    assert model.training and next(model.parameters()).grad is None
    with pytest.raises(ValueError, match="steps"):
        E.measure(model, steps=0, device="cpu")

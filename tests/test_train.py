"""The training loop: schedules by hand-derived values, learning on the synthetic set, bit-identical resume, NaN
handling and the error cases. Tiny models (ResNeXt-11, stage widths 8/16/32) on small subsets keep each test short."""

import json
import math

import pytest
import torch
from torch import nn

from conftest import TINY, make_tiny_model
from resnext_edu import train as T
from resnext_edu.augment import side_for_epoch
from resnext_edu.checkpoints import CheckpointMismatch
from resnext_edu.models import create
from resnext_edu.train import TrainConfig, TrainingDiverged, fit, lr_factor

pytestmark = pytest.mark.usefixtures("one_thread")


def quick(**changes):
    return TrainConfig(
        **{
            "epochs": 2,
            "batch_size": 32,
            "lr": 0.05,
            "precision": "fp32",
            "device": "cpu",
            **changes,
        }
    )


# --- schedules and precision ----------------------------------------------------------------------------------


def test_step_schedule_divides_by_ten_at_half_and_three_quarters():
    spe = 50_000 // 128  # 390 full batches of 128 per epoch

    def at(epoch):
        return lr_factor("step", epoch * spe, 300 * spe, spe, 0.0)

    assert [at(0), at(149), at(150), at(224), at(225), at(299)] == [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]


def test_onecycle_and_cosine_by_hand():
    def f(kind, step):
        return lr_factor(kind, step, 100, 10, 0.2)  # 20 warm-up steps

    assert f("onecycle", 0) == pytest.approx(1 / 20) and f("onecycle", 19) == 1.0
    assert (
        f("onecycle", 20) == 1.0
        and f("onecycle", 60) == pytest.approx(0.5)
        and f("onecycle", 99) > 0
    )
    assert f("cosine", 19) == 1.0 and f("cosine", 40) == pytest.approx(
        0.5 * (1 + math.cos(math.pi / 4))
    )
    assert f("cosine", 60) == pytest.approx(0.5)


# --- learning ---------------------------------------------------------------------------------------------------


def test_train_step_is_the_four_lines_of_plain_pytorch(tiny_model, small_data):
    """train_step(model, optimizer, images, labels) on one batch gives the weights, logits and loss of a
    step written out by hand (forward, cross-entropy, zero_grad, backward, SGD step), bit for bit."""
    images = (small_data.train_images[:32].float() / 255 - 0.5).contiguous()
    labels = small_data.train_labels[:32]
    results = []
    for use_train_step in (False, True):
        model = tiny_model(seed=1).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        for _ in range(2):  # the second step also uses the momentum buffers
            if use_train_step:
                logits, loss = T.train_step(model, optimizer, images, labels)
            else:
                logits = model(images)
                loss = nn.functional.cross_entropy(logits, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        results.append(
            (logits.detach(), loss.detach(), [p.detach().clone() for p in model.parameters()])
        )
    (logits, loss, weights), (logits_step, loss_step, weights_step) = results
    assert torch.equal(logits, logits_step) and torch.equal(loss, loss_step)
    assert all(torch.equal(a, b) for a, b in zip(weights, weights_step))


def test_a_lesson_size_model_beats_chance_on_the_synthetic_set(tiny_model, synthetic_data):
    model = tiny_model()
    history = fit(
        model,
        synthetic_data,
        quick(epochs=1, batch_size=64, lr=0.1, precision="auto"),
        progress=False,
    )
    record = history["epochs"][-1]
    assert record["test_acc"] > 0.25  # chance is 0.10 (500 test images)
    assert {
        "img_per_s",
        "train_loss",
        "train_acc",
        "test_loss",
        "test_acc",
        "lr",
        "seconds",
    } <= set(record)
    assert history["model"]["params"] == sum(p.numel() for p in model.parameters())
    assert history["data"]["synthetic"] and "SYNTHETIC" in history["data"]["source"]
    assert history["provenance"]["torch"] == torch.__version__


class Interrupted(Exception):
    pass


def test_resize_schedule_phases_by_hand():
    """Phase i of ((side, fraction), ...) ends at epochs x cumulative fraction, rounded half up; then full size."""
    sizes = [side_for_epoch(((16, 0.3), (24, 0.3)), 20, e) for e in range(20)]
    assert sizes == [16] * 6 + [24] * 6 + [32] * 8
    assert [side_for_epoch(((20, 0.5),), 3, e) for e in range(3)] == [20, 20, 32]
    sizes = [side_for_epoch(((16, 0.3), (24, 0.3)), 15, e) for e in range(15)]
    assert sizes == [16] * 5 + [24] * 4 + [32] * 6  # 4.5 and 9 epochs: halves round up
    assert [side_for_epoch((), 4, e) for e in range(4)] == [32] * 4  # () : the paper's


@pytest.mark.parametrize("resize", [(), ((16, 0.5),)], ids=["full size", "progressive resizing"])
def test_two_epochs_equal_one_epoch_plus_resume_bit_for_bit(
    tiny_model, small_data, tmp_path, resize
):
    straight = tiny_model()
    fit(straight, small_data, quick(resize_schedule=resize), out_dir=tmp_path / "a", progress=False)

    def disconnect(record, history):
        raise Interrupted  # after epoch 1's checkpoint is written

    with pytest.raises(Interrupted):
        fit(
            tiny_model(),
            small_data,
            quick(resize_schedule=resize),
            out_dir=tmp_path / "b",
            callback=disconnect,
            progress=False,
        )
    resumed = tiny_model(seed=123)  # other initial weights: all must come back
    history = fit(
        resumed,
        small_data,
        quick(resize_schedule=resize),
        out_dir=tmp_path / "b",
        resume=True,
        progress=False,
    )

    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["epoch"] for r in history["epochs"]] == [1, 2] and history["resumed"][0][
        "at_epoch"
    ] == 1
    assert [r["train_image_size"] for r in history["epochs"]] == ([16, 32] if resize else [32, 32])
    saved = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 2 and saved["model"].keys() == straight.state_dict().keys()
    on_disk = json.loads((tmp_path / "b" / "history.json").read_text())
    assert [r["test_acc"] for r in on_disk["epochs"]] == [r["test_acc"] for r in history["epochs"]]


def test_skipping_evaluations_trains_the_same_weights(tiny_model, small_data):
    """eval_from (benchmark 3's --eval-from) only saves time: evaluation in eval mode changes no weight, no BatchNorm
    statistic and no random stream, so a run evaluated after every epoch and one evaluated after the last only end
    with identical tensors and the same final test accuracy; the skipped epochs carry no test figures."""
    every, last = tiny_model(), tiny_model()
    h_every = fit(every, small_data, quick(epochs=3), progress=False)
    h_last = fit(
        last, small_data, quick(epochs=3, eval_from=99), progress=False
    )  # past the end: the last only
    for (name, a), b in zip(every.state_dict().items(), last.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["test_acc"] is None for r in h_last["epochs"]] == [True, True, False]
    assert h_last["epochs"][-1]["test_acc"] == h_every["epochs"][-1]["test_acc"]
    assert all(r["test_acc"] is not None for r in h_every["epochs"])
    with pytest.raises(ValueError, match="eval_from must be a positive integer"):
        fit(tiny_model(), small_data, quick(eval_from=0), progress=False)


class PoisonedAfter(nn.Module):
    """A tiny model whose logits become NaN from its ``n``-th training forward pass on (a stand-in for divergence)."""

    def __init__(self, n):
        super().__init__()
        self.inner, self.n, self.calls = make_tiny_model(), n, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
        out = self.inner(x)
        return out * float("nan") if self.calls >= self.n else out


def test_nan_loss_stops_with_epoch_step_and_cause_and_keeps_the_good_checkpoint(
    small_data, tmp_path
):
    steps = len(small_data.train_labels) // 32  # 8 steps per epoch
    saved = {}
    model = PoisonedAfter(n=steps + 3)  # epoch 2, step 3
    with pytest.raises(
        TrainingDiverged, match=r"epoch 2, step 3 of 8.*learning rate.*too high"
    ) as info:
        fit(
            model,
            small_data,
            quick(precision="auto"),
            out_dir=tmp_path,
            callback=lambda r, h: saved.setdefault(
                "bytes", (tmp_path / "checkpoint.pt").read_bytes()
            ),
            progress=False,
        )
    assert isinstance(info.value, RuntimeError) and str(tmp_path / "checkpoint.pt") in str(
        info.value
    )
    assert (tmp_path / "checkpoint.pt").read_bytes() == saved[
        "bytes"
    ]  # epoch 1's checkpoint, untouched
    assert len(json.loads((tmp_path / "history.json").read_text())["epochs"]) == 1


class Mirrored(nn.Module):
    """The same network looking at every image in a mirror."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.flip(3))


def test_flip_test_time_augmentation_averages_each_image_with_its_mirror(tiny_model, small_data):
    from resnext_edu.augment import normalize

    model = tiny_model().eval()
    x = normalize(small_data.test_images)
    with torch.no_grad():
        by_hand = (
            model(x) + model(torch.flip(x, dims=[3]))
        ) / 2  # hand-written, the whole set at once
    expected_loss = nn.functional.cross_entropy(by_hand, small_data.test_labels).item()
    expected_acc = (by_hand.argmax(1) == small_data.test_labels).float().mean().item()
    flipped = T.evaluate(model, small_data, flip=True, batch_size=16)
    assert flipped["test_loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert flipped["test_acc"] == pytest.approx(expected_acc)
    # averaging over the mirror pair makes the result blind to which way round the network looks
    assert T.evaluate(Mirrored(model), small_data, flip=True)["test_loss"] == pytest.approx(
        expected_loss, rel=1e-5
    )
    plain, plain_mirrored = T.evaluate(model, small_data), T.evaluate(Mirrored(model), small_data)
    assert (
        abs(plain["test_loss"] - plain_mirrored["test_loss"]) > 1e-5
    )  # ... which plain evaluation is not


# --- bad input --------------------------------------------------------------------------------------------------


def test_batch_larger_than_the_data_is_refused(tiny_model, small_data):
    with pytest.raises(ValueError, match="batch_size 1,000 is larger than the 256 training images"):
        fit(tiny_model(), small_data, quick(batch_size=1000), progress=False)


def test_resume_without_a_checkpoint_names_the_path(tiny_model, small_data, tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing" / "checkpoint.pt")):
        fit(
            tiny_model(),
            small_data,
            quick(),
            out_dir=tmp_path / "nothing",
            resume=True,
            progress=False,
        )


def test_checkpoint_of_another_model_is_refused_and_earlier_runs_are_not_overwritten(
    tiny_model, small_data, tmp_path
):
    fit(
        tiny_model(),
        small_data,
        quick(epochs=1, precision="auto"),
        out_dir=tmp_path,
        progress=False,
    )
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(
        CheckpointMismatch, match=r"checkpoint.pt belongs to another model.*'cardinality': 4"
    ):
        fit(
            tiny_model(name="resnext11_4x32d"),
            small_data,
            quick(),
            out_dir=tmp_path,
            resume=True,
            progress=False,
        )
    with pytest.raises(FileExistsError, match="resume=True"):
        fit(tiny_model(), small_data, quick(), out_dir=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_bad_settings_get_a_clear_message(tiny_model, small_data):
    with pytest.raises(ValueError, match="schedule must be one of"):
        fit(tiny_model(), small_data, quick(schedule="linear"), progress=False)
    with pytest.raises(ValueError, match="lr must be positive"):
        fit(tiny_model(), small_data, quick(lr=0), progress=False)
    with pytest.raises(ValueError, match="crop_padding is a whole number of pixels from 0 to 16"):
        fit(tiny_model(), small_data, quick(crop_padding=-1), progress=False)
    for bad, message in (
        (((16, 0.7), (24, 0.6)), "add up to 1.3, more than all the epochs"),
        (((40, 0.5),), "side is a whole number of pixels from 8 to 32, got 40"),
        (((16, 0),), "fraction must be above 0 and at most 1, got 0"),
        ((16, 0.5), "must be a sequence of \\(side, fraction\\) pairs"),
    ):
        with pytest.raises(ValueError, match=message):
            fit(tiny_model(), small_data, quick(resize_schedule=bad), progress=False)


# --- command line -----------------------------------------------------------------------------------------------


def test_command_line_trains_writes_history_and_checkpoint(tmp_path, capsys):
    from resnext_edu.cli import main

    args = "train --model resnext11_2x32d --stage-widths 8 16 32 --stem-width 8 --epochs 1".split()
    args += (
        "--batch-size 32 --subset 128 --test-subset 50 --dataset synthetic --precision fp32".split()
    )
    args += ["--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    assert "final test accuracy" in capsys.readouterr().out
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["epochs"][0]["img_per_s"] > 0 and history["config"]["precision"] == "fp32"
    model = create("resnext11_2x32d", **TINY)
    model.load_state_dict(torch.load(tmp_path / "checkpoint.pt", weights_only=True)["model"])
    assert main(args[:-3] + ["--out", str(tmp_path / "none"), "--resume", "--no-progress"]) == 2
    assert "No checkpoint at" in capsys.readouterr().err

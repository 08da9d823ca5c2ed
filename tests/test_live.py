"""Live curves: the callback keeps exactly what fit() reported, redraws once per epoch, continues across a resume,
draws that data (checked on the figure's lines, not on pixels), and in a real kernel leaves one figure, not a pile."""

import pytest

from resnext_edu.live import LiveCurves
from resnext_edu.train import TrainConfig, fit

CONFIG = TrainConfig(epochs=2, batch_size=64, lr=0.05, precision="fp32", device="cpu")


class Disconnect(Exception):
    pass


def test_curves_follow_fit_epoch_by_epoch(tiny_model, small_data):
    curves = LiveCurves(title="tiny", reference=(0.9635, "paper"))
    seen = []

    def callback(record, history):
        curves(record, history)
        seen.append((curves.draws, len(curves.records)))

    history = fit(tiny_model(), small_data, CONFIG, callback=callback, progress=False)
    assert seen == [(1, 1), (2, 2)]  # one redraw per epoch, data kept so far
    for key in ("train_loss", "test_loss", "train_acc", "test_acc", "lr"):
        assert curves.series(key) == ([1, 2], [r[key] for r in history["epochs"]])
    assert curves.epochs == 2 and curves.resumed_at == []


def test_the_figure_draws_the_kept_data():
    curves = LiveCurves(reference=(0.9, "target"))
    history = {
        "config": {"epochs": 4},
        "resumed": [{"at_epoch": 1}],
        "epochs": [
            {
                "epoch": e,
                "train_loss": 2.0 / e,
                "test_loss": 2.1 / e,
                "train_acc": 0.2 * e,
                "test_acc": 0.19 * e,
                "lr": 0.1 / e,
            }
            for e in (1, 2)
        ],
    }
    curves.update(history)
    figure = curves.figure()
    loss_ax, acc_ax, lr_ax = figure.axes
    train_loss = [line for line in loss_ax.lines if line.get_label() == "train loss"][0]
    assert list(train_loss.get_xdata()) == [1, 2] and list(train_loss.get_ydata()) == [2.0, 1.0]
    test_acc = [line for line in acc_ax.lines if line.get_label() == "test acc"][0]
    assert list(test_acc.get_ydata()) == pytest.approx([19.0, 38.0])  # accuracy drawn in percent
    assert any(
        list(line.get_ydata()) == [90.0, 90.0] for line in acc_ax.lines
    )  # the reference line
    assert any(
        list(line.get_xdata()) == [1.5, 1.5] for line in lr_ax.lines
    )  # resumed after epoch 1
    assert loss_ax.get_xlim() == (0.5, 4.5) and "2/4 epochs" in figure._suptitle.get_text()


def test_resumed_run_continues_the_same_curves(tiny_model, small_data, tmp_path):
    curves = LiveCurves()

    def disconnect(record, history):
        curves(record, history)
        raise Disconnect

    with pytest.raises(Disconnect):
        fit(tiny_model(), small_data, CONFIG, out_dir=tmp_path, callback=disconnect, progress=False)
    assert [r["epoch"] for r in curves.records] == [1]
    fresh = LiveCurves()  # the notebook was restarted: a new object
    history = fit(
        tiny_model(seed=1),
        small_data,
        CONFIG,
        out_dir=tmp_path,
        resume=True,
        callback=fresh,
        progress=False,
    )
    assert [r["epoch"] for r in fresh.records] == [1, 2] and fresh.resumed_at == [1]
    assert fresh.records[0] == curves.records[0] and fresh.series("test_acc")[1] == [
        r["test_acc"] for r in history["epochs"]
    ]


def test_bad_reference_and_series_get_a_message():
    with pytest.raises(ValueError, match="reference must be"):
        LiveCurves(reference=96.35)
    with pytest.raises(ValueError, match="No series 'acc'"):
        LiveCurves().series("acc")


@pytest.mark.timeout(120)
def test_in_a_kernel_the_output_holds_one_figure_after_several_epochs(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as in Jupyter
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    from kernel_client import NudgingClient  # tests/kernel_client.py

    cells = [
        "from resnext_edu.live import LiveCurves\ncurves = LiveCurves(title='kernel')\ncurves",
        "h = {'config': {'epochs': 3}, 'epochs': []}\n"
        "for e in (1, 2, 3):\n"
        "    h['epochs'].append({'epoch': e, 'train_loss': 1 / e, 'test_loss': 1 / e, 'train_acc': e / 4, "
        "'test_acc': e / 4, 'lr': 0.1})\n"
        "    curves(h['epochs'][-1], h)\n"
        "print(curves.draws)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NudgingClient(
        nb,
        timeout=90,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    assert nb.cells[1].outputs[-1]["text"].strip() == "3"
    assert all(o["output_type"] != "error" for c in nb.cells for o in c.outputs)
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()
    outputs = [s["state"]["outputs"] for s in states if s["model_name"] == "OutputModel"]
    assert len(outputs) == 1 and len(outputs[0]) == 1  # one figure, redrawn in place
    assert "image/png" in outputs[0][0]["data"]

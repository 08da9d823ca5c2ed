"""The block drawings of lessons 01 and 02 (resnext_edu/drawing.py), without a browser: what is drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from resnext_edu import drawing  # noqa: E402


def branches_in(figure) -> set[int]:
    """The path numbers a figure shows, read from the gids of its artists ("branch-i")."""
    gids = {artist.get_gid() for artist in figure.findobj() if artist.get_gid()}
    return {int(gid.split("-")[1]) for gid in gids if gid.startswith("branch-")}


def has_ellipsis(figure) -> bool:
    return any(artist.get_gid() == "ellipsis" for artist in figure.findobj())


def test_drawn_branches_elides_the_middle():
    assert drawing.drawn_branches(3) == [1, 2, 3]
    assert drawing.drawn_branches(32) == [1, 2, 3, 4, 5, 6, None, 32]
    assert drawing.drawn_branches(12, max_branches=4) == [1, 2, None, 12]
    with pytest.raises(ValueError, match="cardinality"):
        drawing.drawn_branches(0)


def test_drawings_label_layers_in_the_paper_notation():
    figure = drawing.draw_resnext_block(32, 4)
    texts = {t.get_text() for t in figure.findobj(matplotlib.text.Text)}
    assert {"256, 1x1, 4", "4, 3x3, 4", "4, 1x1, 256", "256-d in", "256-d out"} <= texts
    assert any("70,144" in t for t in texts)
    texts = {t.get_text() for t in drawing.draw_bottleneck().findobj(matplotlib.text.Text)}
    assert {"256, 1x1, 64", "64, 3x3, 64", "64, 1x1, 256"} <= texts and any(
        "69,632" in t for t in texts
    )
    texts = {t.get_text() for t in drawing.draw_basic_block(64).findobj(matplotlib.text.Text)}
    assert "64, 3x3, 64" in texts and any("73,728" in t for t in texts)
    plt.close("all")


def test_show_images_titles_are_the_labels():
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(12) % 10
    classes = [f"class {i}" for i in range(10)]
    figure = drawing.show_images(images, labels, classes, n=12, columns=6)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == [classes[i % 10] for i in range(12)]
    plt.close("all")

"""Lesson 02's block explorer and the drawings behind it, without a browser: move the controls, check what is drawn."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from resnext_edu import counting, drawing  # noqa: E402
from resnext_edu.blocks import ResNeXtBlock  # noqa: E402
from resnext_edu.widgets.block_explorer import BlockExplorer, block_explorer  # noqa: E402


def branches_in(figure) -> set[int]:
    """The path numbers a figure shows, read from the gids of its artists ("branch-i")."""
    gids = {artist.get_gid() for artist in figure.findobj() if artist.get_gid()}
    return {int(gid.split("-")[1]) for gid in gids if gid.startswith("branch-")}


def has_ellipsis(figure) -> bool:
    return any(artist.get_gid() == "ellipsis" for artist in figure.findobj())


@pytest.fixture
def explorer():
    e = block_explorer()
    yield e
    plt.close("all")


def test_starts_at_32x4d_with_the_paper_numbers(explorer):
    s = explorer.state
    assert (s["cardinality"], s["bottleneck_width"], s["group_width"]) == (32, 4, 128)
    assert s["eq4_params"] == s["conv_params"] == 70_144          # Table 2's last column
    assert s["budget"] == 69_632
    assert s["macs"] == s["macs_by_hand"] == counting.block_macs(256, 256, cardinality=32, bottleneck_width=4,
                                                                   input_size=56)
    assert explorer.draws == 1 and explorer.message.value == ""


@pytest.mark.parametrize("C, d", [(1, 64), (2, 40), (4, 24), (8, 14), (3, 7), (64, 1)])
def test_sliders_change_numbers_and_drawing(explorer, C, d):
    draws = explorer.draws
    explorer.controls["cardinality"].value = C
    explorer.controls["bottleneck_width"].value = d
    s = explorer.state
    assert (s["cardinality"], s["bottleneck_width"]) == (C, d)
    assert s["eq4_params"] == counting.eq4_params(C, d)
    with torch.device("meta"):
        block = ResNeXtBlock(256, 256, cardinality=C, bottleneck_width=d, form="A")
    measured = counting.count(block, 56)
    assert s["params"] == measured.params == counting.block_params(256, 256, cardinality=C, bottleneck_width=d)
    assert s["conv_params"] == s["eq4_params"]
    assert s["macs"] == measured.macs == s["macs_by_hand"]
    assert explorer.draws > draws
    figure = explorer.draw(s)
    assert branches_in(figure) == {b for b in s["drawn_branches"] if b is not None}
    assert len(branches_in(figure)) == (C if C <= drawing.MAX_BRANCHES else drawing.MAX_BRANCHES - 1)
    assert has_ellipsis(figure) == (C > drawing.MAX_BRANCHES)
    assert f"{s['eq4_params']:,}" in explorer.readout_html.value


def test_numpy_integers_are_whole_numbers_but_floats_are_refused(explorer):
    import numpy as np
    explorer.controls["cardinality"].value = np.int64(8)
    assert explorer.state["cardinality"] == 8 and type(explorer.controls["cardinality"].value) is int
    with pytest.raises(ValueError, match="whole number"):
        explorer.controls["cardinality"].value = np.float64(8.0)
    assert explorer.controls["cardinality"].value == 8                    # left as it was


def test_drawn_branch_count_follows_cardinality(explorer):
    counts = []
    for C in (1, 2, 5, 8, 9, 32):
        explorer.controls["cardinality"].value = C
        counts.append(len(branches_in(explorer.draw(explorer.state))))
    assert counts == [1, 2, 5, 8, 7, 7]                        # > 8 paths: 6 + "..." + the last one


def test_drawn_branches_elides_the_middle():
    assert drawing.drawn_branches(3) == [1, 2, 3]
    assert drawing.drawn_branches(32) == [1, 2, 3, 4, 5, 6, None, 32]
    assert drawing.drawn_branches(12, max_branches=4) == [1, 2, None, 12]
    with pytest.raises(ValueError, match="cardinality"):
        drawing.drawn_branches(0)


def test_budget_mode_solves_d_like_table2(explorer):
    explorer.controls["match_budget"].value = True
    assert explorer.controls["bottleneck_width"].disabled
    for C, d in [(1, 64), (2, 40), (4, 24), (8, 14), (32, 4)]:      # Table 2
        explorer.controls["cardinality"].value = C
        assert explorer.state["bottleneck_width"] == d and explorer.message.value == ""
    explorer.controls["match_budget"].value = False
    assert not explorer.controls["bottleneck_width"].disabled


def test_a_cardinality_that_does_not_fit_shows_a_message(explorer):
    explorer.controls["match_budget"].value = True
    explorer.controls["cardinality"].value = 8
    before, draws = dict(explorer.state), explorer.draws
    explorer.controls["cardinality"].value = 48           # d = 3 gives 77,616, d = 2 gives 50,880: neither fits
    assert "C = 48 does not fit" in explorer.message.value and "77,616" in explorer.message.value
    assert explorer.state == before and explorer.draws == draws    # nothing half-updated
    explorer.controls["cardinality"].value = 32           # a valid value clears the message
    assert explorer.message.value == "" and explorer.state["bottleneck_width"] == 4


def test_other_channels_and_map_size():
    e = BlockExplorer(8, 14, in_channels=512, out_channels=512, input_size=28)
    assert e.state["eq4_params"] == counting.eq4_params(8, 14, 512, 512)
    assert e.state["macs"] == counting.block_macs(512, 512, cardinality=8, bottleneck_width=14, input_size=28)
    plt.close("all")


def test_drawings_label_layers_in_the_paper_notation():
    figure = drawing.draw_resnext_block(32, 4)
    texts = {t.get_text() for t in figure.findobj(matplotlib.text.Text)}
    assert {"256, 1x1, 4", "4, 3x3, 4", "4, 1x1, 256", "256-d in", "256-d out"} <= texts
    assert any("70,144" in t for t in texts)
    texts = {t.get_text() for t in drawing.draw_bottleneck().findobj(matplotlib.text.Text)}
    assert {"256, 1x1, 64", "64, 3x3, 64", "64, 1x1, 256"} <= texts and any("69,632" in t for t in texts)
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

"""Fig. 4 and Section 3.3's 'Discussion', proved numerically against form A (the paths themselves)."""

import torch

from resnext_edu import collapse, drawing


def test_depth2_paths_are_one_dense_wide_block():
    branches = collapse.paths([4] * 8, [3, 3], in_channels=16, out_channels=16, seed=0)
    wide = collapse.collapse_depth2(branches)
    x = torch.randn(2, 16, 6, 6)
    with torch.no_grad():
        assert (collapse.aggregate(branches, x) - wide(x)).abs().max() < 1e-5
    assert wide[0].weight.shape == (32, 16, 3, 3) and wide[2].weight.shape == (16, 32, 3, 3)
    # nothing grouped is left: every weight of both wide layers is in use (a grouped layer would use 1 in 8)
    assert (wide[0].weight != 0).float().mean() > 0.99 and (
        wide[2].weight != 0
    ).float().mean() > 0.99


def test_depth3_middle_stays_block_diagonal_and_stacks_exactly():
    branches = collapse.paths([4] * 4, [1, 3, 1], in_channels=16, out_channels=16, seed=1)
    dense = collapse.middle_dense(branches)
    assert collapse.off_diagonal_share(dense, [4] * 4) == 0.0  # a grouped convolution
    grouped = collapse.closest_grouped(dense, 4)  # equal widths: nothing dropped
    x = torch.randn(2, 16, 5, 5)
    with torch.no_grad():
        assert (
            collapse.aggregate(branches, x) - collapse.stacked(branches, grouped)(x)
        ).abs().max() < 1e-5


def test_heterogeneous_widths_fit_no_grouped_convolution():
    branches = collapse.paths([2, 6], [1, 3, 1], in_channels=8, out_channels=8, seed=2)
    dense = collapse.middle_dense(branches)
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        form_a = collapse.aggregate(branches, x)
        exact = collapse.stacked(branches, collapse.dense_conv(dense))(
            x
        )  # block-diagonal with unequal blocks
        grouped = collapse.stacked(branches, collapse.closest_grouped(dense, 2))(x)
    assert (form_a - exact).abs().max() < 1e-5
    assert (form_a - grouped).abs().max() > 1e-2  # groups of 4 + 4 cannot hold 2 + 6


def test_inception_drawing_has_four_different_paths():
    fig = drawing.draw_inception_module()
    gids = {a.get_gid() for a in fig.axes[0].patches if a.get_gid()}
    assert gids == {"path-1", "path-2", "path-3", "path-4"}
    assert (
        sum(int(p[-1][0].rsplit(",", 1)[-1]) for p in drawing.INCEPTION_3A) == 256
    )  # GoogLeNet's 3a output

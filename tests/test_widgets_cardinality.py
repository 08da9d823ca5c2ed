"""Lesson 04's cardinality dashboard, driven without a browser: set the controls, read ``state`` and
compare it with
sources of its own: Eq. 4 and the MACs written out by hand, the counter, form B's weights (lesson
03), the shipped result files read directly as JSON, and the paper's Table 3."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from resnext_edu import paper
from resnext_edu.blocks import convert
from resnext_edu.sweep import SHIPPED
from resnext_edu.widgets.cardinality_dashboard import cardinality_dashboard


@pytest.fixture(scope="module")
def dashboard():
    board = cardinality_dashboard(device="cpu", repeats=1)
    yield board
    plt.close("all")


def by_hand(C: int, d: int) -> tuple[int, int]:
    """Eq. 4 for 256 -> 256 channels, and its MACs on a 56x56 map (no stride: every layer at every
    position)."""
    weights = 256 * C * d + C * 3 * 3 * d * d + C * d * 256
    return weights, weights * 56 * 56


def shipped_errors(C: int) -> list[float]:
    """Test errors (%) of the full sweep's 1x cardinality-ladder model with this C, straight from
    the JSON files."""
    errors = []
    for path in sorted((SHIPPED / "full").glob("full-1x_*.json")):
        raw = json.loads(path.read_text())
        if raw["config"]["cardinality"] == C and raw["config"]["axis"] == "cardinality":
            errors.append(100 * (1 - raw["final"]["test_acc"]))
    return errors


@pytest.mark.parametrize("C, d", [(1, 64), (2, 40), (4, 24), (8, 14), (32, 4)])  # Table 2's rows
def test_matched_d_is_table2_and_the_counts_agree_with_hand_and_counter(dashboard, C, d):
    dashboard.controls["hold_d"].value = False
    dashboard.controls["cardinality"].value = C
    s = dashboard.state
    assert s["bottleneck_width"] == d and dashboard.message.value == ""
    weights, macs = by_hand(C, d)
    assert s["params_eq4"] == s["params_conv_measured"] == weights
    assert (
        s["params_measured"] == s["params_formula"] == weights + 2 * (C * d + C * d + 256)
    )  # BN's gamma, beta
    assert s["macs_measured"] == s["macs_formula"] == macs
    assert s["forward_ms"] > 0 and s["backward_ms"] > 0 and s["resnet_forward_ms"] > 0
    assert f"{weights:,}" in dashboard.readout_html.value


def test_hold_d_uses_the_d_slider(dashboard):
    dashboard.controls["hold_d"].value = True
    assert not dashboard.controls["bottleneck_width"].disabled
    dashboard.controls["cardinality"].value = 8
    dashboard.controls["bottleneck_width"].value = 20
    s = dashboard.state
    assert (s["cardinality"], s["bottleneck_width"], s["group_width"]) == (8, 20, 160)
    assert s["params_eq4"] == by_hand(8, 20)[0] and s["percent_of_budget"] > 100
    dashboard.controls["hold_d"].value = False
    assert (
        dashboard.controls["bottleneck_width"].disabled
        and dashboard.state["bottleneck_width"] == 14
    )


@pytest.mark.parametrize("C", [1, 4, 32])
def test_the_matrix_is_form_bs_separate_3x3s_on_the_diagonal_and_zero_elsewhere(dashboard, C):
    dashboard.controls["hold_d"].value = False
    dashboard.controls["cardinality"].value = C
    d = dashboard.state["bottleneck_width"]
    matrix = dashboard.state["matrix"]
    assert matrix.shape == (C * d, C * d)
    form_b = convert(dashboard.block, "B")  # lesson 03: the C separate 3x3s of form B
    mask = torch.zeros(C * d, C * d, dtype=torch.bool)
    for i, branch in enumerate(form_b.branches):
        block = matrix[i * d : (i + 1) * d, i * d : (i + 1) * d]
        assert torch.allclose(block, branch.conv2.weight.detach().abs().sum(dim=(2, 3)))
        mask[i * d : (i + 1) * d, i * d : (i + 1) * d] = True
    assert torch.count_nonzero(matrix[~mask]) == 0


def test_channels_per_group_at_lesson_and_paper_widths(dashboard):
    dashboard.controls["hold_d"].value = False
    dashboard.controls["cardinality"].value = 32
    s = dashboard.state
    # 32x4d: d = 4 at a stage of 64 planes; a stage of w planes has d = w · 4 / 64
    # (the reference code's rule)
    assert s["lesson_group_widths"] == (
        1,
        2,
        4,
    )  # stage widths 16, 32, 64: the first stage is depthwise
    assert s["paper_group_widths"] == (4, 8, 16)  # stage widths 64, 128, 256


@pytest.mark.parametrize("C", [1, 2, 4, 8, 16, 32])
def test_sweep_error_is_the_shipped_files_and_table3_the_papers(dashboard, C):
    dashboard.controls["hold_d"].value = False
    dashboard.controls["cardinality"].value = C
    s = dashboard.state
    errors = shipped_errors(C)
    assert s["sweep_seeds"] == len(errors) >= 2
    assert s["sweep_error_mean"] == pytest.approx(sum(errors) / len(errors))
    table3 = {row["cardinality"]: row["error_50"] for row in paper.table("table3")["rows"]}
    assert s["table3_error"] == table3.get(C)
    assert ("not in Table 3" in dashboard.readout_html.value) == (C not in table3)


def test_a_cardinality_outside_sweep_and_table_says_so(dashboard):
    dashboard.controls["hold_d"].value = False
    dashboard.controls["cardinality"].value = 3
    s = dashboard.state
    assert s["sweep_setting"] is None and s["table3_error"] is None
    assert "not in the full sweep" in dashboard.readout_html.value


def test_too_wide_a_block_shows_a_message_and_keeps_the_last_drawing(dashboard):
    dashboard.controls["hold_d"].value = True
    dashboard.controls["cardinality"].value = 8
    dashboard.controls["bottleneck_width"].value = 8
    before, draws = dashboard.state, dashboard.draws
    dashboard.controls["cardinality"].value = 64
    dashboard.controls["bottleneck_width"].value = 64  # C·d = 4,096
    assert "4,096" in dashboard.message.value and "Lower C or d" in dashboard.message.value
    assert dashboard.draws == draws + 1  # C = 64, d = 8 (512) was still drawn
    dashboard.controls["bottleneck_width"].value = 4
    assert dashboard.message.value == "" and dashboard.state is not before


def test_figure_draws_the_matrix_the_sweep_and_table3(dashboard):
    dashboard.controls["hold_d"].value = False
    dashboard.controls["cardinality"].value = 8
    figure = dashboard.draw(dashboard.state)
    ax_matrix, ax_error = figure.axes
    assert ax_matrix.images[0].get_array().shape == (8 * 14, 8 * 14)
    labels = [line.get_label() for line in ax_error.get_lines()]
    assert any(label.startswith("paper, Table 3") for label in labels) and "C = 8" in labels
    plt.close(figure)


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="hold_d"):
        cardinality_dashboard(hold_d="yes")
    with pytest.raises(ValueError, match="C \\(cardinality\\)"):
        cardinality_dashboard(cardinality=100)
    with pytest.raises(ValueError, match="repeats"):
        cardinality_dashboard(repeats=0)

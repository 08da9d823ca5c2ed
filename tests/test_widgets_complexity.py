"""Lesson 04's complexity explorer, driven without a browser: set the controls, read ``state``."""

import pytest

pytest.importorskip("ipywidgets")

from resnext_edu import counting  # noqa: E402
from resnext_edu.widgets.complexity_explorer import REFERENCE_BLOCKS, complexity_explorer  # noqa: E402


@pytest.fixture(scope="module")
def explorer():
    return complexity_explorer()


def expected_numbers(block, C, d):
    t = REFERENCE_BLOCKS[block]
    return {"params_eq4": counting.eq4_params(C, d, t.in_channels, t.out_channels),
            "params_formula": counting.block_params(t.in_channels, t.out_channels, cardinality=C, bottleneck_width=d),
            "macs_formula": counting.block_macs(t.in_channels, t.out_channels, cardinality=C, bottleneck_width=d,
                                                input_size=t.input_size)}


def test_starts_at_resnext50s_block_on_the_curve(explorer):
    s = explorer.state
    assert (s["cardinality"], s["bottleneck_width"], s["group_width"]) == (32, 4, 128)
    assert (s["params_eq4"], s["params_conv_measured"]) == (70_144, 70_144)
    assert s["budget"] == 69_632 and s["position"] == "on"
    assert s["percent_of_budget"] == pytest.approx(100 * 70_144 / 69_632)
    assert explorer.message.value == "" and "70,144" in explorer.readout_html.value


@pytest.mark.parametrize("block,C,d", [("resnext50_conv2", 8, 14), ("resnext50_conv2", 64, 128),
                                         ("cifar_lesson", 4, 6), ("cifar_lesson", 1, 100)])
def test_numbers_equal_eq4_and_the_counter_for_the_slider_values(explorer, block, C, d):
    draws = explorer.draws
    explorer.controls["reference"].value = block
    explorer.controls["cardinality"].value = C
    explorer.controls["bottleneck_width"].value = d
    s = explorer.state
    want = expected_numbers(block, C, d)
    assert (s["cardinality"], s["bottleneck_width"]) == (C, d)
    assert s["params_eq4"] == s["params_conv_measured"] == want["params_eq4"]
    assert s["params_measured"] == s["params_formula"] == want["params_formula"]
    assert s["macs_measured"] == s["macs_formula"] == want["macs_formula"]
    assert explorer.draws > draws and explorer.message.value == ""
    assert f"{want['params_eq4']:,}" in explorer.readout_html.value


def test_curve_is_the_solvers_and_contains_table2(explorer):
    explorer.controls["reference"].value = "resnext50_conv2"
    explorer.controls["budget_percent"].value = 100
    s = explorer.state
    assert s["curve_C"] == list(range(1, 65))
    assert s["curve_d"] == [counting.solve_bottleneck_width(C) for C in s["curve_C"]]
    table2 = dict(zip(s["curve_C"], s["curve_d"]))
    assert [table2[C] for C in (1, 2, 4, 8, 32)] == [64, 40, 24, 14, 4]


def test_position_above_and_below_the_curve_and_the_budget(explorer):
    explorer.controls["reference"].value = "resnext50_conv2"
    explorer.controls["budget_percent"].value = 100
    explorer.controls["cardinality"].value = 8
    explorer.controls["bottleneck_width"].value = 20
    assert explorer.state["position"] == "above" and explorer.state["d_matched"] == 14
    assert explorer.state["percent_of_budget"] > 100
    explorer.controls["bottleneck_width"].value = 10
    assert explorer.state["position"] == "below" and explorer.state["percent_of_budget"] < 100
    explorer.controls["budget_percent"].value = 200          # Table 4's doubled complexity: 64x4d
    explorer.controls["cardinality"].value = 64
    assert explorer.state["budget"] == 2 * 69_632
    assert explorer.state["d_matched"] == counting.solve_bottleneck_width(64, budget=2 * 69_632) == 4


def test_a_cardinality_the_budget_cannot_hold_is_above_with_the_curve_cut(explorer):
    explorer.controls["reference"].value = "cifar_lesson"
    explorer.controls["budget_percent"].value = 100
    explorer.controls["cardinality"].value = 40
    explorer.controls["bottleneck_width"].value = 1
    s = explorer.state
    assert s["d_matched"] is None and s["position"] == "above" and s["curve_C"][-1] < 40
    with pytest.raises(ValueError):
        counting.solve_bottleneck_width(s["curve_C"][-1] + 1, in_channels=64, out_channels=64, budget=s["budget"])
    assert "cannot hold" in explorer.readout_html.value


@pytest.mark.parametrize("block,budget", [("resnext50_conv2", 0), ("resnext50_conv2", -5), ("cifar_lesson", 1)])
def test_invalid_budget_shows_a_message_not_an_exception(block, budget):
    explorer = complexity_explorer(block)
    good, draws = explorer.state, explorer.draws
    explorer.controls["budget_percent"].value = budget    # 1% of 4,352 cannot hold even C = 1, d = 1
    assert "budget" in explorer.message.value.lower()
    assert explorer.state is good and explorer.draws == draws
    explorer.controls["budget_percent"].value = 100
    assert explorer.message.value == "" and explorer.draws == draws + 1


def test_figure_draws_the_curve_and_the_point(explorer):
    import matplotlib.pyplot as plt
    explorer.controls["reference"].value = "resnext50_conv2"
    explorer.controls["cardinality"].value = 32
    explorer.controls["bottleneck_width"].value = 4
    figure = explorer.draw(explorer.state)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    curve = next(line for label, line in lines.items() if label.startswith("d(C)"))
    assert list(curve.get_xdata()) == explorer.state["curve_C"] and list(curve.get_ydata()) == explorer.state["curve_d"]
    point = next(line for label, line in lines.items() if label.startswith("your block"))
    assert (list(point.get_xdata()), list(point.get_ydata())) == ([32], [4])
    assert "paper, Table 2" in lines
    plt.close(figure)

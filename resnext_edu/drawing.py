"""Drawings for lessons 01 and 02: residual blocks as the paper draws them, and CIFAR images with their labels.

A block is drawn top to bottom like the paper's Fig. 1 and Fig. 3(a): the input, the C paths side by side (each
1x1 -> 3x3 -> 1x1), the "+" where the paths and the identity shortcut meet, the output. Every layer is labelled in
the paper's notation "in channels, filter size, out channels" (Fig. 1 right: "256, 1x1, 4"). Batch norm and ReLU
are left out, as in the paper's figures.

A figure with many paths would be unreadable, so at most ``max_branches`` columns are drawn: for a larger C the
first paths, a "..." column for the ones in between, and the last path (:func:`drawn_branches`). The boxes of
path i carry the matplotlib ``gid`` ``"branch-i"``, so a test can count what was drawn.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyBboxPatch

from .blocks import group_width
from .checks import check_positive_int

MAX_BRANCHES = 8  # columns drawn at most, the "..." column included
COLOURS = {"1x1": "#dbe9f6", "3x3": "#fde4c8", "io": "#eeeeee"}
BOX_W, BOX_H = 1.25, 0.46  # a layer's box (data units); wider when there are few columns
GAP = 0.2  # between the boxes of neighbouring paths


def drawn_branches(cardinality: int, max_branches: int = MAX_BRANCHES) -> list[int | None]:
    """The paths a drawing shows, left to right, numbered from 1; ``None`` is the "..." column.

    All C paths when C <= ``max_branches``; otherwise the first ``max_branches - 2``, "...", and path C, so the
    drawing has ``max_branches`` columns. Example: C = 32 -> [1, 2, 3, 4, 5, 6, None, 32].
    """
    check_positive_int("cardinality", cardinality, "C is the number of paths in the block.")
    check_positive_int("max_branches", max_branches)
    if max_branches < 3:
        raise ValueError(
            f"max_branches must be at least 3 (two paths and the '...'), got {max_branches}."
        )
    if cardinality <= max_branches:
        return list(range(1, cardinality + 1))
    return list(range(1, max_branches - 1)) + [None, cardinality]


def _box(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    colour: str,
    gid: str | None = None,
    width: float = BOX_W,
    fontsize: float = 9,
) -> None:
    patch = FancyBboxPatch(
        (x - width / 2, y - BOX_H / 2),
        width,
        BOX_H,
        boxstyle="round,pad=0.03",
        facecolor=colour,
        edgecolor="#444444",
        linewidth=1.0,
        gid=gid,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, gid=gid)


def _arrow(
    ax: Axes, start: tuple[float, float], end: tuple[float, float], colour: str = "#444444"
) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=0.9, shrinkA=0, shrinkB=0),
    )


def _layer(in_channels: int, kernel: int, out_channels: int) -> str:
    """The paper's label of a layer: "in, kxk, out" (Fig. 1)."""
    return f"{in_channels}, {kernel}x{kernel}, {out_channels}"


def draw_paths(
    layers: list[tuple[int, int, int]],
    *,
    cardinality: int = 1,
    in_channels: int,
    out_channels: int,
    title: str = "",
    note: str = "",
    max_branches: int = MAX_BRANCHES,
    ax: Axes | None = None,
) -> Figure:
    """Draw a residual block made of ``cardinality`` identical paths of ``layers`` (each ``(in, k, out)``).

    This is the general drawing behind :func:`draw_basic_block`, :func:`draw_bottleneck` and
    :func:`draw_resnext_block`. With ``ax`` it draws into an existing axes (for side-by-side figures).
    """
    columns = drawn_branches(cardinality, max_branches)
    n = len(columns)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.2, 1.2 * n + 2.6), 1.0 * len(layers) + 3.4))
    else:
        fig = ax.figure
    fontsize = 9 if n <= 4 else 8
    box_w = BOX_W if n > 4 else 1.6
    xs = [(i - (n - 1) / 2) * (box_w + GAP) for i in range(n)]
    y_in, y_first = 1.0 * len(layers) + 1.6, 1.0 * len(layers) + 0.45
    ys = [y_first - 1.0 * j for j in range(len(layers))]
    y_plus, y_out = ys[-1] - 0.95, ys[-1] - 1.75
    io_width = max(1.6, min(3.0, xs[-1] - xs[0] + box_w))

    _box(ax, 0, y_in, f"{in_channels}-d in", COLOURS["io"], width=io_width, fontsize=fontsize + 1)
    for x, branch in zip(xs, columns):
        if branch is None:
            hidden = cardinality - (n - 1)
            ax.text(
                x,
                (ys[0] + ys[-1]) / 2,
                f"...\n{hidden} more\npaths\n...",
                ha="center",
                va="center",
                fontsize=fontsize,
                gid="ellipsis",
            )
            continue
        gid = f"branch-{branch}"
        _arrow(ax, (x * 0.35, y_in - BOX_H / 2), (x, ys[0] + BOX_H / 2))
        if cardinality > 1:  # the path's name, on the side its arrow does not come from
            side = -1 if x <= 0 else 1
            ax.text(
                x + side * (box_w / 2 - 0.05),
                ys[0] + BOX_H / 2 + 0.06,
                rf"$\mathcal{{T}}_{{{branch}}}$",
                ha="left" if side < 0 else "right",
                va="bottom",
                fontsize=fontsize + 1,
                gid=gid,
            )
        for j, ((c_in, k, c_out), y) in enumerate(zip(layers, ys)):
            _box(
                ax,
                x,
                y,
                _layer(c_in, k, c_out),
                COLOURS[f"{k}x{k}"] if k in (1, 3) else "white",
                gid,
                box_w,
                fontsize,
            )
            if j + 1 < len(layers):
                _arrow(ax, (x, y - BOX_H / 2), (x, ys[j + 1] + BOX_H / 2))
        _arrow(ax, (x, ys[-1] - BOX_H / 2), (x * 0.12, y_plus + 0.14))

    plus = Circle(
        (0, y_plus), 0.17, facecolor="white", edgecolor="#444444", linewidth=1.2, zorder=3
    )
    ax.add_patch(plus)
    ax.text(0, y_plus, "+", ha="center", va="center", fontsize=13, zorder=4)
    right = (
        max(xs[-1] + box_w / 2, io_width / 2) + 0.45
    )  # the shortcut runs down the right-hand side
    ax.plot([io_width / 2, right, right], [y_in, y_in, y_plus], color="#2f6f3e", linewidth=1.3)
    _arrow(ax, (right, y_plus), (0.17, y_plus), colour="#2f6f3e")
    shortcut = (
        "identity\nshortcut"
        if in_channels == out_channels
        else f"projection\nshortcut\n(1x1, {out_channels})"
    )
    ax.text(
        right + 0.08,
        (y_in + y_plus) / 2,
        shortcut,
        ha="left",
        va="center",
        fontsize=fontsize,
        color="#2f6f3e",
    )
    _arrow(ax, (0, y_plus - 0.17), (0, y_out + BOX_H / 2))
    _box(
        ax, 0, y_out, f"{out_channels}-d out", COLOURS["io"], width=io_width, fontsize=fontsize + 1
    )
    if note:
        ax.text(
            xs[0] - box_w / 2 if n > 1 else 0,
            y_out - 0.55,
            note,
            ha="left" if n > 1 else "center",
            va="top",
            fontsize=fontsize,
            color="#333333",
        )
    ax.set_xlim(min(xs[0] - box_w / 2, -io_width / 2) - 0.3, right + 1.3)
    ax.set_ylim(y_out - (1.1 if note else 0.5), y_in + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=fontsize + 3)
    return fig


def draw_basic_block(channels: int = 64, ax: Axes | None = None) -> Figure:
    """ResNet's basic block, two 3x3 convolutions (He et al. 2016, Fig. 5 left). Lesson 01."""
    return draw_paths(
        [(channels, 3, channels), (channels, 3, channels)],
        in_channels=channels,
        out_channels=channels,
        title="Basic block",
        ax=ax,
        note=f"conv weights: 2·3·3·{channels}·{channels} = {2 * 9 * channels * channels:,}",
    )


def draw_bottleneck(
    in_channels: int = 256,
    bottleneck_width: int = 64,
    out_channels: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """ResNet's bottleneck, 1x1 -> 3x3 -> 1x1 (He et al. 2016, Fig. 5 right; the paper's Fig. 1 left). Lesson 01."""
    return draw_resnext_block(
        1, bottleneck_width, in_channels=in_channels, out_channels=out_channels, ax=ax
    )


def draw_resnext_block(
    cardinality: int,
    bottleneck_width: int,
    *,
    in_channels: int = 256,
    out_channels: int | None = None,
    max_branches: int = MAX_BRANCHES,
    ax: Axes | None = None,
) -> Figure:
    """A ResNeXt block as C paths of width d (Fig. 1 right, Fig. 3(a)); C = 1 is ResNet's bottleneck. Lesson 02.

    The note under the block gives its conv weights by Eq. 4, C·(in·d + 3·3·d·d + d·out) (no BN, no shortcut).
    With ``out_channels`` different from ``in_channels`` the shortcut is labelled as a projection.
    """
    check_positive_int("bottleneck_width", bottleneck_width, "d is the width of each path.")
    C, d = cardinality, bottleneck_width
    out_channels = in_channels if out_channels is None else out_channels
    params = C * (in_channels * d + 9 * d * d + d * out_channels)
    if C == 1:
        title = f"ResNet bottleneck (width {d})"
        note = f"conv weights: {in_channels}·{d} + 3·3·{d}·{d} + {d}·{out_channels} = {params:,}"
    else:
        title = f"ResNeXt block: C = {C} paths of width d = {d}  (C·d = {group_width(C, d)})"
        note = (
            rf"$y = x + \sum_{{i=1}}^{{{C}}} \mathcal{{T}}_i(x)$  (Eq. 3)"
            "\n"
            f"conv weights (Eq. 4): {C}·({in_channels}·{d} + 3·3·{d}·{d} + {d}·{out_channels}) = {params:,}"
        )
    return draw_paths(
        [(in_channels, 1, d), (d, 3, d), (d, 1, out_channels)],
        cardinality=C,
        in_channels=in_channels,
        out_channels=out_channels,
        title=title,
        note=note,
        max_branches=max_branches,
        ax=ax,
    )


def show_images(
    images, labels, classes, *, n: int = 20, columns: int = 10, scale: float = 1.1
) -> Figure:
    """A grid of the first ``n`` images (uint8, shape (N, 3, H, W)) with their class names. Lesson 01."""
    n = min(n, len(images))
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(columns * scale, rows * (scale + 0.25)), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
            ax.set_title(classes[int(labels[i])], fontsize=8)
    fig.tight_layout()
    return fig


# GoogLeNet's module "inception (3a)" (Szegedy et al. 2015, Table 1): 192 channels in, four different paths,
# concatenated to 64 + 128 + 32 + 32 = 256 channels. Each path: its layers as (label, kind).
INCEPTION_3A = [
    [("192, 1x1, 64", "1x1")],
    [("192, 1x1, 96", "1x1"), ("96, 3x3, 128", "3x3")],
    [("192, 1x1, 16", "1x1"), ("16, 5x5, 32", "5x5")],
    [("3x3 max pool", "pool"), ("192, 1x1, 32", "1x1")],
]


def draw_inception_module(
    paths=INCEPTION_3A, in_channels: int = 192, ax: Axes | None = None
) -> Figure:
    """Inception's split-transform-merge (GoogLeNet's module 3a; lesson 02): paths of *different* shapes, merged by
    concatenation. ResNeXt keeps the split-transform-merge and gives every path the same shape (Eq. 2)."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.5, 4.2))
    else:
        fig = ax.figure
    colours = {**COLOURS, "5x5": "#f6d5e5", "pool": "#e2f0d9"}
    xs = [(i - (len(paths) - 1) / 2) * (1.6 + GAP) for i in range(len(paths))]
    y_in, y_out = 3.3, -0.3
    _box(ax, 0, y_in, f"{in_channels}-d in", COLOURS["io"], width=3.0, fontsize=10)
    out_channels = 0
    for i, (x, path) in enumerate(zip(xs, paths)):
        ys = [2.2 - 1.0 * j for j in range(len(path))]
        _arrow(ax, (x * 0.4, y_in - BOX_H / 2), (x, ys[0] + BOX_H / 2))
        for j, ((label, kind), y) in enumerate(zip(path, ys)):
            _box(ax, x, y, label, colours[kind], f"path-{i + 1}", 1.6, 9)
            if j + 1 < len(path):
                _arrow(ax, (x, y - BOX_H / 2), (x, ys[j + 1] + BOX_H / 2))
        _arrow(ax, (x, ys[-1] - BOX_H / 2), (x * 0.4, y_out + BOX_H / 2))
        out_channels += int(path[-1][0].rsplit(",", 1)[-1])
    _box(ax, 0, y_out, f"concatenate: {out_channels}-d out", COLOURS["io"], width=3.4, fontsize=10)
    ax.set_xlim(xs[0] - 1.1, xs[-1] + 1.1)
    ax.set_ylim(y_out - 0.5, y_in + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(
        "Inception's module (GoogLeNet, 3a): split, transform, merge with hand-designed paths",
        fontsize=11,
    )
    return fig

"""A labelled scatter map of projected words, drawn with matplotlib (the ``plot`` extra).

Readability over completeness: the figure grows with the number of words, the
font stays small, and a label that would overlap one already placed is tried
on the other sides of its point and dropped if none is free. Words are
labelled in the order given (most frequent first for ``--top``), so the
dropped labels are the rarer words in the crowded parts of the map; every
point is still drawn, and every word is in the CSV and JSON outputs.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from seqdl import SeqdlError
from seqdl.io import atomic_write

DPI = 150
FONT_SIZE = 7.0
#: Label offsets from the point in typographic points, with the alignment each needs: right, left, above, below.
_OFFSETS = ((2.5, 0.0, "left", "center"), (-2.5, 0.0, "right", "center"),
            (0.0, 2.5, "center", "bottom"), (0.0, -2.5, "center", "top"))
#: Figure area (left, bottom, width, height) taken by the map; fixed so label extents measured before saving hold.
_AXES_RECT = (0.02, 0.02, 0.96, 0.92)
#: Marker area in points squared; each dot keeps a free square of this side in pixels (labels may not cover it).
_DOT_SIZE = 14
_DOT_CLEARANCE = 6.0
#: Pixels kept free between two labels side by side, so neighbours do not read as one word.
_LABEL_GAP = 4.0


def require_matplotlib(task: str = "drawing a map"):
    """The matplotlib module, or a one-line :class:`SeqdlError` saying ``task`` needs it and how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise SeqdlError(f'{task} needs matplotlib: pip install "seqdl[plot]"') from None
    return matplotlib


def figure_size(xy: np.ndarray) -> tuple[float, float]:
    """Width and height in inches: the area grows with the word count so density stays readable,
    and the shape follows the map's so little of it is blank."""
    side = float(np.clip(3.0 + 0.6 * np.sqrt(len(xy)), 6.0, 30.0))
    span = np.maximum(np.ptp(xy, axis=0), 1e-9)
    aspect = float(np.clip(span[0] / span[1], 0.6, 1.6))
    return side * np.sqrt(aspect), side / np.sqrt(aspect)


def draw_map(words: Sequence[str], xy: np.ndarray, title: str = ""):
    """A matplotlib Figure with a dot per word at ``xy`` and as many labels as fit; returns (figure, labelled)."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = figure_size(xy)
    fig = Figure(figsize=(width, height), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes(_AXES_RECT)
    ax.set_axis_off()
    _set_equal_limits(ax, xy, width, height)
    ax.scatter(xy[:, 0], xy[:, 1], s=_DOT_SIZE, color="#1f77b4", alpha=0.7, linewidths=0)
    labelled = _place_labels(ax, canvas.get_renderer(), xy, words)
    if title:
        fig.text(0.5, 0.985, title, ha="center", va="top", fontsize=FONT_SIZE + 3)
    return fig, labelled


def write_map(path: str | os.PathLike, words: Sequence[str], xy: np.ndarray, fmt: str, title: str = "") -> int:
    """Draw the map (:func:`draw_map`) to ``path`` in format ``fmt`` ('png', 'svg', 'pdf'), atomically.

    Returns how many words got a label.
    """
    matplotlib = require_matplotlib(f"writing a .{fmt} map")
    fig, labelled = draw_map(words, xy, title)
    # svg.fonttype 'none' keeps labels as text in SVG: searchable and much smaller than glyph paths.
    with matplotlib.rc_context({"svg.fonttype": "none"}), atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=DPI)
    return labelled


def _set_equal_limits(ax, xy: np.ndarray, fig_width: float, fig_height: float) -> None:
    """Data limits with one unit the same length across and up, and a margin for labels at the edges."""
    width, height = _AXES_RECT[2] * fig_width, _AXES_RECT[3] * fig_height
    low, high = xy.min(axis=0), xy.max(axis=0)
    centre = (low + high) / 2
    span = np.maximum(high - low, 1e-9)
    per_inch = max(span[0] / width, span[1] / height) * 1.08
    ax.set_xlim(centre[0] - per_inch * width / 2, centre[0] + per_inch * width / 2)
    ax.set_ylim(centre[1] - per_inch * height / 2, centre[1] + per_inch * height / 2)


def _place_labels(ax, renderer, xy: np.ndarray, words: Sequence[str]) -> int:
    """Label each point on the first side where the label stays in the axes and covers no placed label
    and no other point's dot (so each label sits unambiguously by its own dot)."""
    points = ax.transData.transform(xy)
    frame = ax.get_window_extent(renderer)
    boxes = np.empty((len(words), 4))  # x0, y0, x1, y1 of placed labels, in pixels
    half = _DOT_CLEARANCE / 2
    dots = np.hstack([points - half, points + half])
    placed = 0
    for i, ((x, y), word) in enumerate(zip(xy, words)):
        label = ax.annotate(word, (x, y), xytext=_OFFSETS[0][:2], textcoords="offset points",
                            fontsize=FONT_SIZE, color="#222222", alpha=0.9)
        for dx, dy, ha, va in _OFFSETS:
            label.xyann = (dx, dy)
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            box = tuple(label.get_window_extent(renderer).extents)  # measured, so it matches what is drawn
            if not (frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1):
                continue
            spaced = (box[0] - _LABEL_GAP, box[1], box[2] + _LABEL_GAP, box[3])
            if _overlaps(boxes[:placed], spaced).any():
                continue
            covered = np.flatnonzero(_overlaps(dots, box))
            if covered.size and (covered.size > 1 or covered[0] != i):
                continue
            boxes[placed] = box
            placed += 1
            break
        else:
            label.remove()
    return placed


def _overlaps(boxes: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """Which rows of ``boxes`` (x0, y0, x1, y1) overlap ``box``."""
    return (boxes[:, 0] < box[2]) & (box[0] < boxes[:, 2]) & (boxes[:, 1] < box[3]) & (box[1] < boxes[:, 3])

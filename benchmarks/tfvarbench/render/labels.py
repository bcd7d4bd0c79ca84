"""What a reader checks on a chart, measured: no two labels of a panel overlap and none is cut (matplotlib's text extents)."""
from __future__ import annotations

from itertools import combinations
from typing import Any

__all__ = ["cut", "overlaps", "problems", "touching"]

# Extents touching by less than this (pixels) are not an overlap: antialiasing, not text on text.
_SLACK = 0.5


def _tick_labels(which: Any) -> list[Any]:
    """The visible, non-empty tick labels (major and minor) of one axis, inside its view."""
    low, high = sorted(which.get_view_interval())
    found = []
    for tick in [*which.get_major_ticks(), *which.get_minor_ticks()]:
        if low * (1 - 1e-9) <= tick.get_loc() <= high * (1 + 1e-9):  # a tick outside the view is not drawn
            found += [label for label in (tick.label1, tick.label2) if label.get_visible() and label.get_text().strip()]
    return found


def _pairs(texts: list[Any], renderer: Any) -> list[tuple[str, str]]:
    boxes = [(text, text.get_window_extent(renderer)) for text in texts]
    return [(_name(a), _name(b)) for (a, box_a), (b, box_b) in combinations(boxes, 2)
            if min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > _SLACK and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > _SLACK]


def touching(figure: Any, which: Any) -> list[tuple[str, str]]:
    """The pairs of one axis's tick labels that overlap (the figure drawn already)."""
    return _pairs(_tick_labels(which), figure.canvas.get_renderer())


def _texts(axis: Any) -> list[Any]:
    """The visible, non-empty texts a reader reads in one panel: tick labels of both axes (major and minor), legend entries, titles."""
    found = _tick_labels(axis.xaxis) + _tick_labels(axis.yaxis)
    legend = axis.get_legend()
    if legend is not None:
        found += [text for text in legend.get_texts() if text.get_text().strip()]
    found += [title for title in (axis.title, axis._left_title, axis._right_title) if title.get_text().strip()]
    return found


def _name(text: Any) -> str:
    return " ".join(text.get_text().split())


def overlaps(figure: Any) -> list[tuple[str, str]]:
    """Every pair of texts of one panel whose extents overlap, as their two strings."""
    renderer = figure.canvas.get_renderer()
    return [pair for axis in figure.axes if axis.get_visible() for pair in _pairs(_texts(axis), renderer)]


def cut(figure: Any, tight: bool = False) -> list[str]:
    """Every text shortened with an ellipsis, or reaching past the picture saved (the figure, or its tight box when saved tight)."""
    renderer = figure.canvas.get_renderer()
    area = figure.get_tightbbox(renderer).transformed(figure.dpi_scale_trans) if tight else figure.bbox
    found = []
    texts = [*figure.texts, *(text for axis in figure.axes if axis.get_visible() for text in _texts(axis))]
    for text in texts:
        box = text.get_window_extent(renderer)
        if text.get_text().rstrip().endswith("…"):
            found.append(_name(text))
        elif box.x0 < area.x0 - _SLACK or box.x1 > area.x1 + _SLACK or box.y0 < area.y0 - _SLACK or box.y1 > area.y1 + _SLACK:
            found.append(_name(text))
    return found


def problems(figure: Any, tight: bool = False) -> list[str]:
    """What a reader would trip over in `figure`, one line each (none: every label readable)."""
    figure.draw_without_rendering()  # lays the figure out as saving it does (constrained layout included)
    return [f"overlap: {a!r} and {b!r}" for a, b in overlaps(figure)] + [f"cut: {text!r}" for text in cut(figure, tight)]

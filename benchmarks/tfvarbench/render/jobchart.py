"""The charts beside the jobs' tables: a bar per way and size, each way labelled by what sets it apart from the others.

A family's ways share words ("embedding step: tape + ..."); cut to one width, that shared start is all
a label would show. So the words every way shares are said once, in the title, and each bar keeps the
rest in full, wrapped onto lines rather than cut. Tick labels come from one formatter (µs, ms, s), as
many as fit without touching (render/labels.py measures them).
"""
from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.answer import Answer, Row
from .glance import chart_name, row_in
from .labels import touching
from .plots import _pyplot, _seconds_formatter, y_range

__all__ = ["WRAP", "charts", "job_chart", "shared", "wrap"]

WRAP = 28  # characters a line of a bar's label; longer labels wrap (at 7 pt about 2 inches)
# What a mark on a way says, and its colour: the trap to avoid in red, the fastest in green.
MARKS = {"trap": "#b42318", "fastest": "#1a7f37"}


def shared(ways: Sequence[str]) -> tuple[str, str, list[str]]:
    """The words every way starts with, those every way ends with, and what is left of each way (at least a word).

    Whole words only: "tape + v.scatter_sub(...)" and "tape + v.assign_sub(...)" share "tape +", not "tape + v.".
    """
    if len(ways) < 2:
        return "", "", list(ways)
    words = [way.split(" ") for way in ways]
    fewest = min(len(w) for w in words)
    head = 0
    while head < fewest - 1 and len({w[head] for w in words}) == 1:
        head += 1
    tail = 0
    while tail < fewest - 1 - head and len({w[-1 - tail] for w in words}) == 1:
        tail += 1
    rests = [" ".join(w[head : len(w) - tail]) for w in words]
    return " ".join(words[0][:head]), " ".join(words[0][len(words[0]) - tail :]), rests


def wrap(text: str, width: int = WRAP) -> list[str]:
    """`text` in lines of at most `width`, broken after a space or after code's "(" or "," (never inside a name)
    where it can be; a piece longer than a line is split."""
    lines = [""]
    for piece in re.split(r"(?<=[ ,])|(?<=[^ ]\()", text):  # "f(" breaks after its bracket, " (" before it
        while len(piece) > width:
            lines += [piece[:width]]
            piece = piece[width:]
        if len((lines[-1] + piece).rstrip()) > width:
            lines.append("")
        lines[-1] += piece
    return [line.strip() for line in lines if line.strip()]


def _label(rest: str, mark: str) -> str:
    """A way's label: its own words in full, wrapped, and its mark on a line of its own."""
    return "\n".join(wrap(rest) + (wrap(f"({mark})") if mark else []))


def job_chart(ways: Sequence[str], sizes: Sequence[str], cells: Sequence[Sequence[tuple[float, float, float] | None]],
              marks: Sequence[str] = ()) -> bytes:
    """Beside a job's table: a bar per way (one colour per size), log time axis, whiskers from the lowest
    to the highest block median. `cells[i][j]` is way i at size j as (median, low, high) seconds, or None;
    `marks[i]` what is shown under way i's label and colours it ("trap", "fastest", "fastest at 1Mi"), or ""."""
    plt = _pyplot()
    head, tail, rests = shared(ways)
    marks = list(marks) + [""] * (len(ways) - len(marks))
    labels = [_label(rest, mark) for rest, mark in zip(rests, marks)]
    # Each way's slot holds its bars and its label's lines (about 0.13 inch a line at 7 pt).
    lines = max(label.count("\n") + 1 for label in labels)
    slot = max(0.075 * max(2, len(sizes)), 0.13 * lines + 0.06)
    columns = 3 if max(len(size) for size in sizes) <= 9 else 2  # a legend no wider than the bars
    legend_rows = math.ceil(len(sizes) / columns) if len(sizes) > 1 else 0
    figure, axis = plt.subplots(figsize=(2.2, 0.55 + 0.16 * legend_rows + slot * len(ways)))
    present = [c for row in cells for c in row if c]
    low, high = min(c[1] for c in present), max(c[2] for c in present)
    floor = y_range(low, high)[0]
    height = 0.8 / max(1, len(sizes))
    for j, size in enumerate(sizes):
        shown = [(i, row[j]) for i, row in enumerate(cells) if row[j]]
        axis.barh([i + j * height for i, _ in shown], [c[0] - floor for _, c in shown], height, left=floor, label=size, color=f"C{j % 10}",
                  xerr=np.array([[c[0] - c[1], c[2] - c[0]] for _, c in shown]).T, capsize=2, error_kw={"linewidth": 0.8})
    axis.set_xscale("log")
    axis.set_xlim(*y_range(low, high))
    axis.set_yticks([i + height * (len(sizes) - 1) / 2 for i in range(len(ways))], labels, fontsize=7)
    for tick, mark in zip(axis.get_yticklabels(), marks):
        if mark:
            tick.set_color(MARKS["trap" if mark == "trap" else "fastest"])
    axis.set_ylim(len(ways) - 0.1 - height / 2, -0.1 - height / 2)  # each way's bars fill 0.8 of its slot; the table's first row on top
    axis.tick_params(axis="x", labelsize=7)
    _time_ticks(figure, axis)
    axis.grid(True, axis="x", alpha=0.3)
    if len(sizes) > 1:  # above the bars, never over them
        axis.legend(fontsize=6, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=columns, frameon=False, borderaxespad=0.2)
    if head or tail:  # what every way shares, said once
        said = [f"every way starts “{head}”"] * bool(head) + [f"every way ends “{tail}”"] * bool(tail)
        axis.set_title("\n".join(line for part in said for line in textwrap.wrap(part, 44)), fontsize=7, loc="left", pad=4 + 12 * legend_rows)
    buffer = io.BytesIO()
    # A tight box: long labels widen the picture instead of squeezing the bars.
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight", pad_inches=0.05)
    plt.close(figure)
    return buffer.getvalue()


def _time_ticks(figure: Any, axis: Any) -> None:
    """Time ticks from one formatter, on no minor ticks: the most of 1-2-5, 1-3 or decades whose labels do not touch."""
    from matplotlib.ticker import LogLocator, NullLocator

    axis.xaxis.set_minor_locator(NullLocator())
    axis.xaxis.set_major_formatter(_seconds_formatter())
    for subs in ((1.0, 2.0, 5.0), (1.0, 3.0), (1.0,)):
        axis.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
        figure.draw_without_rendering()
        if not touching(figure, axis.xaxis):
            return


def charts(result: Answer) -> dict[str, bytes]:
    """Each table's chart, as {file name: PNG bytes}: a bar per way and size (per group of tied devices when they differ),
    the traps and the fastest way marked."""
    slow = {trap.slow for trap in result.traps}
    out = {}
    for table in result.tables:
        groups = table.groups
        series = [(group, size) for group in groups for size in table.sizes]
        names = [size if len(groups) == 1 else f"{group.devices[0]} {size}" for group, size in series]
        cells = []
        for row in groups[0].rows:
            mine = [(row_in(group, row), size) for group, size in series]
            cells.append([(c.median_s, c.low_s, c.high_s) if (c := (r.cells.get(size) if r else None)) else None for r, size in mine])
        # the fastest way of each series (size, per device group): where its cell is the column's fastest
        fastest = [[names[j] for j, (r, size) in enumerate(series) if (mine := row_in(r, row)) and size in mine.cells
                    and mine.cells[size].fastest] for row in groups[0].rows]
        marks = [_mark(row, where, names, slow) for row, where in zip(groups[0].rows, fastest)]
        out[chart_name(table)] = job_chart([row.label for row in groups[0].rows], names, cells, marks)
    return out


def _mark(row: Row, fastest: Sequence[str], names: Sequence[str], slow: set[str]) -> str:
    """"trap" for a way a trap names as the idiom; "fastest" (or "fastest at ..." where it is not everywhere); else ""."""
    op, variant, mode = row.identity
    if {row.label, f"{op}: {variant}".rstrip(": "), f"{op}: {variant} [{mode}]"} & slow:
        return "trap"
    if not fastest:
        return ""
    return "fastest" if len(fastest) == len(names) else f"fastest at {', '.join(fastest)}"

"""History as files: the CSV of every case's median run by run, a trend picture per case, and the steps found."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from ..analysis.history import Step
from ..runs import Run
from .document import Section
from .units import format_seconds

__all__ = ["series_csv", "steps_section", "trend_png"]


def series_csv(runs: Sequence[Run], table: dict[str, list[float | None]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case", "run_id", "datetime", "commit", "median_s"])
    for name, values in table.items():
        for run, value in zip(runs, values):
            if value is not None:
                writer.writerow([name, run.run_id, run.datetime, run.commit.get("id", ""), value])
    return buffer.getvalue()


def steps_section(runs: Sequence[Run], steps: dict[str, list[Step]]) -> Section:
    rows = tuple(
        (name, runs[step.at].run_id, f"{step.before:.4g}", f"{step.after:.4g}", f"{step.ratio:.3f}")
        for name, found in steps.items()
        for step in found
    )
    if not rows:
        return Section("Steps", 1, "No sustained steps.")
    return Section("Steps", 1, headers=("case", "from run", "before s", "after s", "ratio"), rows=rows)


def trend_png(name: str, values: Sequence[float | None], steps: Sequence[Step], figure: Any) -> bytes:
    """One case's medians run by run, steps marked; drawn on a reused figure (much cheaper than new ones)."""
    from matplotlib.ticker import FuncFormatter

    figure.clf()
    axis = figure.add_subplot()
    xs = [index for index, value in enumerate(values) if value is not None]
    axis.plot(xs, [values[index] for index in xs], "o-")
    for step in steps:
        axis.axvline(step.at - 0.5, color="C3", linestyle="--")
        axis.annotate(f"{step.ratio:.2f}×", (step.at - 0.5, step.after), color="C3", fontsize=8)
    axis.set_title(name, fontsize=9)
    axis.set_xlabel("run (commit order)")
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_seconds(value)))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=70)
    return buffer.getvalue()

"""A device comparison report from saved runs: merged cases, tables, cost models, limits, plots, HTML.

`write_report` is the one path from saved runs to a report directory; `pytest benchmarks` calls it
for each run, `tfvarbench report` for any set of runs from any machines.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..analysis.answer import Answer, answer
from ..analysis.crossovers import crossovers_of, row_crossovers
from ..analysis.guard import GuardCheck, check_runs
from ..analysis.model import Fit, fits_of
from ..runs import MARKER, Run, RunError, devices_of, identity_of, labelled_cases, pool, write_folder
from .document import Section, markdown
from . import glance, spent
from .findings import bandwidth_table, cost_model_table, fastest_table
from .plots import caption
from .tables import comparison_table, device_table, results_csv

__all__ = ["MARKER", "PICKS", "Report", "build_report", "merge", "write_report"]

PICKS = ("newest", "pooled")


def merge(runs: Sequence[Run], pick: str = "newest") -> list[dict[str, Any]]:
    """Cases of all runs, labelled by machine and device; repeats of a case on a device become one."""
    if pick not in PICKS:
        raise RunError(f"--pick {pick!r}: expected one of {', '.join(PICKS)}")
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in labelled_cases(runs):
        groups.setdefault((case["device_label"], *identity_of(case, ("device",))), []).append(case)
    merged = []
    for repeats in groups.values():
        newest_first = sorted(repeats, key=lambda case: case["run_datetime"], reverse=True)
        if pick == "newest":
            merged.append(newest_first[0])
        else:
            merged.append({**pool(newest_first), "pooled_runs": len(repeats)})
    return merged


@dataclass
class Report:
    """Everything a report directory holds, before it is written: pages as sections, files as text."""

    pages: dict[str, list[Section]]
    files: dict[str, str]
    fits: dict[tuple, tuple[Fit, dict[str, Any]]]
    images: dict[str, bytes]
    answer: Answer
    checks: list[GuardCheck]  # each device's figures against a plain loop in the same passes (analysis/guard.py)


def build_report(runs: Sequence[Run], pick: str = "newest", reference: str | None = None, plots: bool = True) -> Report:
    """Every page and file of a report, in memory; raises RunError for an unknown reference device."""
    cases = merge(runs, pick)
    devices = devices_of(cases)
    if reference is not None and reference not in devices:
        raise RunError(f"--reference {reference!r} is not a device in these runs; devices: {', '.join(devices)}")
    fits = fits_of(cases)
    found = answer(cases, {key: fit for key, (fit, _) in fits.items()}, crossovers_of(fits, cases), row_crossovers(fits))
    checks = check_runs(runs)
    # The order of the HTML page: what to use first, then the evidence.
    pages = {"summary.md": glance.sections(found, checks)}
    pages.update({f"{_slug(device)}.md": device_table(cases, device) for device in devices})
    pages["comparison.md"] = comparison_table(cases, reference)
    pages["fastest.md"] = fastest_table(cases)
    pages["cost-model.md"] = cost_model_table(fits)
    pages["bandwidth.md"] = bandwidth_table(cases)
    if spent.sections(runs):  # runs that counted where their time went
        pages["time.md"] = spent.sections(runs)
    images: dict[str, bytes] = {}
    if plots:
        from .jobchart import charts
        from .plots import draw_all

        images = {**charts(found), **draw_all(cases, {key: fit for key, (fit, _) in fits.items()})}
    from .html import page

    files = {name: markdown(sections) for name, sections in pages.items()}
    files["results.csv"] = results_csv(cases)
    files["index.html"] = page(pages, images, runs, {name: caption(name) for name in images})
    return Report(pages, files, fits, images, found, checks)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_")


def write_report(runs: Sequence[Run], out: str | Path, pick: str = "newest", reference: str | None = None, plots: bool = True) -> Report:
    """Build the report and write it to `out` (new, empty, or an earlier report), whole or not at all.

    Only the files an earlier report wrote are replaced (runs.files): the user's own stay.
    """
    report = build_report(runs, pick, reference, plots)
    write_folder(out, {**report.files, **report.images}, kind="report")
    return report

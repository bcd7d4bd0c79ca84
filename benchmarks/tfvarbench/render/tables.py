"""Tables from saved cases: one per device, a cross-device comparison, and a CSV.

Input is flat case dicts from `tfvarbench.runs` (never fixtures), so the same code serves the
tables written at the end of `pytest benchmarks` and reports rebuilt offline from saved files.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from ..analysis.reliable import UNRELIABLE, unreliable
from ..runs import IDENTITY, SIZES, case_key, devices_of, labelled_cases, variant_label
from .document import Section
from .units import column_unit, format_in, format_ratio, format_seconds

__all__ = ["UNRELIABLE_WORDS", "CSV_FIELDS", "comparison_table", "device_table", "devices_of", "labelled_cases", "results_csv"]

# The identity first (the axes), then what was measured, then where it ran.
CSV_FIELDS = (
    "device_label", *IDENTITY, "elements", "bytes",
    "median_s", "iqr_s", "rel_iqr", "mean_s", "min_s", "max_s", "rounds_measured", "iterations",
    "gbps", "first_call_s", "trace_count", "peak_device_bytes", "rss_growth_bytes", "calls",
    "device_kind", "devices", "host", "run_id",
)

# Modes whose first call does work the steady state does not (tracing, compilation): their first
# call is shown as its own table, since it is the cost a short-lived program actually pays.
FIRST_CALL_MODES = ("function", "xla")
ROW_AXES = ("op", "variant", "mode")


def _cell(case: dict[str, Any], unit: str) -> str:
    rel = case.get("rel_iqr")
    spread = f" ±{100 * rel:.1f}%" if rel is not None else ""
    return f"{format_in(case.get('median_s'), unit)}{spread}{' ?' if unreliable(case) else ''}"


def _row_label(case: dict[str, Any]) -> tuple[str, str, str]:
    return case["op"], variant_label(case), case.get("mode") or ""


def _by_size(members: Sequence[dict[str, Any]], sizes: Sequence[str], field: str, value: Any) -> tuple[tuple[str, ...], ...]:
    """One row per op/variant/mode, one cell per size; each size column in one unit (that of its smallest `field`)."""
    units = {size: column_unit(case.get(field) for case in members if case["size"] == size)[0] for size in sizes}
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for case in members:
        rows.setdefault(_row_label(case), {})[case["size"]] = value(case, units[case["size"]])
    return tuple((*label, *(cells.get(size, "–") for size in sizes)) for label, cells in rows.items())


def device_table(cases: Sequence[dict[str, Any]], device_label: str) -> list[Section]:
    """One device: a section per family and dtype; rows op/variant/mode, columns sizes."""
    mine = [case for case in cases if case["device_label"] == device_label]
    sections = [Section(device_label, 1, "Median time per call, ± relative IQR (interquartile range / median) across rounds. "
                        + UNRELIABLE_WORDS + " " + harness_note(mine))]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for case in mine:
        groups.setdefault((case["family"], case["dtype"]), []).append(case)
    for (family, dtype), members in groups.items():
        sizes = sorted({case["size"] for case in members}, key=lambda size: SIZES.get(size, 0))
        headers = (*ROW_AXES, *sizes)
        rows = _by_size(members, sizes, "median_s", _cell)
        reliability = _by_size(members, sizes, "median_s", lambda case, unit: "unreliable" if unreliable(case) else "")  # from the cases, as the ? is
        marks = tuple(("",) * len(ROW_AXES) + row[len(ROW_AXES):] for row in reliability)
        sections.append(Section(f"{family}, {dtype}", 2, headers=headers, rows=rows, marks=marks))
        traced = [case for case in members if case.get("mode") in FIRST_CALL_MODES and case.get("first_call_s")]
        if traced:
            rows = _by_size(traced, sizes, "first_call_s", lambda case, unit: format_in(case["first_call_s"], unit))
            sections.append(Section(f"{family}, {dtype}: first call (tracing, and XLA compilation for xla)", 3, headers=headers, rows=rows))
    return sections


# How a reader knows which figures the spread makes unreliable (analysis/reliable.py), said where the marks are explained.
UNRELIABLE_WORDS = (f"A figure of the per-device tables marked ? is unreliable: the 95% interval of its median (order statistics of its rounds) reaches "
                    f"more than {100 * UNRELIABLE:.0f}% from it, so timed again it could read that much higher or lower.")


def harness_note(cases: Sequence[dict[str, Any]]) -> str:
    """How much of the cheapest case the timing loop itself is (an empty body timed the same way)."""
    timed = [case for case in cases if case.get("harness_s") and case.get("median_s") and case.get("mode") != "reference"]
    if not timed:
        return ""
    cheapest = min(timed, key=lambda case: case["median_s"])
    harness = sorted(case["harness_s"] for case in timed)[len(timed) // 2]
    return (
        f"The timing loop itself (an empty body, timed the same way) costs {format_seconds(harness)} a call: "
        f"{100 * harness / cheapest['median_s']:.1f}% of the cheapest case here ({cheapest['op']}, {variant_label(cheapest)}, "
        f"{cheapest['size']}: {format_seconds(cheapest['median_s'])})."
    )


def comparison_table(cases: Sequence[dict[str, Any]], reference: str | None = None) -> list[Section]:
    """One row per case; each device's median and its ratio to the reference device (default: the first CPU)."""
    devices = devices_of(cases)
    reference = reference or devices[0]
    by_case: dict[tuple, dict[str, dict[str, Any]]] = {}
    for case in cases:
        by_case.setdefault(case_key(case), {})[case["device_label"]] = case
    headers = ["family", *ROW_AXES, "dtype", "size"]
    for device in devices:
        headers.append(f"{device} median")
        if device != reference:
            headers.append(f"{device} / {reference}")
    # One unit per device column: that of the column's smallest median.
    units = {device: column_unit(c.get("median_s") for c in cases if c["device_label"] == device)[0] for device in devices}
    rows = []
    for per_device in by_case.values():
        any_case = next(iter(per_device.values()))
        row = [any_case["family"], *_row_label(any_case), any_case["dtype"], any_case["size"]]
        base = per_device.get(reference, {}).get("median_s")
        for device in devices:
            median = per_device.get(device, {}).get("median_s")
            row.append(format_in(median, units[device]))
            if device != reference:
                row.append(format_ratio(median / base) if median and base else "–")
        rows.append(tuple(row))
    text = f"Median time per call on each device, and its ratio to {reference} (above 1 is slower)."
    return [Section("Device comparison", 1, text, tuple(headers), tuple(rows))]


def results_csv(cases: Sequence[dict[str, Any]]) -> str:
    """One CSV row per case per device, with the fields in CSV_FIELDS."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for case in cases:
        writer.writerow({name: case.get(name) for name in CSV_FIELDS})
    return buffer.getvalue()

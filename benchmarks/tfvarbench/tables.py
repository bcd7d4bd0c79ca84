"""Tables from saved cases: one Markdown table per device, a cross-device comparison, and a CSV.

Input is flat case dicts from `results` (never fixtures), so the same code serves the tables
written at the end of `pytest benchmarks` and reports rebuilt offline from saved files.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate

from .cases import SIZES
from .results import Run, case_key, variant_label

__all__ = [
    "CSV_FIELDS",
    "comparison_table",
    "device_table",
    "devices_of",
    "format_seconds",
    "labelled_cases",
    "results_csv",
]

CSV_FIELDS = (
    "device_label", "family", "case", "op", "variant", "mode", "dtype", "size", "elements", "bytes",
    "median_s", "iqr_s", "rel_iqr", "mean_s", "min_s", "max_s", "rounds_measured", "iterations",
    "gbps", "first_call_s", "trace_count", "peak_device_bytes", "rss_growth_bytes", "calls", "device",
    "device_kind", "replicas", "workers", "devices", "host", "run_id",
)


# Modes whose first call does work the steady state does not (tracing, compilation): their first
# call is shown as its own table, since it is the cost a short-lived program actually pays.
FIRST_CALL_MODES = ("function", "xla")


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit a person reads at a glance: 812 ns, 12.3 µs, 4.56 ms, 1.20 s."""
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def _cell(case: dict[str, Any]) -> str:
    rel = case.get("rel_iqr")
    spread = f" ±{100 * rel:.1f}%" if rel is not None else ""
    return f"{format_seconds(case.get('median_s'))}{spread}"


def labelled_cases(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """All cases of all runs, each with a device_label: the device, or host/device when hosts differ."""
    hosts = {run.host for run in runs}
    labelled = []
    for run in runs:
        for case in run.cases:
            device = case["device"]
            label = device if len(hosts) == 1 else f"{run.host}/{device}"
            description = run.describe(device)
            if len(hosts) > 1 and description and case.get("device_kind") != "CPU":
                label = f"{label} ({description})"
            labelled.append({**case, "device_label": label, "host": run.host, "run_id": run.run_id})
    return labelled


def devices_of(cases: Iterable[dict[str, Any]]) -> list[str]:
    """Device labels in first-seen order, CPUs first."""
    seen: dict[str, str] = {}
    for case in cases:
        seen.setdefault(case["device_label"], case.get("device_kind", ""))
    return sorted(seen, key=lambda label: (seen[label] != "CPU", list(seen).index(label)))


def _row_label(case: dict[str, Any]) -> tuple[str, str, str]:
    return case["op"], variant_label(case), case.get("mode") or ""


def device_table(cases: Sequence[dict[str, Any]], device_label: str) -> str:
    """Markdown for one device: a section per family and dtype; rows op/variant/mode, columns sizes."""
    mine = [case for case in cases if case["device_label"] == device_label]
    parts = [f"# {device_label}\n", "Median time per call, ± relative IQR (interquartile range / median) across rounds.\n"]
    sections: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for case in mine:
        sections.setdefault((case["family"], case["dtype"]), []).append(case)
    for (family, dtype), members in sections.items():
        sizes = sorted({case["size"] for case in members}, key=lambda size: SIZES.get(size, 0))
        rows: dict[tuple[str, str, str], dict[str, str]] = {}
        for case in members:
            rows.setdefault(_row_label(case), {})[case["size"]] = _cell(case)
        table = [[op, variant, mode, *(cells.get(size, "–") for size in sizes)] for (op, variant, mode), cells in rows.items()]
        parts.append(f"\n## {family}, {dtype}\n\n")
        parts.append(tabulate(table, headers=["op", "variant", "mode", *sizes], tablefmt="github"))
        parts.append("\n")
        traced = [case for case in members if case.get("mode") in FIRST_CALL_MODES and case.get("first_call_s")]
        if traced:
            firsts: dict[tuple[str, str, str], dict[str, str]] = {}
            for case in traced:
                firsts.setdefault(_row_label(case), {})[case["size"]] = format_seconds(case["first_call_s"])
            table = [[op, variant, mode, *(cells.get(size, "–") for size in sizes)] for (op, variant, mode), cells in firsts.items()]
            parts.append(f"\n### {family}, {dtype}: first call (tracing, and XLA compilation for xla)\n\n")
            parts.append(tabulate(table, headers=["op", "variant", "mode", *sizes], tablefmt="github"))
            parts.append("\n")
    return "".join(parts)


def comparison_table(cases: Sequence[dict[str, Any]], reference: str | None = None) -> str:
    """Markdown: one row per case; each device's median and its ratio to the reference device.

    The reference defaults to the first CPU. A ratio above 1 means slower than the reference.
    """
    devices = devices_of(cases)
    reference = reference or devices[0]
    by_case: dict[tuple, dict[str, dict[str, Any]]] = {}
    for case in cases:
        by_case.setdefault(case_key(case), {})[case["device_label"]] = case
    headers = ["family", "op", "variant", "mode", "dtype", "size"]
    for device in devices:
        headers.append(f"{device} median")
        if device != reference:
            headers.append(f"{device} / {reference}")
    table = []
    for key, per_device in by_case.items():
        any_case = next(iter(per_device.values()))
        op, variant, mode = _row_label(any_case)
        row = [any_case["family"], op, variant, mode, any_case["dtype"], any_case["size"]]
        base = per_device.get(reference, {}).get("median_s")
        for device in devices:
            median = per_device.get(device, {}).get("median_s")
            row.append(format_seconds(median))
            if device != reference:
                row.append(f"{median / base:.2f}×" if median and base else "–")
        table.append(row)
    intro = f"# Device comparison\n\nMedian time per call on each device, and its ratio to {reference} (above 1 is slower).\n\n"
    return intro + tabulate(table, headers=headers, tablefmt="github") + "\n"


def results_csv(cases: Sequence[dict[str, Any]]) -> str:
    """One CSV row per case per device, with the fields in CSV_FIELDS."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for case in cases:
        writer.writerow({name: case.get(name) for name in CSV_FIELDS})
    return buffer.getvalue()

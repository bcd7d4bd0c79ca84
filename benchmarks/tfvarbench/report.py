"""A device comparison report from saved runs: merged cases, tables, cost models, limits, plots, HTML.

`write_report` is the one path from saved runs to a report directory; `pytest benchmarks` calls it
for each run, `tfvarbench report` for any set of runs from any machines.
"""
from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from .cases import SIZES
from .model import Fit, crossover, fit_cost, host_copy_limits, model_key
from .results import Run, RunError, atomic_dir, case_key, pooled_stats, variant_label
from .tables import comparison_table, device_table, devices_of, format_seconds, labelled_cases, results_csv

__all__ = ["MARKER", "PICKS", "Report", "build_report", "merge", "write_report"]

PICKS = ("newest", "pooled")
# A file every report directory holds: --out may replace a directory that has it, never another.
MARKER = ".tfvarbench-report"


def _pool(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """One case from repeated runs of it: raw rounds pooled, statistics recomputed from them."""
    data = [value for case in cases for value in case.get("data") or []]
    pooled = dict(max(cases, key=lambda case: case.get("run_datetime", "")))
    if len(data) >= 2:
        pooled.update(pooled_stats(data, pooled.get("bytes")))
    pooled["pooled_runs"] = len(cases)
    return pooled


def merge(runs: Sequence[Run], pick: str = "newest") -> list[dict[str, Any]]:
    """Cases of all runs, labelled by machine and device; repeats of a case on a device become one."""
    if pick not in PICKS:
        raise RunError(f"--pick {pick!r}: expected one of {', '.join(PICKS)}")
    datetimes = {run.run_id: run.datetime for run in runs}
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in labelled_cases(runs):
        case["run_datetime"] = datetimes[case["run_id"]]
        groups.setdefault((case["device_label"], *case_key(case)), []).append(case)
    if pick == "newest":
        return [max(group, key=lambda case: case["run_datetime"]) for group in groups.values()]
    return [_pool(group) for group in groups.values()]


@dataclass
class Report:
    """Everything a report directory holds, as text, before it is written."""

    files: dict[str, str]
    fits: dict[tuple, Fit]
    images: dict[str, bytes]


def _fits(cases: Sequence[dict[str, Any]]) -> dict[tuple, Fit]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("mode") != "reference" and case.get("bytes"):
            groups.setdefault(model_key(case), []).append(case)
    fits = {}
    for key, members in groups.items():
        fit = fit_cost([c["bytes"] for c in members], [c["median_s"] for c in members])
        if fit is not None:
            fits[key] = fit
    return fits


def cost_model_table(fits: dict[tuple, Fit]) -> str:
    """Markdown: overhead, bandwidth and residual per fit, then crossovers for every device pair."""
    rows = [
        [family, op, variant, mode, dtype, device, f"{fit.overhead_s * 1e6:.3g}", "size-independent" if fit.size_independent else f"{fit.bandwidth_gbps:.3g}", f"{100 * fit.residual:.1f}%", fit.points]
        for (family, op, variant, mode, dtype, device), fit in fits.items()
    ]
    parts = [
        "# Cost model\n\ntime = overhead + bytes / bandwidth, fitted per op, mode, dtype and device over its sizes "
        "(robust fit on relative residuals; residual = median |relative miss|).\n\n",
        tabulate(rows, headers=["family", "op", "variant", "mode", "dtype", "device", "overhead µs", "bandwidth GB/s", "residual", "sizes"], tablefmt="github"),
        "\n\n## Crossovers\n\nFor each op and every pair of devices: the size from which one overtakes the other.\n\n",
    ]
    by_op: dict[tuple, dict[str, Fit]] = {}
    for (family, op, variant, mode, dtype, device), fit in fits.items():
        by_op.setdefault((family, op, variant, mode, dtype), {})[device] = fit
    crossings = []
    for key, per_device in by_op.items():
        devices = list(per_device)
        for i, first in enumerate(devices):
            for second in devices[i + 1 :]:
                _, sentence = crossover(per_device[first], per_device[second])
                crossings.append([*key[1:], first, second, sentence.replace("the first", first).replace("the second", second)])
    if crossings:
        parts.append(tabulate(crossings, headers=["op", "variant", "mode", "dtype", "first", "second", "crossover"], tablefmt="github"))
    else:
        parts.append("No op was measured on two devices.")
    return "".join(parts) + "\n"


def bandwidth_table(cases: Sequence[dict[str, Any]]) -> str:
    """Markdown: each case's effective GB/s and its fraction of a NumPy copy of the same size on its host.

    On a CPU, a figure above the copy of the same size cannot be a copy: TensorFlow's assign can take
    over the new tensor's buffer instead of copying it. Such rows say so instead of claiming the
    speed. GPU memory is not bounded by the host's copy bandwidth, so GPU rows show no fraction.
    """
    limits = host_copy_limits(cases)
    rows = []
    for case in cases:
        if case.get("mode") == "reference" or not case.get("gbps") or SIZES.get(case["size"], 0) < SIZES["1Ki"]:
            continue
        limit = limits.get((case["host"], int(case["bytes"])))
        fraction, note = "–", ""
        if limit and case.get("device_kind") == "CPU":
            share = case["gbps"] / limit
            fraction = f"{100 * share:.0f}%"
            if share > 1:
                note = "faster than a copy of this size: not a real copy (buffer handed over)"
        rows.append([case["device_label"], case["op"], variant_label(case), case.get("mode", ""), case["dtype"], case["size"], f"{case['gbps']:.3g}", fraction, note])
    copies = ", ".join(f"{host} {_size_of(nbytes)}: {gbps:.3g} GB/s" for (host, nbytes), gbps in sorted(limits.items()))
    intro = (
        "# Effective bandwidth\n\nBytes of the variable per call / median time. The limit is a NumPy copy of the "
        f"same number of bytes on the same host (reference case): {copies or 'not measured in these runs'}.\n\n"
    )
    return intro + tabulate(rows, headers=["device", "op", "variant", "mode", "dtype", "size", "GB/s", "of copy limit", "note"], tablefmt="github") + "\n"


def _size_of(nbytes: int) -> str:
    return next((f"{nbytes >> shift} {unit}" for shift, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")) if nbytes >= 1 << shift), f"{nbytes} B")


def fastest_table(cases: Sequence[dict[str, Any]]) -> str:
    """Markdown: for each op, mode, dtype and size, the fastest device and its margin over the next."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("mode") != "reference":
            groups.setdefault(case_key(case), []).append(case)
    rows = []
    for members in groups.values():
        ranked = sorted(members, key=lambda case: case["median_s"])
        best = ranked[0]
        margin = f"{ranked[1]['median_s'] / best['median_s']:.2f}× faster than {ranked[1]['device_label']}" if len(ranked) > 1 else "only device"
        rows.append([best["family"], best["op"], variant_label(best), best.get("mode", ""), best["dtype"], best["size"], best["device_label"], format_seconds(best["median_s"]), margin])
    return "# Fastest device\n\n" + tabulate(rows, headers=["family", "op", "variant", "mode", "dtype", "size", "fastest", "median", "margin"], tablefmt="github") + "\n"


def build_report(runs: Sequence[Run], pick: str = "newest", reference: str | None = None, plots: bool = True) -> Report:
    """Every file of a report, in memory; raises RunError for an unknown reference device."""
    cases = merge(runs, pick)
    devices = devices_of(cases)
    if reference is not None and reference not in devices:
        raise RunError(f"--reference {reference!r} is not a device in these runs; devices: {', '.join(devices)}")
    fits = _fits(cases)
    files = {f"{_slug(device)}.md": device_table(cases, device) for device in devices}
    files["comparison.md"] = comparison_table(cases, reference)
    files["fastest.md"] = fastest_table(cases)
    files["cost-model.md"] = cost_model_table(fits)
    files["bandwidth.md"] = bandwidth_table(cases)
    files["results.csv"] = results_csv(cases)
    images: dict[str, bytes] = {}
    if plots:
        from .plots import draw_all

        images = draw_all(cases, fits)
    files["index.html"] = _html(files, images, runs)
    files[MARKER] = "This directory is a tfvarbench report; `tfvarbench report --out` may replace it.\n"
    return Report(files, fits, images)


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_")


def _html(files: dict[str, str], images: dict[str, bytes], runs: Sequence[Run]) -> str:
    """One self-contained page: every Markdown table as HTML, every PNG inlined."""
    import html

    sections = []
    for name, text in files.items():
        if not name.endswith(".md"):
            continue
        blocks, table, prose = [], [], []
        for line in text.splitlines():
            if line.startswith("|"):
                table.append(line)
                continue
            if table:
                blocks.append(_markdown_table_html(table))
                table = []
            if line.startswith("#"):
                level = min(len(line) - len(line.lstrip("#")) + 1, 4)
                blocks.append(f"<h{level}>{html.escape(line.lstrip('# '))}</h{level}>")
            elif line.strip():
                prose.append(line)
                blocks.append(f"<p>{html.escape(line)}</p>")
        if table:
            blocks.append(_markdown_table_html(table))
        sections.append(f'<section id="{html.escape(name)}">' + "\n".join(blocks) + "</section>")
    pictures = [
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{base64.b64encode(data).decode()}"><figcaption>{html.escape(name)}</figcaption></figure>'
        for name, data in images.items()
        if name.endswith(".png")
    ]
    sources = "".join(f"<li>{html.escape(str(run.path))} ({html.escape(run.host)}, {html.escape(run.datetime)})</li>" for run in runs)
    style = "body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}th{background:#eee}img{max-width:100%}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>tfvarbench report</title><style>{style}</style></head><body>"
        f"<h1>tfvarbench report</h1><p>Runs:</p><ul>{sources}</ul><h1>Plots</h1>{''.join(pictures) or '<p>No plots.</p>'}"
        + "".join(sections)
        + "</body></html>\n"
    )


def _markdown_table_html(lines: list[str]) -> str:
    import html

    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines]
    header, body = rows[0], [row for row in rows[2:]]
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"


def write_report(runs: Sequence[Run], out: str | Path, pick: str = "newest", reference: str | None = None, plots: bool = True) -> list[Path]:
    """Build the report and write it to `out`, whole or not at all.

    `out` may be new, empty, or an earlier tfvarbench report (it holds MARKER); any other existing
    directory is refused, so a user's files are never replaced.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise RunError(f"{out}: exists and is not a tfvarbench report; choose a new --out directory")
    report = build_report(runs, pick, reference, plots)
    with atomic_dir(out) as staging:
        for name, text in report.files.items():
            (staging / name).write_text(text, encoding="utf-8")
        for name, data in report.images.items():
            (staging / name).write_bytes(data)
    return [out / name for name in [*report.files, *report.images] if name != MARKER]

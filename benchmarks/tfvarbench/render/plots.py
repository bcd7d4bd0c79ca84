"""Pictures of saved cases: time against size per op family (log-log, fitted model dashed), and modes per device."""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.model import Fit, model_key
from ..runs import variant_label
from .units import format_seconds, format_bytes

__all__ = ["draw_all", "modes_chart", "size_chart"]

MODES = ("eager", "function", "xla")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or wanted
    # Text in SVGs stays text instead of one path per glyph: smaller files, several times faster.
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, name: str) -> dict[str, bytes]:
    plt = _pyplot()
    # A fixed layout: tight_layout and bbox_inches="tight" each cost a full extra draw per figure.
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.1, top=0.9, wspace=0.35, hspace=0.5)
    out = {}
    for fmt in ("png", "svg"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=80, metadata={"Date": None} if fmt == "svg" else None)
        out[f"{name}.{fmt}"] = buffer.getvalue()
    plt.close(figure)
    return out


def _plain_log_labels(axis: Any) -> None:
    """Tick labels as '4 MiB' and '12 µs': readable, and far cheaper to draw than mathtext powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.xaxis.set_major_locator(LogLocator(base=1024))
    axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_bytes(value)))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: format_seconds(value)))
    axis.minorticks_off()  # hundreds of unlabelled minor ticks per panel cost most of the drawing time


def size_chart(family: str, cases: Sequence[dict[str, Any]], fits: dict[tuple, Fit]) -> dict[str, bytes]:
    """One panel per op/variant/mode/dtype of the family: median time vs bytes, a line per device
    (and per replica count, for replicated families, so the panel shows cost growing with replicas)."""
    plt = _pyplot()
    panels: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        panels.setdefault((case["op"], case.get("variant", ""), case.get("mode", ""), case["dtype"]), []).append(case)
    panels = {key: members for key, members in panels.items() if len({c["size"] for c in members}) >= 2}
    if not panels:
        return {}
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 3.6 * rows), squeeze=False)
    for axis, ((op, variant, mode, dtype), members) in zip(axes.flat, panels.items()):
        lines: dict[tuple, list[dict[str, Any]]] = {}
        for case in members:
            lines.setdefault((case["device_label"], variant_label(case)), []).append(case)
        for index, ((device, label), line) in enumerate(sorted(lines.items())):
            points = sorted((c["bytes"], c["median_s"]) for c in line)
            color = f"C{index % 10}"
            name = device + label[len(variant):] if label != variant else device
            axis.plot([p[0] for p in points], [p[1] for p in points], "o-", color=color, label=name)
            fit = fits.get(model_key(line[0]))
            if fit is not None:
                span = np.geomspace(fit.min_bytes, fit.max_bytes, 50)
                axis.plot(span, fit.predict(span), "--", color=color, alpha=0.7)
        axis.set_xscale("log")
        axis.set_yscale("log")
        _plain_log_labels(axis)
        axis.set_title(f"{op} ({variant}) [{mode}, {dtype}]", fontsize=8)
        axis.set_xlabel("bytes")
        axis.set_ylabel("time per call")
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle(f"{family}: time per call against size (dashed: fitted cost model)")
    return _save(figure, f"plot-{family}")


def modes_chart(cases: Sequence[dict[str, Any]]) -> dict[str, bytes]:
    """Bars of eager, tf.function and XLA for every op measured in more than one of those modes."""
    plt = _pyplot()
    groups: dict[tuple, dict[str, dict[str, float]]] = {}
    for case in cases:
        if case.get("mode") in MODES:
            key = (case["op"], variant_label(case), case["dtype"], case["size"])
            groups.setdefault(key, {}).setdefault(case["device_label"], {})[case["mode"]] = case["median_s"]
    groups = {key: per_device for key, per_device in groups.items() if any(len(modes) > 1 for modes in per_device.values())}
    if not groups:
        return {}
    figure, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.6), squeeze=False)
    for axis, ((op, variant, dtype, size), per_device) in zip(axes.flat, groups.items()):
        devices = sorted(per_device)
        width = 0.8 / len(MODES)
        for index, mode in enumerate(MODES):
            heights = [per_device[d].get(mode, 0.0) * 1e6 for d in devices]
            axis.bar(np.arange(len(devices)) + index * width, heights, width, label=mode, color=f"C{index}")
        axis.set_xticks(np.arange(len(devices)) + width, devices, fontsize=7, rotation=15)
        axis.set_ylabel("µs per call")
        axis.set_title(f"{op} [{dtype}, {size}]", fontsize=8)
        axis.legend(fontsize=7)
    figure.suptitle("eager vs tf.function vs XLA")
    return _save(figure, "plot-modes")


def draw_all(cases: Sequence[dict[str, Any]], fits: dict[tuple, Fit]) -> dict[str, bytes]:
    """Every chart of a report, as {file name: PNG or SVG bytes}."""
    images: dict[str, bytes] = {}
    for family in dict.fromkeys(case["family"] for case in cases if case.get("mode") != "reference"):
        images.update(size_chart(family, [c for c in cases if c["family"] == family], fits))
    images.update(modes_chart(cases))
    return images

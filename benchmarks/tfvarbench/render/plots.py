"""Pictures of saved cases: time against size per op family (log-log, fitted model dashed), and modes per device."""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..analysis.model import Fit, model_key
from ..runs import variant_label
from .units import column_unit

__all__ = ["MIN_SPAN", "caption", "draw_all", "modes_chart", "size_chart", "spread", "y_range"]

MODES = ("eager", "function", "xla")
# A log panel spans at least this factor (about 3 on either side of the data): a panel whose values
# differ by 3% must not fill its height with that 3%, which would show noise as a trend.
MIN_SPAN = 10.0
_MARGIN = 1.25  # room above and below the outermost point or whisker


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or wanted
    # Text in SVGs stays text instead of one path per glyph: smaller files, several times faster.
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, name: str) -> dict[str, bytes]:
    plt = _pyplot()
    out = {}
    for fmt in ("png", "svg"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=96, metadata={"Date": None} if fmt == "svg" else None)
        out[f"{name}.{fmt}"] = buffer.getvalue()
    plt.close(figure)
    return out


def spread(case: dict[str, Any]) -> tuple[float, float]:
    """How far the case's block medians (each a fresh process) reach below and above its median; (0, 0) without blocks."""
    blocks = [m for m in case.get("block_medians_s") or [] if m]
    if len(blocks) < 2:
        return 0.0, 0.0
    return max(0.0, case["median_s"] - min(blocks)), max(0.0, max(blocks) - case["median_s"])


def y_range(low: float, high: float) -> tuple[float, float]:
    """Log-axis limits around values from `low` to `high`, spanning at least MIN_SPAN, centred on the data."""
    centre = math.sqrt(low * high)
    half = math.sqrt(max(MIN_SPAN, (high / low) * _MARGIN**2))
    return centre / half, centre * half


def _short(value: float, units: Sequence[tuple[str, float]]) -> str:
    """A tick label: the largest unit the value reaches, no trailing zeros (50 µs, 1 MiB)."""
    unit, scale = next(((u, s) for u, s in units if value >= s * 0.999), units[-1])
    return f"{value / scale:.3g} {unit}"


_SECONDS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
_BYTES = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1))


def _log_axes(axis: Any, sizes: Sequence[float], low: float, high: float) -> None:
    """Log-log axes: x ticks at the sizes measured, y ticks on every decade (and 2, 5 within narrow panels)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.xaxis.set_major_locator(FixedLocator(sorted(set(sizes))))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _short(value, _BYTES)))
    bottom, top = y_range(low, high)
    axis.set_ylim(bottom, top)
    axis.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if top / bottom > 1000 else (1.0, 2.0, 5.0)))
    axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _short(value, _SECONDS)))
    # Unlabelled minor ticks add nothing to read and cost most of the drawing time.
    axis.xaxis.set_minor_locator(NullLocator())
    axis.yaxis.set_minor_locator(NullLocator())
    axis.grid(True, which="major", alpha=0.3)


def _grid(plt: Any, panels: int, panel_height: float) -> tuple[Any, Any]:
    """A figure of up to three panels a row, laid out so titles and labels never overlap."""
    columns = min(3, panels)
    rows = math.ceil(panels / columns)
    return plt.subplots(rows, columns, figsize=(4.6 * columns, panel_height * rows + 0.4), squeeze=False, layout="constrained")


def size_chart(family: str, cases: Sequence[dict[str, Any]], fits: dict[tuple, Fit]) -> dict[str, bytes]:
    """One panel per op/variant/mode/dtype of the family: median time vs bytes, a line per device
    (and per replica count, for replicated families, so the panel shows cost growing with replicas);
    whiskers reach the lowest and highest block median."""
    plt = _pyplot()
    panels: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        panels.setdefault((case["op"], case.get("variant", ""), case.get("mode", ""), case["dtype"]), []).append(case)
    panels = {key: members for key, members in panels.items() if len({c["size"] for c in members}) >= 2}
    if not panels:
        return {}
    figure, axes = _grid(plt, len(panels), 3.3)
    for axis, ((op, variant, mode, dtype), members) in zip(axes.flat, panels.items()):
        lines: dict[tuple, list[dict[str, Any]]] = {}
        for case in members:
            lines.setdefault((case["device_label"], variant_label(case)), []).append(case)
        for index, ((device, label), line) in enumerate(sorted(lines.items())):
            line.sort(key=lambda c: c["bytes"])
            color = f"C{index % 10}"
            name = device + label[len(variant):] if label != variant else device
            whiskers = np.array([spread(c) for c in line]).T
            axis.errorbar([c["bytes"] for c in line], [c["median_s"] for c in line], yerr=whiskers, fmt="o-",
                          color=color, label=name, capsize=3, markersize=4)
            fit = fits.get(model_key(line[0]))
            if fit is not None:
                span = np.geomspace(fit.min_bytes, fit.max_bytes, 50)
                axis.plot(span, fit.predict(span), "--", color=color, alpha=0.6, linewidth=1)
        low = min(c["median_s"] - spread(c)[0] for c in members)
        high = max(c["median_s"] + spread(c)[1] for c in members)
        _log_axes(axis, [c["bytes"] for c in members], low, high)
        axis.set_title(_panel_title(f"{op}: {variant}", f"[{mode}, {dtype}]"), fontsize=9)
        axis.set_xlabel("variable size (bytes)", fontsize=8)
        axis.set_ylabel("time per call", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.legend(fontsize=7, loc="upper left")
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle(f"{family}: time per call against size")
    return _save(figure, f"plot-{family}")


def caption(name: str) -> str:
    """What a plot file shows, in words, for the page's figure captions."""
    stem = name.rsplit(".", 1)[0].removeprefix("plot-")
    if stem == "modes":
        return ("The update step eager, under tf.function and under XLA, on each device: bars are median time per call, "
                "whiskers the lowest and highest block median.")
    return (f"The {stem} family: median time per call against the variable's size, one line per device, on log axes. "
            "Whiskers reach the lowest and highest block median (each block is a fresh process); "
            "dashed lines are the fitted cost model (overhead + bytes / bandwidth).")


def modes_chart(cases: Sequence[dict[str, Any]]) -> dict[str, bytes]:
    """Bars of eager, tf.function and XLA for every op measured in more than one of those modes,
    whiskers from the lowest to the highest block median; each panel in the unit of its smallest bar."""
    plt = _pyplot()
    groups: dict[tuple, dict[str, dict[str, dict[str, Any]]]] = {}
    for case in cases:
        if case.get("mode") in MODES:
            key = (case["op"], variant_label(case), case["dtype"], case["size"])
            groups.setdefault(key, {}).setdefault(case["device_label"], {})[case["mode"]] = case
    groups = {key: per_device for key, per_device in groups.items() if any(len(modes) > 1 for modes in per_device.values())}
    if not groups:
        return {}
    figure, axes = _grid(plt, len(groups), 3.2)
    for axis, ((op, variant, dtype, size), per_device) in zip(axes.flat, groups.items()):
        devices = sorted(per_device)
        unit, scale = column_unit(c["median_s"] for modes in per_device.values() for c in modes.values())
        width = 0.8 / len(MODES)
        for index, mode in enumerate(MODES):
            present = [(i, per_device[d][mode]) for i, d in enumerate(devices) if mode in per_device[d]]
            whiskers = np.array([spread(c) for _, c in present]).T / scale
            axis.bar([i + index * width for i, _ in present], [c["median_s"] / scale for _, c in present], width,
                     yerr=whiskers, capsize=3, label=mode, color=f"C{index}")
        axis.set_xticks(np.arange(len(devices)) + width, devices, fontsize=8)
        axis.set_ylabel(f"{unit} per call", fontsize=8)
        axis.tick_params(labelsize=8)
        axis.set_title(_panel_title(f"{op}: {variant}", f"[{dtype}, {size}]"), fontsize=9)
        axis.legend(fontsize=7)
    for axis in list(axes.flat)[len(groups) :]:
        axis.set_visible(False)
    figure.suptitle("eager vs tf.function vs XLA")
    return _save(figure, "plot-modes")


def _panel_title(way: str, where: str) -> str:
    """A panel's title wrapped to its width (about 46 characters at 9 pt), never cut."""
    import textwrap

    return "\n".join([*textwrap.wrap(way, 46, break_on_hyphens=False), where])


def _seconds_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: _short(value, _SECONDS))


def draw_all(cases: Sequence[dict[str, Any]], fits: dict[tuple, Fit]) -> dict[str, bytes]:
    """Every chart of a report, as {file name: PNG or SVG bytes}."""
    images: dict[str, bytes] = {}
    for family in dict.fromkeys(case["family"] for case in cases if case.get("mode") != "reference"):
        images.update(size_chart(family, [c for c in cases if c["family"] == family], fits))
    images.update(modes_chart(cases))
    return images

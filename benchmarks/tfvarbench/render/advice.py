"""The recommendations in words: the report's "What to use on this machine" and the end-of-run lines.

Every figure shown comes from the `Recommendations` data (`recommend.py`); nothing here ranks or decides.
"""
from __future__ import annotations

from collections.abc import Sequence

from .document import Section, markdown as document_markdown
from .jobs import label_of
from .rankings import Crossover, DeviceEdge, Ranking, Recommendations, Trap
from .recommend import size_key
from .units import format_bytes, format_ratio, format_seconds

__all__ = ["TITLE", "markdown", "sections", "short"]

TITLE = "What to use on this machine"


def _group_of(replicas: int | None, workers: int | None) -> str:
    parts = []
    if workers:
        parts.append(f"{workers} workers")
    if replicas:
        parts.append(f"{replicas} replica{'s' if replicas != 1 else ''}")
    return ", ".join(parts)


def _group(ranking: Ranking) -> str:
    return _group_of(ranking.replicas, ranking.workers)


def _where(ranking: Ranking, many_dtypes: bool) -> str:
    parts = [ranking.size] + ([ranking.dtype] if many_dtypes else []) + ([_group(ranking)] if _group(ranking) else [])
    return ", ".join(parts)


def _shown(rankings: Sequence[Ranking]) -> list[Ranking]:
    """The smallest and the largest size of each dtype and replica/worker group."""
    groups: dict[tuple, list[Ranking]] = {}
    for ranking in rankings:
        groups.setdefault((ranking.dtype, ranking.replicas, ranking.workers), []).append(ranking)
    shown = []
    for members in groups.values():
        ends = [members[0], members[-1]] if len(members) > 1 else members
        shown.extend(ends)
    return shown


def _verdict(ranking: Ranking) -> str:
    best = ranking.best
    ties = [way for way in ranking.tied_best if way is not best]
    text = f"`{best.label}` {format_seconds(best.median_s)}"
    if ties:
        text += " (tied within noise: " + ", ".join(f"`{w.label}` {format_seconds(w.median_s)}" for w in ties) + ")"
    common = ranking.common
    if common is None:
        text += "; the common idiom was not measured here"
    elif common is best:
        text += "; the common idiom is the fastest"
    elif ranking.speedup_tied:
        text += "; the common idiom is tied with the fastest"
    else:
        text += f"; {format_ratio(ranking.speedup)} faster than the common `{common.label}` ({format_seconds(common.median_s)})"
    return text


def _others(ranking: Ranking) -> str:
    rest = [way for way in ranking.ways if not way.tied_with_best]
    return "; ".join(f"`{w.label}` {format_seconds(w.median_s)} ({format_ratio(w.ratio_to_best)})" for w in rest)


def _trap_words(trap: Trap) -> str:
    slow, fast = trap.slow, trap.fast
    head = None  # what the trap is, when its words hold a colon before the cost
    if trap.key == "python_float_retrace":
        what = (f"a tf.function called with a new Python float each call retraces ({slow.trace_count} traces in {slow.calls} calls): "
                f"{format_ratio(trap.ratio)} slower than a tensor argument")
    elif trap.key == "reduce_retracing":
        what = (f"`reduce_retracing=True` does not stop Python floats retracing ({slow.trace_count} traces in {slow.calls} calls): "
                f"{format_ratio(trap.ratio)} slower than an `input_signature`")
    elif trap.key == "host_round_trip":
        what = f"the host round trip `{slow.variant}`: {format_ratio(trap.ratio)} slower than `{fast.op}(x)`"
    elif trap.key == "read_value":
        what = f"`{slow.op}(x, read_value=True)` (the default) when the value is not used: {format_ratio(trap.ratio)} slower than `read_value=False`"
    else:
        head = f"`{slow.label}` [{slow.mode}] against `{fast.label}` [{fast.mode}]"
        what = f"{head}: {format_ratio(trap.ratio)} slower"
    figures = f"{format_seconds(slow.median_s)} vs {format_seconds(fast.median_s)}, {trap.size}"
    if trap.tied:
        return f"{head or what.split(':')[0]}: tied within noise here ({format_ratio(trap.ratio)}, {figures})"
    return f"{what} ({figures})"


def _crossover_words(x: Crossover, device: str) -> str:
    other = x.second if x.first == device else x.first
    way = f"`{x.op}: {x.variant}` [{x.mode}, {x.dtype}]"
    if x.faster is None:
        return f"{way}: {other} and {device} tied within noise throughout (cost model)"
    if x.at_bytes is None:
        return f"{way}: {x.faster} is faster throughout the measured sizes (cost model)"
    return f"{way}: {x.faster} is faster from {format_bytes(x.at_bytes)} on (cost model)"


def _edge_words(edges: Sequence[DeviceEdge]) -> list[str]:
    by_other: dict[str, list[DeviceEdge]] = {}
    for edge in edges:
        by_other.setdefault(edge.other, []).append(edge)
    lines = []
    for other, mine in by_other.items():
        cells = []
        for edge in mine:
            verdict = "tied" if edge.tied else ("faster" if edge.ratio < 1 else "slower")
            where = ", ".join(filter(None, [edge.size, _group_of(edge.replicas, edge.workers)]))
            cells.append(f"{where} {verdict} ({format_ratio(edge.ratio)}: {format_seconds(edge.other_s)} vs {format_seconds(edge.this_s)})")
        lines.append(f"the same fastest way on {other}: " + "; ".join(cells))
    return lines



def sections(recommendations: Recommendations) -> list[Section]:
    """The "What to use on this machine" page: per device, per job, the fastest way, ties, device edges and traps."""
    floor = f"{100 * recommendations.tie_floor:.0f}%"
    intro = (
        "Median time per call, at the smallest and the largest size measured. Ways within "
        f"max({floor}, their combined noise) of each other are tied, not ranked: noise is the spread of a case's block "
        "medians (fresh processes), or its relative IQR when the run had no blocks. "
        "Ratios divide by the fastest way; the common idiom is what most code writes."
    )
    out = [Section(TITLE, 1, intro)]
    for device in recommendations.devices:
        out.append(Section(device.device, 2))
        for advice in device.jobs:
            job = advice.job
            common = next((r.common.label for r in advice.rankings if r.common), label_of(job.common))
            many_dtypes = len({r.dtype for r in advice.rankings}) > 1
            shown = _shown(advice.rankings)
            lines = []
            for ranking in shown:
                line = f"{_where(ranking, many_dtypes)}: fastest {_verdict(ranking)}."
                others = _others(ranking)
                line += f" Slower: {others}." if others else ""
                if ranking.baseline:
                    line += f" `{ranking.baseline.label}` {format_seconds(ranking.baseline.median_s)} is the baseline, {job.baseline_note}."
                lines.append(line)
            shown_sizes = {(r.dtype, r.size, r.replicas, r.workers) for r in shown}
            edges = [e for e in advice.versus if (e.dtype, e.size, e.replicas, e.workers) in shown_sizes]
            lines.extend(_edge_words(edges))
            lines.extend(_crossover_words(crossover, device.device) for crossover in advice.crossovers)
            out.append(Section(f"{job.title} (common idiom: `{common}`)", 3, bullets=tuple(lines)))
        if device.traps:
            out.append(Section(f"Traps on {device.device}", 3, bullets=tuple(_trap_words(t) for t in _shown_traps(device.traps))))
    return out


def markdown(recommendations: Recommendations) -> str:
    """The page as Markdown (summary.md); the HTML page renders the same sections."""
    return document_markdown(sections(recommendations))


def _shown_traps(traps: Sequence[Trap]) -> list[Trap]:
    """Each trap at its smallest and largest size (per dtype)."""
    groups: dict[tuple, list[Trap]] = {}
    for trap in traps:
        groups.setdefault((trap.key, trap.slow.op, trap.dtype), []).append(trap)
    shown = []
    for members in groups.values():
        members.sort(key=lambda trap: size_key(trap.size))
        shown.extend([members[0], members[-1]] if len(members) > 1 else members)
    return shown



def short(recommendations: Recommendations, max_lines: int = 20) -> list[str]:
    """The end-of-run terminal form, a few lines per device: each job at its largest size, then the worst of each trap.

    Every device gets an equal share of `max_lines`; a device with more to say ends its share with
    a line saying how many lines the report has beyond it.
    """
    devices = recommendations.devices
    if not devices:
        return []
    share = max(1, max_lines // len(devices))
    lines: list[str] = []
    for device in devices:
        mine = []
        for advice in device.jobs:
            ranking = max(advice.rankings, key=lambda r: (size_key(r.size), r.replicas or 0, r.workers or 0))
            best, common = ranking.best, ranking.common
            if common is None:
                gain = "common idiom not measured"
            elif common is best or ranking.speedup_tied:
                gain = f"the common {common.label} is as fast"
            else:
                gain = f"{format_ratio(ranking.speedup)} faster than the common {common.label}"
            mine.append(f"{device.device} {advice.job.title.lower()} ({_where(ranking, False)}): {best.label}, "
                        f"{format_seconds(best.median_s)}, {gain}")
        worst: dict[tuple, Trap] = {}
        for trap in device.traps:
            key = (trap.key, trap.slow.op)
            if not trap.tied and (key not in worst or trap.ratio > worst[key].ratio):
                worst[key] = trap
        for trap in worst.values():
            mine.append(f"{device.device} trap ({trap.size}): {trap.slow.label} is {format_ratio(trap.ratio)} slower than {trap.fast.label}")
        if len(mine) > share:
            hidden = len(mine) - (share - 1)
            mine = mine[: share - 1] + [f"{device.device}: {hidden} more lines in the report (What to use on this machine)"]
        lines.extend(mine)
    return lines[:max_lines]

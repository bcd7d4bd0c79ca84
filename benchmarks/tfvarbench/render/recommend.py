"""What to use on this machine: per device and per job done to a variable, the measured ways ranked, with traps.

Input is the flat, labelled case dicts of saved runs (`results.load_run(...).cases` passed through
`tables.labelled_cases`), and optionally device crossovers fitted by the cost model. `recommend`
returns data; `markdown` and `short` word it. Pure Python: no TensorFlow, no pytest.

Ranking: at every size measured (and per dtype, and per replica/worker count for replicated
variables), the ways of doing a job are sorted by median time per call. The common idiom of each
job is what most code writes (`JOBS`); the speedup is the common idiom's median over the best's.

Ties. A difference inside the cases' own noise is a tie, never a win. A case's noise is
  - the spread of its block medians, (max - min) / median, when the run had two or more blocks
    (each block is a fresh process, so this is how much the figure moves between processes);
  - otherwise its relative IQR across rounds (0 when unknown).
Two cases a (faster) and b are TIED when
    median_b / median_a - 1  <=  max(5%, sqrt(noise_a**2 + noise_b**2))
(noises of independent measurements combine in quadrature). The same rule separates ties from
wins between ways, between devices, and decides whether a trap costs anything on this machine.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .units import format_bytes, format_ratio, format_seconds

__all__ = [
    "JOBS",
    "TIE_FLOOR",
    "Crossover",
    "DeviceAdvice",
    "DeviceEdge",
    "Job",
    "JobAdvice",
    "Ranking",
    "Recommendations",
    "Trap",
    "Way",
    "markdown",
    "noise",
    "recommend",
    "short",
    "tied",
]

TIE_FLOOR = 0.05

# Sizes in the order the suite uses them (mirrors cases.SIZES; kept here so rendering needs no harness import).
_SIZE_ORDER = ("scalar", "1Ki", "64Ki", "1Mi", "16Mi")


def noise(case: dict[str, Any]) -> float:
    """The case's relative noise: block-median spread when it had blocks, else its relative IQR."""
    blocks = [m for m in case.get("block_medians_s") or [] if m]
    if len(blocks) >= 2 and case.get("median_s"):
        return (max(blocks) - min(blocks)) / case["median_s"]
    return float(case.get("rel_iqr") or 0.0)


def tied(fast_s: float, fast_noise: float, slow_s: float, slow_noise: float) -> bool:
    """Whether two medians are within max(5%, combined noise) of each other (see the module docstring)."""
    low, high = sorted((fast_s, slow_s))
    return high / low - 1 <= max(TIE_FLOOR, math.hypot(fast_noise, slow_noise))


# A selector matches a case: (family or None, op, variant or None, mode or None); None matches any.
Selector = tuple["str | None", str, "str | None", "str | None"]


@dataclass(frozen=True)
class Job:
    """Something a user does with a variable, the measured ways to do it, and its common idiom."""

    key: str
    title: str
    ways: tuple[Selector, ...]  # earlier selectors win when two families measure the same way
    common: Selector
    baseline: Selector | None = None  # shown beside the ranking, never ranked (it does not do the job)
    baseline_note: str = ""


JOBS: tuple[Job, ...] = (
    Job(
        "write", "Write new values",
        ways=(("assignment", "assign", None, None), ("assignment", "slice assign", None, None)),
        common=("assignment", "assign", "read_value=True", "eager"),  # assign's default
        baseline=("assignment", "rebind name", None, None),
        baseline_note="not a write: rebinds the Python name, the variable keeps its value",
    ),
    Job(
        "add", "Add to it",
        ways=(("assignment", "assign_add", None, None), ("assignment", "host round trip", None, None)),
        common=("assignment", "assign_add", "read_value=True", "eager"),  # assign_add's default
    ),
    Job(
        "gradient_step", "Apply a gradient step",
        ways=(("gradient", "update step", None, None), ("function", "update step", None, None)),
        common=("gradient", "update step", "tape + assign_sub(lr * g)", "eager"),  # the textbook eager step
    ),
    Job(
        "traced_call", "Call a tf.function whose inputs change",
        ways=(("function", "call", None, None),),
        common=("function", "call", "Python float argument, new value each call", "function"),
    ),
    Job(
        "mirrored", "Update a mirrored variable across replicas",
        ways=(("mirrored", "assign_add", None, None), ("mirrored", "sync-on-read", "replica-local assign_add", None),
              ("multiworker", "assign_add", None, None), ("multiworker", "sync-on-read", "replica-local assign_add", None)),
        common=(None, "assign_add", "aggregation=SUM", None),  # the aggregation that adds every replica's update
    ),
    Job(
        "host_copy", "Copy through the host",
        ways=(("assignment", "host round trip", None, None), ("assignment", "assign_add", None, None)),
        common=("assignment", "host round trip", None, None),  # v.assign(v.numpy() + x)
    ),
)


@dataclass(frozen=True)
class Crossover:
    """A fitted device crossover for one op (input, e.g. from `model.crossover`).

    `faster` is the device label that is faster from `at_bytes` on, or throughout the measured
    range when `at_bytes` is None; None means the two are within noise of each other throughout.
    """

    op: str
    variant: str
    mode: str
    dtype: str
    first: str
    second: str
    at_bytes: float | None
    faster: str | None


@dataclass(frozen=True)
class Way:
    """One measured way of doing a job at one size on one device."""

    label: str
    family: str
    case: str
    op: str
    variant: str
    mode: str
    median_s: float
    noise: float
    ratio_to_best: float  # median / the best way's median (1.0 for the best)
    tied_with_best: bool
    trace_count: int | None = None
    calls: int | None = None


@dataclass(frozen=True)
class Ranking:
    """The ways of a job at one dtype, size and replica/worker count, fastest first."""

    dtype: str
    size: str
    bytes: int | None
    replicas: int | None
    workers: int | None
    ways: tuple[Way, ...]
    common: Way | None
    speedup: float | None  # common idiom's median / the best's median
    speedup_tied: bool  # the best is within noise of the common idiom: no real speedup
    baseline: Way | None = None

    @property
    def best(self) -> Way:
        return self.ways[0]

    @property
    def tied_best(self) -> tuple[Way, ...]:
        return tuple(way for way in self.ways if way.tied_with_best)


@dataclass(frozen=True)
class DeviceEdge:
    """The best way of a ranking on this device against the same case on another device."""

    label: str
    dtype: str
    size: str
    replicas: int | None
    workers: int | None
    other: str
    this_s: float
    other_s: float
    ratio: float  # other / this: below 1 means the other device is faster
    tied: bool


@dataclass(frozen=True)
class Trap:
    """An idiom that costs more than the way it should be written, at one size."""

    key: str  # "python_float_retrace", "reduce_retracing", "host_round_trip", "read_value"
    slow: Way
    fast: Way
    dtype: str
    size: str
    ratio: float  # slow / fast
    tied: bool  # within noise: no cost on this machine


@dataclass(frozen=True)
class JobAdvice:
    job: Job
    rankings: tuple[Ranking, ...]
    versus: tuple[DeviceEdge, ...]
    crossovers: tuple[Crossover, ...]  # those involving this device and one of this job's ways


@dataclass(frozen=True)
class DeviceAdvice:
    device: str
    device_kind: str
    jobs: tuple[JobAdvice, ...]
    traps: tuple[Trap, ...]


@dataclass(frozen=True)
class Recommendations:
    devices: tuple[DeviceAdvice, ...]
    tie_floor: float = TIE_FLOOR


def _matches(case: dict[str, Any], selector: Selector) -> bool:
    family, op, variant, mode = selector
    return (family in (None, case.get("family")) and case.get("op") == op
            and variant in (None, case.get("variant")) and mode in (None, case.get("mode")))


def _size_key(size: str) -> int:
    return _SIZE_ORDER.index(size) if size in _SIZE_ORDER else len(_SIZE_ORDER)


def _label(case: dict[str, Any], show_mode: bool) -> str:
    label = f"{case['op']}: {case.get('variant') or ''}".rstrip(": ")
    return f"{label} [{case.get('mode')}]" if show_mode else label


def _identity(case: dict[str, Any]) -> tuple:
    """A way, independent of which family measured it."""
    return case.get("op"), case.get("variant"), case.get("mode")


def _way(case: dict[str, Any], best: dict[str, Any] | None, show_mode: bool) -> Way:
    ratio = case["median_s"] / best["median_s"] if best else 1.0
    same = best is None or tied(best["median_s"], noise(best), case["median_s"], noise(case))
    return Way(
        label=_label(case, show_mode), family=case["family"], case=case.get("case", ""), op=case["op"],
        variant=case.get("variant") or "", mode=case.get("mode") or "", median_s=case["median_s"], noise=noise(case),
        ratio_to_best=ratio, tied_with_best=same, trace_count=case.get("trace_count"), calls=case.get("calls"),
    )


def _job_cases(job: Job, cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases of a job on one device; a way measured by two families is kept from the first selector."""
    kept: dict[tuple, dict[str, Any]] = {}
    for selector in job.ways:
        for case in cases:
            if _matches(case, selector):
                key = (_identity(case), case["dtype"], case["size"], case.get("replicas"), case.get("workers"))
                kept.setdefault(key, case)
    return list(kept.values())


def _rankings(job: Job, cases: Sequence[dict[str, Any]], mine: list[dict[str, Any]]) -> list[tuple[Ranking, dict[str, Any]]]:
    show_mode = len({case.get("mode") for case in mine}) > 1
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in mine:
        groups.setdefault((case["dtype"], case.get("replicas"), case.get("workers"), case["size"]), []).append(case)
    out = []
    for (dtype, replicas, workers, size), members in sorted(
        groups.items(), key=lambda item: (item[0][0], item[0][2] or 0, item[0][1] or 0, _size_key(item[0][3]))
    ):
        members.sort(key=lambda case: case["median_s"])
        best = members[0]
        ways = tuple(_way(case, None if case is best else best, show_mode) for case in members)
        common_case = next((case for case in members if _matches(case, job.common)), None)
        common = next((way for way, case in zip(ways, members) if case is common_case), None)
        baseline = None
        if job.baseline:
            base = next((case for case in cases if _matches(case, job.baseline) and case["dtype"] == dtype
                         and case["size"] == size and case.get("replicas") == replicas and case.get("workers") == workers), None)
            baseline = _way(base, None, False) if base else None
        out.append((Ranking(
            dtype=dtype, size=size, bytes=best.get("bytes"), replicas=replicas, workers=workers, ways=ways,
            common=common, speedup=common.median_s / best["median_s"] if common else None,
            speedup_tied=common.tied_with_best if common else False, baseline=baseline,
        ), best))
    return out


def _versus(ranking: Ranking, best: dict[str, Any], device: str, all_cases: Sequence[dict[str, Any]]) -> list[DeviceEdge]:
    edges = []
    for other in all_cases:
        if other["device_label"] == device or other.get("family") != best["family"] or other.get("case") != best.get("case"):
            continue
        if (other["dtype"], other["size"], other.get("replicas"), other.get("workers")) != (
            ranking.dtype, ranking.size, ranking.replicas, ranking.workers
        ):
            continue
        edges.append(DeviceEdge(
            label=ranking.best.label, dtype=ranking.dtype, size=ranking.size, replicas=ranking.replicas,
            workers=ranking.workers, other=other["device_label"], this_s=best["median_s"], other_s=other["median_s"],
            ratio=other["median_s"] / best["median_s"],
            tied=tied(best["median_s"], noise(best), other["median_s"], noise(other)),
        ))
    return edges


# Traps: (key, slow selector, fast selector). Each is reported at every size where both were measured.
_TRAPS: tuple[tuple[str, Selector, Selector], ...] = (
    ("python_float_retrace", ("function", "call", "Python float argument, new value each call", None),
     ("function", "call", "tensor argument", None)),
    ("reduce_retracing", ("function", "call", "Python float argument, reduce_retracing=True", None),
     ("function", "call", "Python float argument, input_signature", None)),
    ("host_round_trip", ("assignment", "host round trip", None, None), ("assignment", "assign_add", "read_value=True", "eager")),
    ("read_value", ("assignment", "assign", "read_value=True", "eager"), ("assignment", "assign", "read_value=False", "eager")),
    ("read_value", ("assignment", "assign_add", "read_value=True", "eager"), ("assignment", "assign_add", "read_value=False", "eager")),
)


def _traps(mine: Sequence[dict[str, Any]]) -> list[Trap]:
    traps = []
    for key, slow_sel, fast_sel in _TRAPS:
        for slow in (case for case in mine if _matches(case, slow_sel)):
            fast = next((case for case in mine if _matches(case, fast_sel) and (case["dtype"], case["size"]) == (slow["dtype"], slow["size"])), None)
            if fast is None:
                continue
            traps.append(Trap(
                key=key, slow=_way(slow, None, False), fast=_way(fast, None, False), dtype=slow["dtype"], size=slow["size"],
                ratio=slow["median_s"] / fast["median_s"],
                tied=tied(fast["median_s"], noise(fast), slow["median_s"], noise(slow)),
            ))
    return traps


def _devices(cases: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for case in cases:
        seen.setdefault(case["device_label"], case.get("device_kind", ""))
    order = list(seen)
    return sorted(seen.items(), key=lambda item: (item[1] != "CPU", order.index(item[0])))


def recommend(cases: Sequence[dict[str, Any]], crossovers: Sequence[Crossover] = ()) -> Recommendations:
    """Per device (CPUs first) and per job in JOBS: rankings at every size, device comparisons, traps."""
    devices = []
    for device, kind in _devices(cases):
        on_device = [case for case in cases if case["device_label"] == device and case.get("median_s")]
        jobs = []
        for job in JOBS:
            mine = _job_cases(job, on_device)
            if not mine:
                continue
            pairs = _rankings(job, on_device, mine)
            versus = [edge for ranking, best in pairs for edge in _versus(ranking, best, device, cases)]
            identities = {_identity(case) + (case["dtype"],) for case in mine}
            relevant = tuple(
                x for x in crossovers
                if device in (x.first, x.second) and (x.op, x.variant, x.mode, x.dtype) in identities
            )
            jobs.append(JobAdvice(job=job, rankings=tuple(r for r, _ in pairs), versus=tuple(versus), crossovers=relevant))
        devices.append(DeviceAdvice(device=device, device_kind=kind, jobs=tuple(jobs), traps=tuple(_traps(on_device))))
    return Recommendations(devices=tuple(devices))


# ---- wording -------------------------------------------------------------------------------


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
    if trap.key == "python_float_retrace":
        what = (f"a tf.function called with a new Python float each call retraces ({slow.trace_count} traces in {slow.calls} calls): "
                f"{format_ratio(trap.ratio)} slower than a tensor argument")
    elif trap.key == "reduce_retracing":
        what = (f"`reduce_retracing=True` does not stop Python floats retracing ({slow.trace_count} traces in {slow.calls} calls): "
                f"{format_ratio(trap.ratio)} slower than an `input_signature`")
    elif trap.key == "host_round_trip":
        what = f"the host round trip `{slow.variant}`: {format_ratio(trap.ratio)} slower than `{fast.op}(x)`"
    else:
        what = f"`{slow.op}(x, read_value=True)` (the default) when the value is not used: {format_ratio(trap.ratio)} slower than `read_value=False`"
    figures = f"{format_seconds(slow.median_s)} vs {format_seconds(fast.median_s)}, {trap.size}"
    if trap.tied:
        return f"{what.split(':')[0]}: tied within noise here ({format_ratio(trap.ratio)}, {figures})"
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


def markdown(recommendations: Recommendations) -> str:
    """The "What to use on this machine" section: per device, per job, the fastest way and the traps."""
    floor = f"{100 * recommendations.tie_floor:.0f}%"
    parts = [
        "## What to use on this machine\n\n",
        "Median time per call, at the smallest and the largest size measured. Ways within "
        f"max({floor}, their combined noise) of each other are tied, not ranked: noise is the spread of a case's block "
        "medians (fresh processes), or its relative IQR when the run had no blocks. "
        "Ratios divide by the fastest way; the common idiom is what most code writes.\n",
    ]
    for device in recommendations.devices:
        parts.append(f"\n### {device.device}\n")
        for advice in device.jobs:
            job = advice.job
            common = next((r.common.label for r in advice.rankings if r.common), _label_of(job.common))
            parts.append(f"\n**{job.title}** (common idiom: `{common}`)\n\n")
            many_dtypes = len({r.dtype for r in advice.rankings}) > 1
            shown = _shown(advice.rankings)
            for ranking in shown:
                line = f"- {_where(ranking, many_dtypes)}: fastest {_verdict(ranking)}."
                others = _others(ranking)
                if others:
                    line += f" Slower: {others}."
                parts.append(line + "\n")
                if ranking.baseline:
                    parts.append(f"  - `{ranking.baseline.label}` {format_seconds(ranking.baseline.median_s)} is the baseline, {job.baseline_note}.\n")
            shown_sizes = {(r.dtype, r.size, r.replicas, r.workers) for r in shown}
            edges = [e for e in advice.versus if (e.dtype, e.size, e.replicas, e.workers) in shown_sizes]
            for words in _edge_words(edges):
                parts.append(f"- {words}\n")
            for crossover in advice.crossovers:
                parts.append(f"- {_crossover_words(crossover, device.device)}\n")
        if device.traps:
            parts.append("\n**Traps**\n\n")
            for trap in _shown_traps(device.traps):
                parts.append(f"- {_trap_words(trap)}\n")
    return "".join(parts)


def _shown_traps(traps: Sequence[Trap]) -> list[Trap]:
    """Each trap at its smallest and largest size (per dtype)."""
    groups: dict[tuple, list[Trap]] = {}
    for trap in traps:
        groups.setdefault((trap.key, trap.slow.op, trap.dtype), []).append(trap)
    shown = []
    for members in groups.values():
        members.sort(key=lambda trap: _size_key(trap.size))
        shown.extend([members[0], members[-1]] if len(members) > 1 else members)
    return shown


def _label_of(selector: Selector) -> str:
    _, op, variant, _ = selector
    return f"{op}: {variant}" if variant else op


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
            ranking = max(advice.rankings, key=lambda r: (_size_key(r.size), r.replicas or 0, r.workers or 0))
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

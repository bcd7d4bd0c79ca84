"""What to use on this machine: per device and per job done to a variable, the measured ways ranked, with traps.

Input is the flat, labelled case dicts of saved runs (`results.load_run(...).cases` passed through
`tables.labelled_cases`), and optionally device crossovers fitted by the cost model. `recommend`
returns data; `advice.markdown` and `advice.short` word it, and the jobs and traps it ranks are
catalogued in `jobs`. Pure Python: no TensorFlow, no pytest.

Ranking: at every size measured (and per dtype, and per replica/worker count for replicated
variables), the ways of doing a job are sorted by median time per call. The common idiom of each
job is what most code writes (`jobs.JOBS`); the speedup is the common idiom's median over the best's.

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
from typing import Any

from ..runs import SIZES
from .jobs import JOBS, TRAPS, Job, matches
from .rankings import Crossover, DeviceAdvice, DeviceEdge, JobAdvice, Ranking, Recommendations, Trap, Way

__all__ = [
    "TIE_FLOOR", "Crossover", "DeviceAdvice", "DeviceEdge", "JobAdvice", "Ranking", "Recommendations", "Trap", "Way",
    "noise", "recommend", "size_key", "tied",
]

TIE_FLOOR = 0.05


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


def size_key(size: str) -> int:
    """Sizes in the suite's order (scalar first); an unknown label last."""
    return SIZES.get(size, max(SIZES.values()) + 1)


def _label(case: dict[str, Any], show_mode: bool) -> str:
    label = f"{case['op']}: {case.get('variant') or ''}".rstrip(": ")
    if case.get("threads"):  # a run over several thread counts ranks each count's way
        label += f" [{case['threads']} thread{'s' if case['threads'] != 1 else ''}]"
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
            if matches(case, selector):
                key = (_identity(case), case["dtype"], case["size"], case.get("replicas"), case.get("workers"), case.get("threads"))
                kept.setdefault(key, case)
    return list(kept.values())


def _rankings(job: Job, cases: Sequence[dict[str, Any]], mine: list[dict[str, Any]]) -> list[tuple[Ranking, dict[str, Any]]]:
    show_mode = len({case.get("mode") for case in mine}) > 1
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in mine:
        groups.setdefault((case["dtype"], case.get("replicas"), case.get("workers"), case["size"]), []).append(case)
    out = []
    for (dtype, replicas, workers, size), members in sorted(
        groups.items(), key=lambda item: (item[0][0], item[0][2] or 0, item[0][1] or 0, size_key(item[0][3]))
    ):
        members.sort(key=lambda case: case["median_s"])
        best = members[0]
        ways = tuple(_way(case, None if case is best else best, show_mode) for case in members)
        common_case = next((case for case in members if matches(case, job.common)), None)
        common = next((way for way, case in zip(ways, members) if case is common_case), None)
        baseline = None
        if job.baseline:
            base = next((case for case in cases if matches(case, job.baseline) and case["dtype"] == dtype
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



def _traps(mine: Sequence[dict[str, Any]]) -> list[Trap]:
    traps = []
    for key, slow_sel, fast_sel in TRAPS:
        for slow in (case for case in mine if matches(case, slow_sel)):
            same = lambda case: (case["dtype"], case["size"], case.get("threads")) == (slow["dtype"], slow["size"], slow.get("threads"))  # noqa: E731
            fast = next((case for case in mine if matches(case, fast_sel) and same(case)), None)
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
    return Recommendations(devices=tuple(devices), tie_floor=TIE_FLOOR)


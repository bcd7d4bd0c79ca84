"""The one pooling of a case's repeats: the blocks of a run, and the runs of a side or of a report.

Every reader pools through `pool`, so a case pooled from three blocks of one run and one pooled
from two runs of three blocks are made by the same rules: every block's median kept, the headline
median = the median of those block medians, rounds pooled (their spread, IQR and raw data kept
for the tables and tests), first call = median of the repeats' first calls (each repeat built
the case afresh), the seconds spent in each phase of measuring it = their sum.
"""
from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .record import SavedCase, identity_of

__all__ = ["block_ids", "block_medians", "block_rounds", "merge_blocks", "pool", "pooled_stats"]


def pooled_stats(data: Sequence[float], bytes_moved: int | None = None) -> dict[str, Any]:
    """Statistics of pooled rounds, named as a loaded case names them (data kept in order)."""
    ordered = sorted(data)
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    pooled: dict[str, Any] = dict(
        median_s=median, iqr_s=q3 - q1, rel_iqr=(q3 - q1) / median, mean_s=statistics.fmean(data),
        min_s=ordered[0], max_s=ordered[-1], stddev_s=statistics.stdev(data), rounds_measured=len(data), data=list(data),
    )
    if bytes_moved:
        pooled["gbps"] = bytes_moved / median / 1e9
    return pooled


def block_medians(case: SavedCase) -> list[float]:
    """The medians of a case's blocks: those it pooled already, or its own (one block, or a run saved before blocks)."""
    return list(case.get("block_medians_s") or [case["median_s"]])


def block_rounds(case: SavedCase) -> list[list[float]]:
    """The rounds of each of a case's blocks: those it pooled already, or its own."""
    return [list(rounds) for rounds in case.get("block_rounds") or [case.get("data") or []]]


def block_ids(case: SavedCase) -> list[list[int | None]]:
    """[block, batch] of each of a case's blocks (batch: which batch of that block's process timed it; None when not saved)."""
    return [list(ids) for ids in case.get("block_ids") or [[case.get("block") or 1, case.get("batch")]]]


def pool(cases: Sequence[SavedCase]) -> SavedCase:
    """One case from repeats of it; the first repeat gives what describes one built case (calls, trace_count)."""
    pooled: dict[str, Any] = dict(cases[0])
    data = [value for case in cases for value in case.get("data") or [case["median_s"]]]
    if len(data) >= 2:
        pooled.update(pooled_stats(data, pooled.get("bytes")))
    firsts = [case["first_call_s"] for case in cases if case.get("first_call_s") is not None]
    medians = [median for case in cases for median in block_medians(case)]
    pooled.update(blocks=len(medians), block_medians_s=medians, first_call_s=statistics.median(firsts) if firsts else None)
    # Each block's own rounds and which block and batch of its process timed them: cases timed in the same
    # passes are compared round by round (analysis/ties.py).
    pooled.update(block_rounds=[rounds for case in cases for rounds in block_rounds(case)], block_ids=[i for case in cases for i in block_ids(case)])
    # The headline is the median of the blocks' medians: each process weighs the same, however
    # many rounds its calibration gave it (pooled rounds would let a block with more rounds win).
    pooled["median_s"] = statistics.median(medians)
    spent = [case["phase_s"] for case in cases if case.get("phase_s")]
    if spent:  # what the repeats cost, together
        pooled["phase_s"] = {name: sum(phases.get(name, 0.0) for phases in spent) for name in dict.fromkeys(n for p in spent for n in p)}
    if pooled.get("bytes"):
        pooled["gbps"] = pooled["bytes"] / pooled["median_s"] / 1e9
    pooled.pop("block", None)
    return pooled  # type: ignore[return-value]


def group(cases: Iterable[SavedCase], key: Callable[[SavedCase], tuple]) -> dict[tuple, list[SavedCase]]:
    """Cases by key, in first-seen order."""
    groups: dict[tuple, list[SavedCase]] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    return groups


def merge_blocks(cases: list[SavedCase]) -> list[SavedCase]:
    """One case per identity from a run's blocks. A run saved before blocks existed passes through unchanged."""
    merged = []
    for repeats in group(cases, identity_of).values():
        if len(repeats) == 1 and "block" not in repeats[0]:
            merged.append(repeats[0])
            continue
        case = pool(sorted(repeats, key=lambda case: case.get("block") or 0))
        for key in ("name", "fullname"):  # the case's name, not its first block's
            if case.get(key):
                case[key] = re.sub(r"-block\d+\]$", "]", case[key])  # type: ignore[literal-required]
        merged.append(case)
    return merged

"""The traps of `jobs.TRAPS` as figures: each idiom's cost against the way to write it, per size (and rows touched), devices merged where they tie.

Input: the timed labelled case dicts (`tables.labelled_cases`) and the devices in order. Out: `TrapFigure`
records that `answer` hands to `glance`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .jobs import TRAPS, matches
from .ties import Judge, size_key

__all__ = ["TrapFigure", "label", "traps"]


@dataclass(frozen=True)
class TrapFigure:
    """A trap at one size (and count of rows) on a group of devices whose figures tie: the idiom's cost against the way to write it."""
    key: str
    slow: str
    fast: str
    devices: tuple[str, ...]
    size: str
    ratio: float  # the idiom's median over the way's; listed only where the paired evidence says slower beyond the floor and the noise
    trace_count: int | None
    calls: int | None
    rows: int | None = None  # rows of a table touched per call, for a trap on a table
    threads: int | None = None  # TensorFlow's thread pools, when the run set them (--threads)


def label(case: dict[str, Any], show_mode: bool) -> str:
    """A way as the tables name it: `op: variant`, and its mode when ways of several modes are shown."""
    text = f"{case['op']}: {case.get('variant') or ''}".rstrip(": ")
    return f"{text} [{case.get('mode')}]" if show_mode else text


def _where(case: dict[str, Any]) -> tuple:
    """What makes the idiom and the way the same work: device, dtype, size, rows touched and thread count."""
    return case["device_label"], case["dtype"], case["size"], case.get("rows"), case.get("threads")


def traps(cases: Sequence[dict[str, Any]], devices: Sequence[str], judge: Judge | None = None) -> list[TrapFigure]:
    """Every trap of TRAPS measured in these cases where the idiom is slower than its fix beyond the floor and the noise
    (analysis/ties.py); a trap catalogued in several modes (or its two ways in two) names its mode."""
    judge = judge or Judge(cases)
    figures = []
    for key, slow_sel, fast_sel in TRAPS:
        show_mode = len({way[3] for k, slow, fast in TRAPS if k == key for way in (slow, fast)}) > 1  # eager against traced: say so
        pairs: dict[tuple, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for slow in (case for case in cases if matches(case, slow_sel)):
            fast = next((case for case in cases if matches(case, fast_sel) and _where(case) == _where(slow)), None)
            if fast is not None:
                pairs.setdefault(_where(slow)[1:], []).append((slow, fast))
        for (_, size, rows, threads), found in sorted(pairs.items(), key=lambda item: (item[0][0], size_key(item[0][1]), item[0][2] or 0, item[0][3] or 0)):
            found.sort(key=lambda pair: devices.index(pair[0]["device_label"]))
            merged: list[list[tuple[dict[str, Any], dict[str, Any]]]] = []
            for slow, fast in found:
                home = next((g for g in merged if all(judge.tied(a, b) for a, b in ((g[0][0], slow), (g[0][1], fast)))), None)
                (home.append((slow, fast)) if home is not None else merged.append([(slow, fast)]))
            for group in merged:
                slow, fast = group[0]
                cost = judge.difference(fast, slow)  # the idiom against its fix, paired
                if cost.verdict != "slower":  # no slower than its fix beyond the floor and the noise: no trap here
                    continue
                figures.append(TrapFigure(
                    key, label(slow, show_mode), label(fast, show_mode), tuple(s["device_label"] for s, _ in group), size,
                    slow["median_s"] / fast["median_s"], slow.get("trace_count"), slow.get("calls"), rows, threads,
                ))
    return figures

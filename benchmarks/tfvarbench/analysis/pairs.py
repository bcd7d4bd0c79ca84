"""Which runs of a comparison go together when the two sides were run alternately (`tfvarbench interleave`).

On a shared machine a case's speed drifts over minutes, and a run's blocks share its stretch of
time. Run one side after the other and the comparison measures that drift along with any change.
Run them alternately (B C C B ..., or B C B C ...) and each current run has a baseline run next to
it in time: the difference within each such pair has no drift to speak of, and the pairs'
differences vary by what is left. `pair_runs` finds those pairs from the runs' start times.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime

from ..runs import Run, case_name

__all__ = ["pair_runs", "round_paired"]


def _started(run: Run) -> datetime | None:
    try:
        return datetime.fromisoformat(run.datetime)
    except (TypeError, ValueError):
        return None


def pair_runs(baseline: Sequence[Run], current: Sequence[Run]) -> list[tuple[int, int]] | None:
    """(baseline index, current index) of each pair of runs next to each other in time, or None when the sides did not alternate.

    The runs of both sides, in the order they started, must come in twos of one baseline and one
    current run (B C C B B C ... or B C B C ...), at least two twos; otherwise (one run a side, a
    side run all at once, a run without a start time) the comparison is not paired.
    """
    if len(baseline) != len(current) or len(baseline) < 2:
        return None
    started = [(_started(run), "baseline", index) for index, run in enumerate(baseline)]
    started += [(_started(run), "current", index) for index, run in enumerate(current)]
    if any(time is None for time, _, _ in started):
        return None
    ordered = sorted(started, key=lambda entry: entry[0])  # type: ignore[arg-type,return-value]
    pairs = []
    for first, second in zip(ordered[::2], ordered[1::2]):
        if first[1] == second[1]:
            return None
        base, cur = (first, second) if first[1] == "baseline" else (second, first)
        pairs.append((base[2], cur[2]))
    return pairs


def _took_turns(run: Run) -> bool:
    return bool((run.machine.get("tfvarbench", {}).get("settings") or {}).get("turns"))


def round_paired(baseline: Sequence[Run], current: Sequence[Run]) -> dict[str, tuple[list[list[float]], list[list[float]]]]:
    """Block medians to judge for the cases whose pairs of blocks took turns round by round (`tfvarbench ab`, measure/turns.py).

    Round k of such a case was timed on one side a few milliseconds from round k on the other,
    so the pair's change is the median over k of log(current round / baseline round): the
    machine's speed, which here changes from second to second, cancels round by round instead of
    only on average. Each pair is returned as (baseline block median, baseline block median times
    that change), so the verdict takes the pairs' spread as it does for any pairs. A case is
    left out (and judged by its block medians) when any pair did not take turns, or holds more
    than one block, or its two blocks timed different numbers of rounds.
    """
    found: dict[str, tuple[list[list[float]], list[list[float]]]] = {}
    eligible: set[str] | None = None
    for before, after in zip(baseline, current):
        if not (_took_turns(before) and _took_turns(after)):
            return {}
        rounds = {case_name(case): case for case in after.cases}
        pair: set[str] = set()
        for case in before.cases:
            name, other = case_name(case), rounds.get(case_name(case))
            mine, theirs = case.get("data") or [], (other or {}).get("data") or []
            if other is None or len(mine) != len(theirs) or len(mine) < 2 or case.get("blocks", 1) != 1 or other.get("blocks", 1) != 1:
                continue
            if min(mine + theirs) <= 0:
                continue
            change = statistics.median(math.log(b / a) for a, b in zip(mine, theirs))
            sides = found.setdefault(name, ([], []))
            sides[0].append([case["median_s"]])
            sides[1].append([case["median_s"] * math.exp(change)])
            pair.add(name)
        eligible = pair if eligible is None else eligible & pair
    return {name: found[name] for name in eligible or ()}

"""Which runs of a comparison go together when the two sides were run alternately (`tfvarbench interleave`).

On a shared machine a case's speed drifts over minutes, and a run's blocks share its stretch of
time. Run one side after the other and the comparison measures that drift along with any change.
Run them alternately (B C C B ..., or B C B C ...) and each current run has a baseline run next to
it in time: the difference within each such pair has no drift to speak of, and the pairs'
differences vary by what is left. `pair_runs` finds those pairs from the runs' start times.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..runs import Run

__all__ = ["pair_runs"]


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

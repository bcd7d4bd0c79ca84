"""Trends across saved runs: one median per case per run, in commit order, and the steps in each series."""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ..runs import Run, case_name

__all__ = ["Step", "find_steps", "order_runs", "series"]


@dataclass(frozen=True)
class Step:
    """A sustained change: from run `at` on, the series sits at `after` instead of `before`."""

    at: int
    before: float
    after: float

    @property
    def ratio(self) -> float:
        return self.after / self.before


def order_runs(runs: Sequence[Run]) -> list[Run]:
    """Runs by commit time where the run recorded one, else by run date."""
    return sorted(runs, key=lambda run: str(run.commit.get("time") or run.datetime))


def series(runs: Sequence[Run]) -> dict[str, list[float | None]]:
    """Per case name, its median in each run (None where the run lacks the case)."""
    names = list(dict.fromkeys(case_name(c) for run in runs for c in run.cases if c.get("mode") != "reference"))
    by_run = [{case_name(c): c["median_s"] for c in run.cases} for run in runs]
    return {name: [medians.get(name) for medians in by_run] for name in names}


def find_steps(values: Sequence[float | None], threshold: float = 0.10, min_run: int = 3) -> list[Step]:
    """Steps in a series: points where the median of the next `min_run` values differs from the
    median of the previous `min_run` by more than `threshold`, and every one of the next
    `min_run` values is past the midpoint on the new side.

    Requiring a run of values on the new side is what tells a sustained change from one outlier:
    a single slow run moves one value, never `min_run` of them.
    """
    points = [(index, value) for index, value in enumerate(values) if value is not None]
    steps: list[Step] = []
    position = min_run
    while position <= len(points) - min_run:
        before = [value for _, value in points[position - min_run : position]]
        after = [value for _, value in points[position : position + min_run]]
        low, high = statistics.median(before), statistics.median(after)
        middle = (low + high) / 2
        changed = high > low * (1 + threshold) or high < low / (1 + threshold)
        sustained = all((value > middle) == (high > low) for value in after)
        if changed and sustained:
            steps.append(Step(points[position][0], low, high))
            position += min_run  # a step's own window cannot hold a second step
        else:
            position += 1
    return steps

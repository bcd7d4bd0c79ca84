"""Where a case's seconds go: building, first call, calibration, timing, verification, memory figures.

A run should spend its time timing. Each case counts the wall seconds of each phase of its
measurement here, and its record keeps them (`phase_s`), so a saved run says what it spent on
what (render/spent.py tabulates it). The clock is a parameter, so the counting is tested exactly.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["PHASES", "Phases", "shares"]

# In the order a case goes through them.
PHASES = ("build", "first_call", "calibrate", "timing", "verify", "memory")


class Phases:
    """Seconds per phase of one case, added up over every span spent in it."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Count the wall time of the block as `name`'s, whether it returns or raises."""
        if name not in self.seconds:
            raise ValueError(f"unknown phase {name!r}; phases: {', '.join(PHASES)}")
        start = self.clock()
        try:
            yield
        finally:
            self.seconds[name] += self.clock() - start

    def add(self, name: str, seconds: float) -> None:
        """Count `seconds` measured elsewhere (a case's share of the passes) as `name`'s."""
        self.seconds[name] += seconds

    def rounded(self) -> dict[str, float]:
        """The seconds as the record keeps them (microseconds are enough for a budget, and never negative)."""
        return {name: round(max(0.0, value), 6) for name, value in self.seconds.items()}


def shares(total: float, weights: list[float]) -> list[float]:
    """`total` seconds split in proportion to `weights` (equally when they are all zero).

    The passes give every case a round in turn, so one clock around all of them is split by what
    each case's own rounds measured (a warm-up round and the clock's syncs go with them): the
    timed loop itself reads no extra clock.
    """
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0:
        return [total / len(weights)] * len(weights)
    return [total * weight / whole for weight in weights]

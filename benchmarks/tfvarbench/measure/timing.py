"""How a case is timed: a clock that waits for device work, round calibration, and call counting (the calls are made in rounds.py)."""
from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Budget", "Plan", "Timing", "budget_of", "calibrate", "later_plan", "passes", "pedantic_calls", "queues_work", "sync_cost", "synced_clock", "timed_once"]


@functools.lru_cache(maxsize=1)
def queues_work() -> bool:
    """Whether this process has a device that runs ops after they return (any but a CPU); asked once, after the runtime started.

    Eager ops and tf.function calls on a CPU finish before they return, so there a wait finds
    nothing to wait for, yet sync_devices() cost about 38 µs a call here (0.8% of a 5 ms round)
    and read a 1Mi round 3-5% slower than a plain clock did (docs/timing.md, "What moves a figure").
    """
    import tensorflow as tf

    return any(device.device_type != "CPU" for device in tf.config.list_logical_devices())


def _sync() -> None:
    if not queues_work():
        return
    import tensorflow as tf

    tf.test.experimental.sync_devices()


def synced_clock() -> float:
    """perf_counter read after all queued device work has finished (in a process with a GPU or another queueing device).

    GPU ops return before the device is done; reading the clock without waiting would time the
    launch, not the work. pytest-benchmark reads its timer at both ends of a round, so each round
    pays one wait at its end, which calibration keeps under 1% of the round.
    """
    _sync()
    return time.perf_counter()


@dataclass(frozen=True)
class Budget:
    """How long to spend on one case: round length, total, and round-count bounds."""

    round_s: float = 0.01
    case_s: float = 0.3
    warmup_s: float = 0.02  # calibration has already run the body for a round or more
    min_rounds: int = 15
    max_rounds: int = 1000
    max_sync_fraction: float = 0.01


def budget_of(profile: Any) -> Budget:
    """The budget of a case under `profile` (a measure.cases.Profile: round and case seconds, a floor on rounds)."""
    # A floor on rounds above the usual cap (--benchmark-min-rounds) raises the cap with it.
    return Budget(round_s=profile.round_s, case_s=profile.case_s, min_rounds=profile.min_rounds, max_rounds=max(Budget.max_rounds, profile.min_rounds))


def passes(profile: Any) -> int:
    """Timed passes of a batch: every case gets this many rounds (the profile's time over its round length, at least its floor)."""
    budget = budget_of(profile)
    return min(budget.max_rounds, max(budget.min_rounds, math.ceil(budget.case_s / budget.round_s)))


@dataclass(frozen=True)
class Plan:
    """The calibrated shape of a measurement."""

    iterations: int
    rounds: int
    warmup_rounds: int
    round_s: float
    sync_s: float
    calibration_calls: int

    @property
    def sync_fraction(self) -> float:
        return self.sync_s / self.round_s if self.round_s else 0.0


@dataclass(frozen=True)
class Timing:
    """What one measurement did: how many times it called the body, and the last result."""

    calls: int
    plan: Plan | None
    result: Any


def sync_cost(samples: int = 50, clock: Callable[[], float] = time.perf_counter) -> float:
    """Median cost of one device synchronisation, in seconds."""
    costs = []
    for _ in range(samples):
        start = clock()
        _sync()
        costs.append(clock() - start)
    return statistics.median(costs)


def timed_once(body: Callable[[], Any], clock: Callable[[], float] = synced_clock) -> tuple[float, Any]:
    """Time one call of `body`, device work included."""
    start = clock()
    result = body()
    return clock() - start, result


def calibrate(
    body: Callable[[], Any], budget: Budget, sync_s: float, clock: Callable[[], float] = synced_clock, first_call_s: float | None = None
) -> Plan:
    """Find iterations per round so a round lasts at least budget.round_s and the sync is negligible.

    Given the first call's time, the search starts at the iterations that call time would fill
    half a round with: a first call is never faster than the ones after it (it also selects
    kernels, traces or compiles), so the start stays below the answer and most cases skip the
    tries of 1, 10, 100 calls.
    """
    floor = max(budget.round_s, sync_s / budget.max_sync_fraction)
    iterations, calls = 1, 0
    if first_call_s is not None and first_call_s > 0:
        iterations = max(1, min(10_000_000, int(floor / 2 / first_call_s)))
    while True:
        start = clock()
        for _ in range(iterations):
            body()
        elapsed = clock() - start
        calls += iterations
        if elapsed >= floor or iterations >= 10_000_000:
            break
        # Aim a little past the floor so the next try usually lands; never grow more than 10x.
        grow = 10 if elapsed <= 0 else min(10.0, max(1.5, 1.2 * floor / elapsed))
        iterations = math.ceil(iterations * grow)
    rounds = min(budget.max_rounds, max(budget.min_rounds, math.ceil(budget.case_s / elapsed)))
    warmup_rounds = max(1, math.ceil(budget.warmup_s / elapsed))
    return Plan(iterations, rounds, warmup_rounds, elapsed, sync_s, calls)


def pedantic_calls(benchmark: Any, plan: Plan) -> int:
    """Calls pytest-benchmark's pedantic() makes of the target for this plan.

    pedantic() calls the target once more after looped rounds to return a result, and again under
    --benchmark-cprofile. Counting them lets each case check the exact state the calls must leave.
    """
    calls = (plan.warmup_rounds + plan.rounds) * plan.iterations
    if plan.iterations > 1:
        calls += 1
    if getattr(benchmark, "cprofile", False):
        loops = getattr(benchmark, "cprofile_loops", None)
        calls += plan.iterations if loops is None else loops
    return calls


def later_plan(earlier: tuple[int, float | None], profile: Any, sync_s: float, measure_sync: Callable[[], float] | None) -> Plan:
    """An earlier block's iterations and round, whose size kept the sync under its share: a sync measured
    in a busy moment (once in CI, 0.4 ms against 5 ms rounds) is measured again, twice at most, the lowest kept."""
    round_s = earlier[1] or profile.round_s
    for _ in range(2):
        if measure_sync is None or sync_s <= budget_of(profile).max_sync_fraction * round_s:
            break
        sync_s = min(sync_s, measure_sync())
    return Plan(earlier[0], passes(profile), 1, round_s, sync_s, calibration_calls=0)

"""How a case is timed: on a shallow stack, gc off, with a clock that waits for device work, calibrated rounds, counted calls."""
from __future__ import annotations

import functools
import gc
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Budget", "Plan", "Timing", "calibrate", "loop_cost", "measure", "on_shallow_stack", "sync_cost", "synced_clock", "timed_once"]

T = TypeVar("T")


def _sync() -> None:
    import tensorflow as tf

    tf.test.experimental.sync_devices()


def synced_clock() -> float:
    """perf_counter read after all queued device work has finished.

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
    warmup_s: float = 0.05
    min_rounds: int = 15
    max_rounds: int = 1000
    max_sync_fraction: float = 0.01


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


def on_shallow_stack(work: Callable[[], T], device: str | None = None) -> T:
    """Run `work()` in a fresh thread, inside `tf.device(device)`, with gc off; return what it returns.

    Why: TensorFlow's eager fast path costs more the deeper the caller's Python stack (here an
    eager assign_add took 14 µs from a plain script and 18.6 µs from inside a pytest test, and
    14.6 µs again from a thread started in that test). A fresh thread's stack starts at
    threading's bootstrap, so every case is timed at the same shallow depth whatever pytest,
    pytest-benchmark and the harness add above it. Device scopes (and tapes, strategy scopes)
    are thread-local, so the device is entered again in the thread. gc is off for the whole
    measurement (first call, calibration, warm-up, rounds), so no round pays a collection.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        enabled = gc.isenabled()
        gc.disable()
        try:
            if device is None:
                outcome["result"] = work()
            else:
                import tensorflow as tf

                with tf.device(device):
                    outcome["result"] = work()
        except BaseException as error:  # noqa: BLE001 (re-raised in the caller's thread)
            outcome["error"] = error
        finally:
            if enabled:
                gc.enable()

    thread = threading.Thread(target=run, name="tfvarbench-timing", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@functools.lru_cache(maxsize=1)
def loop_cost(rounds: int = 15, calls: int = 20_000) -> float:
    """What the timing loop itself costs per call, once per process: an empty body timed the way bodies are.

    The loop is built as pytest-benchmark's pedantic runner builds it (`for _ in range: f(*args,
    **kwargs)`), on a shallow stack with gc off; the median of `rounds` rounds, in seconds.
    """

    def empty() -> None:
        return None

    def time_rounds() -> float:
        args: tuple = ()
        kwargs: dict = {}
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(calls):
                empty(*args, **kwargs)
            samples.append((time.perf_counter() - start) / calls)
        return statistics.median(samples)

    return on_shallow_stack(time_rounds)


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


def calibrate(body: Callable[[], Any], budget: Budget, sync_s: float, clock: Callable[[], float] = synced_clock) -> Plan:
    """Find iterations per round so a round lasts at least budget.round_s and the sync is negligible."""
    floor = max(budget.round_s, sync_s / budget.max_sync_fraction)
    iterations, calls = 1, 0
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


def _pedantic_calls(benchmark: Any, plan: Plan) -> int:
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


def measure(benchmark: Any, body: Callable[[], Any], budget: Budget) -> Timing:
    """Time `body` with pytest-benchmark's pedantic mode on a calibrated plan.

    With benchmarks disabled (--benchmark-disable) the body runs exactly once, unmeasured, which
    is what the correctness run of the suite wants.
    """
    if benchmark.disabled:
        return Timing(calls=1, plan=None, result=benchmark.pedantic(body))
    plan = calibrate(body, budget, sync_cost())
    result = benchmark.pedantic(body, rounds=plan.rounds, warmup_rounds=plan.warmup_rounds, iterations=plan.iterations)
    return Timing(calls=plan.calibration_calls + _pedantic_calls(benchmark, plan), plan=plan, result=result)

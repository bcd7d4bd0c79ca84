"""Where a case's calls are made: fresh threads, so the caller's Python stack is shallow and the same for every case.

Why: TensorFlow's eager fast path costs more the deeper the caller's Python stack (here an eager
assign_add took 14 µs from a plain script and 18.6 µs from inside a pytest test, and 14.6 µs again
from a thread started in that test). A thread's stack starts empty, so whatever pytest,
pytest-benchmark and the harness add above a case, its body is called from the same depth:
building, the first call and calibration in one fresh thread (`on_shallow_stack`), and every
warm-up and timed round from the top frame of another (`run_passes`, `run_rounds`), one frame
below the thread's start, as shallow as a plain script's loop. Device scopes (like tapes and
strategy scopes) are thread-local, so each thread enters the case's device again. gc is off
throughout.
"""
from __future__ import annotations

import _thread
import functools
import hashlib
import gc
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .timing import Budget, Plan, Timing, calibrate, pedantic_calls, sync_cost, synced_clock
from .turns import swap

__all__ = ["SETTLE_CALLS", "SETTLE_S", "Slot", "hand_over", "loop_cost", "measure", "on_shallow_stack", "pass_orders", "run_passes", "run_rounds", "settle_calls"]

# After another case's round, the first calls of a case pay for the caches, TLB entries and branch
# history the other case took over: measured here (docs/timing.md, "What a switch costs"), a scalar
# eager op's first call after a switch cost 1.4-12 times a steady call and its second up to 1.6
# times, and a 1Mi update needed three calls to settle (2-3.8x, 1.4-1.8x, 1.1-1.3x) whatever ran
# before it. Untimed, these calls keep a 5 ms round's figure within about 1% of a long plain loop's.
SETTLE_CALLS = 3
SETTLE_S = 0.002  # a call longer than this settles within fewer calls (its own data dwarfs the refill)


def settle_calls(per_call_s: float) -> int:
    """Untimed calls before each timed round of a case whose calls take `per_call_s`: 3, fewer for long calls, at least 1."""
    if per_call_s <= 0:
        return SETTLE_CALLS
    return min(SETTLE_CALLS, max(1, int(SETTLE_S / per_call_s)))

T = TypeVar("T")


def _in_fresh_thread(target: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Run target(*args, outcome) in a new thread (no Python frames above it) and wait; re-raise what it raised."""
    outcome: dict[str, Any] = {}
    done = _thread.allocate_lock()
    done.acquire()

    def start() -> None:
        enabled = gc.isenabled()
        gc.disable()  # no call pays a collection; process-wide, so restored by the thread that turned it off
        try:
            target(*args, outcome)
        except BaseException as error:  # noqa: BLE001 (re-raised in the caller's thread)
            outcome["error"] = error
        finally:
            if enabled:
                gc.enable()
            done.release()

    _thread.start_new_thread(start, ())
    done.acquire()
    if "error" in outcome:
        raise outcome["error"]
    return outcome


def _device_scope(device: str | None) -> Any:
    if device is None:
        return nullcontext()
    import tensorflow as tf

    return tf.device(device)


def _work(work: Callable[[], Any], device: str | None, outcome: dict[str, Any]) -> None:
    with _device_scope(device):
        outcome["result"] = work()


def on_shallow_stack(work: Callable[[], T], device: str | None = None) -> T:
    """Run `work()` in a fresh thread, inside `tf.device(device)`, with gc off; return what it returns."""
    return _in_fresh_thread(_work, work, device)["result"]


@dataclass
class Slot:
    """One case's place in the passes: its body, the calls a round makes, and what its rounds found.

    A body that raises stops taking part; the error is kept for its case to report (the other
    cases of the passes go on).
    """

    body: Callable[[], Any]
    iterations: int
    warmup_rounds: int = 0
    device: str | None = None
    settle: int = 0  # untimed calls before each timed round: the switch from another case's round is not timed (see settle_calls)
    key: str = ""  # the case's identity: where it falls in a shuffled pass (the same on both sides of an `ab` pair)
    then: Slot | None = None  # a slot whose round is always timed right after this one's (the guard's plain loop)
    data: list[float] = field(default_factory=list)
    result: Any = None
    calls: int = 0
    error: BaseException | None = None


def _passes(orders: list[list[Slot]], clock: Callable[[], float], fail_fast: bool, outcome: dict[str, Any]) -> None:
    # This is the thread's first frame ("start" only calls it): every body is called from here, at
    # depth 2, so the loop is written out here rather than in a helper (each frame above an eager
    # op adds to its cost). Pass -1 is the warm-up: each slot's warm-up rounds, untimed. Each timed
    # round starts with the slot's settle calls, untimed, after the turn is taken.
    for index, slots in enumerate(orders, -1):
        for slot in slots:
            repeats = slot.warmup_rounds if index < 0 else 1
            if slot.error is not None or not repeats:
                continue
            if index >= 0:
                swap()  # taking turns with the other side's block (turns.py): its round of this case is timed next to this one
            body, iterations = slot.body, slot.iterations
            try:
                with _device_scope(slot.device):
                    for _ in range(repeats):
                        if index >= 0:
                            for _ in range(slot.settle):
                                body()
                            slot.calls += slot.settle
                        started = clock() if index >= 0 else 0.0
                        for _ in range(iterations):
                            result = body()
                        if index >= 0:
                            slot.data.append((clock() - started) / iterations)
                        slot.calls += iterations
                        slot.result = result
            except Exception as error:  # noqa: BLE001 (kept for the slot's case to report; an interrupt stops everything)
                slot.error = error
                if fail_fast:
                    raise


def pass_orders(slots: list[Slot], rounds: int, shuffle: bool) -> list[list[Slot]]:
    """The order of the slots in the warm-up pass and in each timed pass, each slot followed by its `then`.

    Shuffled, each pass orders the slots by a hash of (its key, the pass): which case a round
    follows changes from pass to pass, so what one neighbour does to it (docs/timing.md, "What
    moves a figure") is averaged over its rounds instead of being the same in every block; two
    blocks with the same cases (an `ab` pair) shuffle them alike, and cases one side lacks do not
    move the others.
    """
    orders = []
    for index in range(-1, rounds):
        chosen = sorted(slots, key=lambda slot: hashlib.blake2b(f"{slot.key}/{index}".encode(), digest_size=8).digest()) if shuffle and index >= 0 else list(slots)
        orders.append([each for slot in chosen for each in (slot, slot.then) if each is not None])
    return orders


def run_passes(slots: list[Slot], rounds: int, clock: Callable[[], float] = synced_clock, fail_fast: bool = False, shuffle: bool = False) -> None:
    """Warm every slot up, then time `rounds` passes, each giving every slot one round, in a fresh thread.

    A slot's rounds are spread over all the passes: a burst of neighbour activity that lasts a
    second costs each case a round or two, which its median ignores, instead of every round of the
    few cases that happened to be timed during it. With `fail_fast`, the first body that raises
    stops the passes and its error is raised here (workers in lockstep cannot skip a case alone).
    With `shuffle`, each pass has its own order (`pass_orders`).
    """
    _in_fresh_thread(_passes, pass_orders(slots, rounds, shuffle), clock, fail_fast)


def run_rounds(body: Callable[[], Any], plan: Plan, device: str | None = None, clock: Callable[[], float] = synced_clock) -> tuple[list[float], Any]:
    """Warm-up rounds, then timed rounds of `plan.iterations` calls; (seconds per call of each round, the last result)."""
    slot = Slot(body, plan.iterations, plan.warmup_rounds, device)
    run_passes([slot], plan.rounds, clock)
    if slot.error is not None:
        raise slot.error
    return slot.data, slot.result


def hand_over(benchmark: Any, data: list[float], iterations: int) -> None:
    """Give rounds timed here to pytest-benchmark, as its own, so its tables and saved JSON hold them.

    pytest-benchmark has no public way to accept rounds timed by another loop: its stats object
    (`_make_stats`) is the one it fills itself, and `_mode` is how it knows the fixture was used.
    """
    stats = benchmark._make_stats(iterations)  # noqa: SLF001
    for per_call in data:
        stats.update(per_call * iterations)  # update() divides a round's time by iterations
    benchmark._mode = "tfvarbench rounds"  # noqa: SLF001


@functools.lru_cache(maxsize=1)
def loop_cost(rounds: int = 15, calls: int = 20_000) -> float:
    """What the rounds loop itself costs per call, once per process: an empty body through `run_rounds`."""

    def empty() -> None:
        return None

    data, _ = run_rounds(empty, Plan(calls, rounds, 1, 0.0, 0.0, 0), clock=time.perf_counter)
    return statistics.median(data)


def measure(benchmark: Any, body: Callable[[], Any], budget: Budget, device: str | None = None) -> Timing:
    """Time `body` on a calibrated plan, its rounds in a thread of their own (rounds.py), into pytest-benchmark's stats.

    With benchmarks disabled (--benchmark-disable) the body runs exactly once, unmeasured, which
    is what the correctness run of the suite wants. Under --benchmark-cprofile the rounds go
    through pytest-benchmark's pedantic(), which profiles them (its loop is a few frames deeper).
    """
    if benchmark.disabled:
        return Timing(calls=1, plan=None, result=benchmark.pedantic(body))
    plan = calibrate(body, budget, sync_cost())
    if getattr(benchmark, "cprofile", False):
        result = benchmark.pedantic(body, rounds=plan.rounds, warmup_rounds=plan.warmup_rounds, iterations=plan.iterations)
        return Timing(calls=plan.calibration_calls + pedantic_calls(benchmark, plan), plan=plan, result=result)
    data, result = run_rounds(body, plan, device)
    hand_over(benchmark, data, plan.iterations)
    return Timing(calls=plan.calibration_calls + (plan.warmup_rounds + plan.rounds) * plan.iterations, plan=plan, result=result)

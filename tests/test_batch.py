"""A block's cases timed together: passes that take turns, a failing case that fails alone, batches that fit in memory."""
from __future__ import annotations

import dataclasses
import gc
import itertools
import math
import time
from types import SimpleNamespace
from typing import Any

import pytest

from tfvarbench.measure import PROFILES, Family, Setup, Unsupported, VerificationError
from tfvarbench.measure.rounds import Slot, run_passes
from tfvarbench.measure.run import Spec, passes, run_batch
from tfvarbench.plugin.batches import batches

QUICK = PROFILES["quick"]
TINY = dataclasses.replace(QUICK, round_s=0.0005, case_s=0.002, min_rounds=3)


def test_passes_give_every_slot_one_round_in_turn_after_each_ones_warm_up() -> None:
    order: list[str] = []
    ticks = itertools.count()
    slots = [Slot(lambda name=name: order.append(name), iterations=2, warmup_rounds=warm) for name, warm in (("a", 1), ("b", 0), ("c", 2))]
    run_passes(slots, rounds=3, clock=lambda: float(next(ticks)))
    assert order == ["a"] * 2 + ["c"] * 4 + ["a", "a", "b", "b", "c", "c"] * 3
    assert [len(slot.data) for slot in slots] == [3, 3, 3]
    assert [slot.calls for slot in slots] == [8, 6, 10]
    assert all(value == 0.5 for slot in slots for value in slot.data)  # one tick a round of two calls


def test_a_slot_whose_body_raises_stops_and_keeps_its_error_while_the_others_go_on() -> None:
    calls = {"good": 0, "bad": 0}

    def good() -> int:
        calls["good"] += 1
        return calls["good"]

    def bad() -> None:
        calls["bad"] += 1
        if calls["bad"] == 3:
            raise RuntimeError("boom on call 3")

    slots = [Slot(bad, iterations=2), Slot(good, iterations=2)]
    run_passes(slots, rounds=4, clock=time.perf_counter)
    assert isinstance(slots[0].error, RuntimeError) and len(slots[0].data) == 1 and calls["bad"] == 3
    assert slots[1].error is None and len(slots[1].data) == 4 and slots[1].result == calls["good"] == 8


def test_an_interrupt_in_a_body_stops_the_passes() -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_passes([Slot(interrupted, iterations=1)], rounds=2, clock=time.perf_counter)


@pytest.mark.parametrize("loop", ["passes", "rounds"])
def test_every_round_calls_the_body_from_the_same_shallow_depth_however_deep_the_caller(loop: str) -> None:
    import sys

    from tfvarbench.measure.rounds import run_rounds
    from tfvarbench.measure.timing import Plan

    def depths(caller_depth: int) -> set[int]:
        seen: set[int] = set()

        def body() -> None:
            frame, depth = sys._getframe(), 0
            while frame is not None:
                depth, frame = depth + 1, frame.f_back
            seen.add(depth)

        def descend(n: int) -> None:
            if n:
                return descend(n - 1)
            if loop == "passes":
                run_passes([Slot(body, 2, 1), Slot(body, 1, 0)], rounds=2, clock=time.perf_counter)
            else:
                run_rounds(body, Plan(iterations=3, rounds=2, warmup_rounds=1, round_s=0.0, sync_s=0.0, calibration_calls=0), clock=time.perf_counter)

        descend(caller_depth)
        return seen

    assert depths(0) == depths(60) and max(depths(0)) <= 3  # the body, the loop, the thread's start


def _family(*builders: Any) -> Family:
    family = Family("test")
    for build in builders:
        family.case("op", build.__name__)(build)
    return family


def adds(s: Setup):
    v, x = s.variable(0), s.tensor(1)
    s.expect(v, s.adds(0, 1))
    return lambda: v.assign_add(x, read_value=False)


def forgets(s: Setup):
    v, x = s.variable(0), s.tensor(1)
    s.expect(v, s.adds(0, 1))
    return lambda: v.read_value() + x  # computes, never writes: its check must fail


PASSES_STARTED = {"now": False}


def breaks(s: Setup):
    v = s.variable(0)
    s.expect(v, lambda n: 0)

    def body() -> None:
        if PASSES_STARTED["now"]:
            raise ValueError("body broke in the passes")

    return body


def no_kernel(s: Setup):
    raise Unsupported("op has no float32 kernel on CPU:0")


def test_a_batch_verifies_each_case_by_its_own_calls_and_fails_only_the_wrong_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    import tfvarbench.measure.run as run

    def passes_that_say_so(*args: Any, **kwargs: Any) -> None:
        PASSES_STARTED["now"] = True
        run_passes(*args, **kwargs)

    monkeypatch.setattr(run, "run_passes", passes_that_say_so)
    monkeypatch.setitem(PASSES_STARTED, "now", False)
    family = _family(adds, forgets, breaks, no_kernel)
    specs = [Spec(case, "CPU:0", "1Ki", "float32", 2) for case in family.cases]
    good, wrong, broken, unsupported = run_batch(specs, TINY)
    record = good.record
    assert good.error is None and record is not None and (record["checked"]["values"] > 0 and record["checked"]["calls"] == record["calls"]) and record["block"] == 2
    assert record["rounds"] == passes(TINY) == len(good.data) and good.iterations == record["iterations"]
    assert record["interleaved_with"] == 2  # the others that reached the passes: not the one without a kernel
    # calls: the first, calibration, warm-up and every round, all counted, or the check above would have failed
    assert record["calls"] > record["rounds"] * record["iterations"]
    assert isinstance(wrong.error, VerificationError) and wrong.record is None
    assert isinstance(broken.error, ValueError) and "in the passes" in str(broken.error) and broken.record is None
    assert isinstance(unsupported.error, Unsupported)


def test_passes_follow_the_profile_with_its_floor() -> None:
    assert passes(QUICK) == max(QUICK.min_rounds, math.ceil(QUICK.case_s / QUICK.round_s))
    assert passes(dataclasses.replace(QUICK, min_rounds=30)) == 30
    assert passes(dataclasses.replace(QUICK, case_s=1.0, round_s=0.01)) == 100


def _item(size: str, dtype: str = "float32", device: str = "CPU:0", skipped: bool = False, fixture: str = "measured_case") -> Any:
    params = {"case": None, "device": device, "size": size, "dtype": dtype, "block": 1}
    return SimpleNamespace(
        callspec=SimpleNamespace(params=params), fixturenames=[fixture], nodeid=f"{size}-{dtype}-{device}-{skipped}-{fixture}",
        get_closest_marker=lambda name: object() if skipped and name == "skip" else None,
    )


def test_batches_keep_test_order_fit_the_memory_limit_and_leave_out_what_is_not_timed_here() -> None:
    items = [_item("1Mi"), _item("scalar"), _item("1Mi", skipped=True), _item("1Mi", "float64", "CPU:0+CPU:1"), _item("1Ki", fixture="worker_case"), _item("16Mi")]
    # 1Mi float32: 4 copies of 4 MiB = 16 MiB; on two replicas in float64, 64 MiB; 16Mi float32: 256 MiB
    assert [[i.nodeid for i in batch] for batch in batches(items, limit=100 << 20)] == [
        [items[0].nodeid, items[1].nodeid, items[3].nodeid], [items[5].nodeid]
    ]
    assert len(batches(items, limit=1)) == 4  # a case larger than the limit still gets a batch of its own
    assert len(batches(items)) == 1


def test_every_call_of_every_round_runs_with_gc_off_and_gc_is_back_on_after() -> None:
    # what a record's gc="off" says: the passes turn the collector off for every call, settle calls too
    seen: list[bool] = []
    assert gc.isenabled()
    run_passes([Slot(lambda: seen.append(gc.isenabled()), iterations=3, warmup_rounds=1, settle=2)], rounds=4, clock=time.perf_counter)
    assert len(seen) == 3 + 4 * (2 + 3) and not any(seen)
    assert gc.isenabled()

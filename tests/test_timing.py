"""Calibration: rounds long enough for the budget and for the device sync to be negligible."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from tfvarbench.measure.timing import Budget, Plan, pedantic_calls, calibrate


class FakeClock:
    """A clock that advances `per_call` seconds for every body call."""

    def __init__(self, per_call: float) -> None:
        self.now = 0.0
        self.per_call = per_call

    def __call__(self) -> float:
        return self.now

    def body(self) -> None:
        self.now += self.per_call


def test_calibration_grows_rounds_to_the_round_budget() -> None:
    clock = FakeClock(per_call=1e-5)
    plan = calibrate(clock.body, Budget(round_s=0.01, case_s=0.2, min_rounds=5), sync_s=1e-6, clock=clock)
    assert plan.round_s >= 0.01 and plan.iterations * 1e-5 == pytest.approx(plan.round_s)
    assert plan.rounds == math.ceil(0.2 / plan.round_s)  # the case budget in rounds of that length
    assert plan.sync_fraction < 0.01


def test_calibration_keeps_the_sync_under_one_percent_even_with_short_round_budgets() -> None:
    clock = FakeClock(per_call=1e-6)
    plan = calibrate(clock.body, Budget(round_s=1e-4, case_s=0.1), sync_s=3e-5, clock=clock)
    assert plan.round_s >= 3e-3
    assert plan.sync_fraction <= 0.01


def test_slow_bodies_get_one_iteration_and_the_minimum_rounds() -> None:
    clock = FakeClock(per_call=0.05)
    plan = calibrate(clock.body, Budget(round_s=0.01, case_s=0.3, min_rounds=15), sync_s=1e-5, clock=clock)
    assert (plan.iterations, plan.rounds, plan.calibration_calls) == (1, 15, 1)


def test_a_first_call_time_starts_the_search_near_the_answer_and_it_still_lands() -> None:
    clock = FakeClock(per_call=1e-5)
    cold = calibrate(clock.body, Budget(round_s=0.01, case_s=0.2), sync_s=1e-6, clock=clock)
    warm = calibrate(clock.body, Budget(round_s=0.01, case_s=0.2), sync_s=1e-6, clock=clock, first_call_s=3e-5)
    assert warm.round_s >= 0.01 and warm.calibration_calls < cold.calibration_calls
    assert warm.iterations <= 1.5 * 0.01 / 1e-5  # no overshoot past a step of the search
    slow_start = calibrate(clock.body, Budget(round_s=0.01, case_s=0.2), sync_s=1e-6, clock=clock, first_call_s=0.5)
    assert slow_start.round_s >= 0.01  # a first call slower than a round starts at one call


def test_pedantic_call_count_includes_the_result_call_and_cprofile() -> None:
    plan = Plan(iterations=10, rounds=5, warmup_rounds=2, round_s=0.01, sync_s=0.0, calibration_calls=0)
    assert pedantic_calls(SimpleNamespace(cprofile=False), plan) == 71
    assert pedantic_calls(SimpleNamespace(cprofile=True, cprofile_loops=None), plan) == 81
    single = Plan(iterations=1, rounds=5, warmup_rounds=2, round_s=0.01, sync_s=0.0, calibration_calls=0)
    assert pedantic_calls(SimpleNamespace(cprofile=False), single) == 7


def test_rounds_run_the_plan_and_return_the_last_result() -> None:
    import time

    from tfvarbench.measure.rounds import run_rounds

    calls = [0]

    def body() -> int:
        calls[0] += 1
        return calls[0]

    data, result = run_rounds(body, Plan(iterations=4, rounds=5, warmup_rounds=2, round_s=0.0, sync_s=0.0, calibration_calls=0), clock=time.perf_counter)
    assert len(data) == 5 and calls[0] == (2 + 5) * 4 and result == calls[0]


def test_settle_calls_are_three_for_short_calls_fewer_for_long_ones_and_never_none() -> None:
    from tfvarbench.measure.rounds import SETTLE_CALLS, SETTLE_S, settle_calls

    assert settle_calls(20e-6) == SETTLE_CALLS == 3  # an eager scalar op
    assert settle_calls(SETTLE_S / 2) == 2
    assert settle_calls(SETTLE_S) == 1
    assert settle_calls(0.5) == 1  # a call of half a second still settles with one
    assert settle_calls(0.0) == SETTLE_CALLS  # an empty body: nothing to size it by


def test_each_timed_round_starts_with_its_settle_calls_untimed_and_counted() -> None:
    from tfvarbench.measure.rounds import Slot, run_passes

    clock = FakeClock(per_call=1.0)
    reads: list[float] = []

    def reading_clock() -> float:
        reads.append(clock.now)
        return clock()

    def body() -> None:
        clock.body()

    other = Slot(lambda: clock.body() or 100.0, iterations=1)  # another case's round between this one's
    slot = Slot(body, iterations=4, warmup_rounds=1, settle=3)
    run_passes([other, slot], 2, reading_clock)
    # Each round reads 4 seconds: the 3 settle calls happened before its first clock read.
    assert slot.data == [1.0, 1.0]
    assert slot.calls == 4 + 2 * (3 + 4)  # the warm-up round, then per timed round settle + iterations
    # Its rounds' clock reads come 3 calls after the other case's round ended, not at once.
    starts = reads[1::2][1::2]
    assert all(start >= 3 for start in starts)


def test_shuffled_passes_change_each_slots_neighbours_alike_on_both_sides_and_keep_a_then_next_to_its_slot() -> None:
    from tfvarbench.measure.rounds import Slot, pass_orders

    def slots(keys: list[str]) -> list[Slot]:
        return [Slot(lambda: None, 1, key=key) for key in keys]

    mine = slots([f"case{i}" for i in range(8)])
    plain = Slot(lambda: None, 1, key="plain")
    mine[3].then = plain
    orders = pass_orders(mine, 10, shuffle=True)
    assert orders[0] == [*mine[:4], plain, *mine[4:]]  # the warm-up pass in the given order
    assert len({tuple(slot.key for slot in order) for order in orders[1:]}) == 10  # every timed pass its own order
    assert all(order[order.index(mine[3]) + 1] is plain and len(order) == 9 for order in orders)
    # Another block with one more case orders the common cases alike in every pass (an `ab` pair takes turns by them).
    other = slots([f"case{i}" for i in range(8)] + ["new"])
    for a, b in zip(pass_orders(mine, 10, shuffle=True)[1:], pass_orders(other, 10, shuffle=True)[1:]):
        assert [s.key for s in a if s.key != "plain"] == [s.key for s in b if s.key != "new"]
    assert pass_orders(mine, 3, shuffle=False)[1:] == [[*mine[:4], plain, *mine[4:]]] * 3


def test_the_clock_waits_for_device_work_only_where_a_device_queues_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import tensorflow as tf

    from tfvarbench.measure import timing

    waits: list[int] = []
    monkeypatch.setattr(tf.test.experimental, "sync_devices", lambda: waits.append(1))
    monkeypatch.setattr(timing, "queues_work", lambda: False)
    timing.synced_clock()
    assert waits == []  # CPUs only: an op has finished when it returns, nothing to wait for
    monkeypatch.setattr(timing, "queues_work", lambda: True)
    timing.synced_clock()
    assert waits == [1]
    monkeypatch.undo()
    # this machine's own answer is what its devices say (a GPU queues work; CPUs do not)
    assert timing.queues_work() == any(device.device_type != "CPU" for device in tf.config.list_logical_devices())

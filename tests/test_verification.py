"""A case that does the wrong thing, or does it on the wrong device, must fail; one that is right passes."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from tfvarbench.measure import PROFILES, Family, Setup, VerificationError, repeated_add
from tfvarbench.measure.run import run_case
from tfvarbench.measure.rounds import measure
from tfvarbench.measure.timing import Budget

QUICK = PROFILES["quick"]


def family_with(build: Any, **options: Any) -> Any:
    family = Family("test")
    family.case("op", "variant", **options)(build)
    return family.cases[0]


def test_repeated_add_is_exact_where_the_dtype_is_and_saturates_where_it_rounds() -> None:
    assert repeated_add(0, 1, 1000, "float32") == 1000
    assert repeated_add(0, 1, 5000, "float16") == 2048  # 2049 rounds back to 2048
    assert repeated_add(5, -1, 7, "int32") == -2
    assert repeated_add(0, 0.1, 3, "float32") == np.float32(np.float32(np.float32(0.1) + np.float32(0.1)) + np.float32(0.1))


def test_a_correct_case_passes_and_records_what_it_ran(once) -> None:
    def assign_add(s: Setup):
        v, x = s.variable(0), s.tensor(1)
        s.expect(v, s.adds(0, 1))
        return lambda: v.assign_add(x)

    bench = once()
    record = run_case(bench, family_with(assign_add), "CPU:0", "1Ki", "float32", QUICK)
    # One timed first call, then pedantic's single call with benchmarks disabled.
    assert record["calls"] == 2
    assert (record["checked"]["values"] > 0 and record["checked"]["calls"] == record["calls"]) and record["device"] == "CPU:0" and record["bytes"] == 4096
    assert bench.extra_info == record


def test_a_case_that_does_nothing_fails(once) -> None:
    def lazy_assign_add(s: Setup):
        v, x = s.variable(0), s.tensor(1)
        s.expect(v, s.adds(0, 1))
        return lambda: v.read_value() + x  # computes, but never writes the variable

    with pytest.raises(VerificationError, match=r"after 2 calls holds 0\.0 at element 0, expected 2\.0"):
        run_case(once(), family_with(lazy_assign_add), "CPU:0", "1Ki", "float32", QUICK)


def test_a_case_that_writes_the_wrong_values_fails(once) -> None:
    def assign_instead_of_add(s: Setup):
        v, x = s.variable(0), s.tensor(1)
        s.expect(v, s.adds(0, 1))
        return lambda: v.assign(x)

    with pytest.raises(VerificationError, match="expected 2.0"):
        run_case(once(), family_with(assign_instead_of_add), "CPU:0", "scalar", "float32", QUICK)


def test_a_case_that_changes_the_shape_fails(once) -> None:
    def reshaping(s: Setup):
        v = tf.Variable(np.zeros(4, np.float32), shape=tf.TensorShape(None))
        s.expect(v, lambda n: np.zeros(4, np.float32))
        return lambda: v.assign(np.zeros(3, np.float32))

    with pytest.raises(VerificationError, match=r"shape \(3,\), expected \(4,\)"):
        run_case(once(), family_with(reshaping), "CPU:0", "scalar", "float32", QUICK)


def test_a_case_that_declares_nothing_fails(once) -> None:
    def unchecked(s: Setup):
        v = s.variable(0)
        return lambda: v.assign_add(1.0)

    with pytest.raises(VerificationError, match="declared nothing to verify"):
        run_case(once(), family_with(unchecked), "CPU:0", "scalar", "float32", QUICK)


def test_a_variable_made_on_another_device_fails(once, two_devices: list[str]) -> None:
    first, second = two_devices

    def misplaced(s: Setup):
        with tf.device(first):  # ignores the case's device
            v = tf.Variable(0.0)
        s._placed.append(("v", v))
        s.expect(v, s.adds(0, 1))
        return lambda: v.assign_add(1.0)

    with pytest.raises(VerificationError, match=f"was placed on .*{first}"):
        run_case(once(), family_with(misplaced), second, "scalar", "float32", QUICK)


def test_a_result_left_on_another_device_fails(once, two_devices: list[str]) -> None:
    first, second = two_devices

    def result_elsewhere(s: Setup):
        v = s.variable(0)
        s.expect_result(lambda n: 0)

        def body():
            with tf.device(first):
                return tf.identity(v)

        return body

    with pytest.raises(VerificationError, match=f"result on {second}.* is on .*{first}"):
        run_case(once(), family_with(result_elsewhere), second, "scalar", "float32", QUICK)


def test_an_op_without_a_kernel_for_the_dtype_is_unsupported_not_failed(once) -> None:
    from tfvarbench.measure import Unsupported

    def bool_add(s: Setup):
        v = s.variable(False)
        s.expect(v, lambda n: True)
        return lambda: v.assign_add(tf.constant(True))

    with pytest.raises(Unsupported, match="op has no bool kernel on CPU:0"):
        run_case(once(), family_with(bool_add), "CPU:0", "scalar", "bool", QUICK)


def test_measure_counts_every_call_pytest_benchmark_makes(benchmark: Any) -> None:
    calls = [0]

    def body() -> int:
        calls[0] += 1
        return calls[0]

    timing = measure(benchmark, body, Budget(round_s=0.0005, case_s=0.002, warmup_s=0.0005, min_rounds=3))
    assert timing.calls == calls[0]
    if not benchmark.disabled:
        assert timing.plan is not None and timing.plan.rounds >= 3
        assert len(benchmark.stats.stats.data) == timing.plan.rounds


@pytest.mark.parametrize(
    ("got", "want", "agrees"),
    [
        (np.array([1, 2], np.float32), np.array([1, 2], np.float64), True),
        (np.array([1, 2], np.float32), np.array([1, 3], np.float32), False),
        (np.array([np.nan]), np.array([np.nan]), False),  # a NaN is never the state a case should leave
        (np.array([np.inf]), np.array([np.inf]), True),
        (np.array([3], np.int32), np.array([3.0]), True),
    ],
)
def test_an_exact_check_agrees_exactly_when_the_tolerant_one_would(got: np.ndarray, want: np.ndarray, agrees: bool) -> None:
    from tfvarbench.measure.setup import _agrees

    assert _agrees(got, want, 0.0, 0.0) is agrees
    assert np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=0, atol=0) is agrees

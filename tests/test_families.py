"""The gradient and tf.function families: their checks catch wrong updates and trace counts are recorded."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import tensorflow as tf

from tfvarbench.measure import PROFILES, Family, Setup, VerificationError
from tfvarbench.measure.run import run_case

QUICK = PROFILES["quick"]
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(module: str) -> Any:
    spec = importlib.util.spec_from_file_location(module, BENCHMARKS / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def family_of(module: str) -> Family:
    return _load(module).family


def case(module: str, name: str):
    return next(c for c in family_of(module).cases if c.name == name)


def test_tensor_arguments_trace_once_and_the_count_is_saved(once) -> None:
    record = run_case(once(), case("bench_function", "call_tensor_argument"), "CPU:0", "scalar", "float32", QUICK)
    assert record["trace_count"] == 1 and record["mode"] == "function"


def test_python_scalar_arguments_trace_once_per_call_and_the_count_is_saved(once) -> None:
    record = run_case(once(), case("bench_function", "call_python_scalar"), "CPU:0", "scalar", "float32", QUICK)
    assert record["trace_count"] == record["calls"] == 2


def test_xla_step_compiles_once_and_leaves_the_updated_value(once) -> None:
    record = run_case(once(), case("bench_function", "step_xla"), "CPU:0", "1Ki", "float32", QUICK)
    assert record["mode"] == "xla" and record["trace_count"] == 1 and record["first_call_s"] > 0


@pytest.mark.parametrize("name", ["step_manual", "step_fused", "step_keras", "step_accumulated", "gradient_dense"])
def test_every_update_path_verifies_on_float16_too(once, name: str) -> None:
    record = run_case(once(), case("bench_gradient", name), "CPU:0", "1Ki", "float16", QUICK)
    assert (record["checked"]["values"] > 0 and record["checked"]["calls"] == record["calls"])


def test_an_update_with_the_wrong_learning_rate_is_caught(once) -> None:
    family = Family("test")

    @family.case("update step", "lr twice what the check expects")
    def wrong_lr(s: Setup):
        v, x = s.variable(0), s.tensor(1)
        s.expect(v, s.adds(0, -0.5))

        def body():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(x * v)
            v.assign_sub(1.0 * tape.gradient(loss, v))

        return body

    with pytest.raises(VerificationError, match=r"holds -2\.0 at element 0, expected -1\.0"):
        run_case(once(), family.cases[0], "CPU:0", "1Ki", "float32", QUICK)


def test_a_function_that_retraces_when_it_should_not_is_caught(once) -> None:
    family = Family("test")

    @family.case("call", "claims one trace", mode="function", sizes=("scalar",))
    def retraces(s: Setup):
        v = s.variable(0)
        add = tf.function(lambda amount: v.assign_add(amount))
        values = iter(range(1, 100))
        s.after_run(lambda: s.info.update(trace_count=add.experimental_get_tracing_count()))
        s.expect(lambda: s.info["trace_count"], lambda n: 1, label="trace count")
        s.expect(v, lambda n: 3)
        return lambda: add(float(next(values)))

    with pytest.raises(VerificationError, match="trace count .* holds 2 at element 0, expected 1"):
        run_case(once(), family.cases[0], "CPU:0", "scalar", "float32", QUICK)


def test_mirrored_sum_is_checked_on_every_replica(once, two_devices: list[str]) -> None:
    group = "+".join(two_devices)
    record = run_case(once(), case("bench_mirrored", "assign_add_sum"), group, "1Ki", "float32", QUICK)
    assert (record["replicas"], record["devices"], record["device"]) == (2, group, two_devices[0])


def test_a_wrong_aggregation_is_caught_on_the_replicas(once, two_devices: list[str]) -> None:
    mirrored = _load("bench_mirrored")
    family = Family("test")

    @family.case("assign_add", "MEAN aggregation, checked against SUM's k·r·x", mode="function")
    def mean_checked_as_sum(s: Setup):
        return mirrored._assign_add(s, tf.VariableAggregation.MEAN, lambda replicas: replicas * mirrored.X)

    with pytest.raises(VerificationError, match=r"replica 0 on CPU:0 .* holds 2\.0 at element 0, expected 4 "):
        run_case(once(), family.cases[0], "+".join(two_devices), "scalar", "float32", QUICK)

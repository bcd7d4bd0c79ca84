"""The optimizer family: its NumPy references step as the dtypes round, and its checks catch a wrong rule."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from tfvarbench.measure import PROFILES, Family, Setup, Stepped, Unsupported, VerificationError, constant_steps
from tfvarbench.measure.reference import rounded
from tfvarbench.measure.run import run_case

QUICK, FULL = PROFILES["quick"], PROFILES["full"]
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def optimizer() -> Any:
    """benchmarks/bench_optimizer.py, loaded as pytest loads it (registered, so its dataclasses resolve)."""
    spec = importlib.util.spec_from_file_location("bench_optimizer_under_test", BENCHMARKS / "bench_optimizer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _one_at_a_time(value: float, increment: float, steps: int, dtype: str) -> float:
    for _ in range(steps):
        value = float(rounded(value + increment, dtype))
    return value


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize(("start", "increment", "steps"), [(1.0, 0.0123, 3000), (3.0, -0.0123, 500), (0.3, 0.001, 20000), (100.0, -0.37, 400)])
def test_constant_steps_round_as_the_dtype_does_one_step_at_a_time(dtype: str, start: float, increment: float, steps: int) -> None:
    expected = _one_at_a_time(float(rounded(start, dtype)), increment, steps, dtype)
    assert constant_steps(np.array([start]), np.array([increment]), steps, dtype)[0] == expected


def test_float16_stops_growing_where_float16_does() -> None:
    assert constant_steps(np.array([2040.0]), np.array([1.0]), 100, "float16")[0] == 2048.0


def test_a_stepped_reference_that_settles_matches_stepping_every_time() -> None:
    g = np.array([-0.5, 0.25])

    def adam(state: dict, t: int) -> dict:
        m = state["m"] + (g - state["m"]) * 0.5
        v = state["v"] + (g**2 - state["v"]) * 0.25
        alpha = 0.01 * np.sqrt(1 - 0.75**t) / (1 - 0.5**t)
        return {"m": m, "v": v, "var": -alpha * m / (np.sqrt(v) + 1e-7)}

    start = {"var": np.array([0.5, -1.25]), "m": np.zeros(2), "v": np.zeros(2)}
    for dtype in ("float16", "float32"):
        state = {k: rounded(v, dtype) for k, v in start.items()}
        for t in range(1, 1501):  # the same rule, no shortcut
            step = adam(dict(state), t)
            step["var"] = state["var"] + step["var"]
            state = {k: rounded(v, dtype) for k, v in step.items()}
        reference = Stepped(start, adam, dtype, (4,))
        assert np.array_equal(reference.after("var")(1500).astype(np.float64), np.resize(state["var"], 4))
        assert np.array_equal(reference.after("v")(1500).astype(np.float64), np.resize(state["v"], 4))


def test_the_quick_profile_runs_the_subset_the_docstring_names(optimizer: Any) -> None:
    quick = {(case.name, size, dtype) for case, size, dtype in optimizer.family.grid(QUICK)}
    full = optimizer.family.grid(FULL)
    assert {size for _, size, _ in quick} == {"1Ki"} and {dtype for _, _, dtype in quick} == {"float32"}
    names = {name for name, _, _ in quick}
    assert names == {"adam_keras3_eager_1", "adam_keras3_function_1", "adam_keras3_xla_1", "adam_fused_eager_1", "adam_fused_function_1",
                     "adam_mixed_float16", "assign_sum", "assign_add"}
    assert "adam_legacy_function_1" not in names and "adam_fused_eager_100" not in names and len(full) > 4 * len(quick)
    assert {dtype for _, _, dtype in full} == {"float32", "float16", "bfloat16"}
    assert ("adamw_keras3_eager_1", "1Ki", "bfloat16") not in {(c.name, s, d) for c, s, d in full}


def test_a_case_needing_an_absent_package_is_skipped_naming_the_extra() -> None:
    setup = Setup("CPU:0", "float32", "1Ki", QUICK)
    with pytest.raises(Unsupported, match=r'no_such_package_here is not installed: pip install -e "\.\[legacy\]"'):
        setup.needs("no_such_package_here", "legacy")


@pytest.mark.parametrize("name", ["momentum_fused_eager_1", "adam_keras3_function_1", "rmsprop_fused_xla_1", "adam_mixed_float16"])
def test_the_optimizer_cases_verify(once, optimizer: Any, name: str) -> None:
    case = next(c for c in optimizer.family.cases if c.name == name)
    record = run_case(once(), case, "CPU:0", "1Ki", "float32", QUICK)
    assert record["checked"]["values"] > 0 and record["checked"]["calls"] == record["calls"]


def test_a_wrong_learning_rate_fails_verification(once, optimizer: Any) -> None:
    family = Family("test")
    rule = optimizer.RULES["momentum"]

    @family.case("SGD momentum step", "fused, lr twice what the reference uses")
    def wrong_lr(s: Setup):
        p = optimizer._params(s, rule, "fused", 1)
        accum = s.variable(0, name="accum")
        optimizer._expect_all(s, p, lambda i, name: accum, {"momentum": lambda m: -m / optimizer.LR})
        lr, mu = s.tensor(2 * optimizer.LR, shape=()), s.tensor(optimizer.MOMENTUM, shape=())
        var, grad = p.variables[0], p.gradients[0]
        return lambda: tf.raw_ops.ResourceApplyMomentum(var=var.handle, accum=accum.handle, lr=lr, grad=grad, momentum=mu)

    with pytest.raises(VerificationError, match=r"v0 on CPU:0 \(1Ki, float32\) after 2 calls holds 0\.52499.*, expected 0\.51249"):
        run_case(once(), family.cases[0], "CPU:0", "1Ki", "float32", QUICK)


def test_a_skipped_slot_update_fails_verification(once, optimizer: Any) -> None:
    family = Family("test")
    rule = optimizer.RULES["adam"]

    @family.case("Adam step", "Keras 3, its velocity put back after every step")
    def skipped_velocity(s: Setup):
        import keras

        p = optimizer._params(s, rule, "keras3", 1)
        with tf.device(s.device):
            adam = keras.optimizers.Adam(optimizer.LR, **rule.options)
            adam.build(p.variables)
        velocity = next(v.value for v in adam.variables if v.path.endswith("_velocity"))
        # Only the slot is checked: the variable alone would not show which update was skipped.
        optimizer._expect(s, velocity, p.reference.after("v"), 0.0, "v0 velocity")

        def body() -> None:
            before = tf.identity(velocity)
            adam.apply_gradients(zip(p.gradients, p.variables))
            velocity.assign(before)

        return body

    with pytest.raises(VerificationError, match=r"v0 velocity on CPU:0 .* holds 0\.0 at element 0, expected 0\.1"):
        run_case(once(), family.cases[0], "CPU:0", "1Ki", "float32", QUICK)

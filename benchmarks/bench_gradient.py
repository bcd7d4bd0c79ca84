"""Gradients: a tf.GradientTape gradient through a variable, then the update step four ways.

The losses are linear or quadratic with constant inputs, so every gradient and every updated value
is known in closed form (or computed independently with NumPy) and checked after the run.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfvarbench.measure import Family, Setup

family = Family("gradient", dtypes=("float32", "float16", "float64"))

START, X, LR = 0, 1, 0.5  # LR * X = 0.5 is exact in every float dtype, so updates do not round
MICRO_BATCHES = 4
BATCH = 32  # rows of the dense layer's input


def test_gradient(measured_case: dict) -> None:
    """Every gradient variant, on every selected device, size and dtype; timed and verified."""
    assert measured_case["verified"]


@family.case("tape gradient", "y = x * v (scalar v)", sizes=("scalar",))
def gradient_scalar(s: Setup):
    v, x = s.variable(3), s.tensor(2)

    def body():
        with tf.GradientTape() as tape:
            y = x * v
        return tape.gradient(y, v)

    s.expect_result(lambda n: 2)  # dy/dv = x
    s.expect(v, lambda n: 3)  # a gradient reads the variable; it must not change it
    return body


@family.case("tape gradient", "reduce_sum(x * v) (vector v)", min_size=2)
def gradient_reduction(s: Setup):
    x_host = np.arange(s.elements, dtype=np.float64) % 7  # small integers: exact in float16 too
    v, x = s.variable(1), s.tensor(x_host.astype(s.dtype))

    def body():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(x * v)
        return tape.gradient(y, v)

    s.expect_result(lambda n: x_host)
    s.expect(v, lambda n: 1)
    return body


def _dense_shapes(s: Setup) -> tuple[int, int]:
    side = max(1, math.isqrt(s.elements))  # W is side x side: as many weights as the case's size
    return BATCH, side


@family.case("tape gradient", "dense layer 0.5*sum((x @ W + b)^2)")
def gradient_dense(s: Setup):
    batch, side = _dense_shapes(s)
    rng = np.random.default_rng(1)
    # Values in {-1, 0, 1} / 4 keep float16 sums exact enough to compare at a tight tolerance.
    x_host = rng.integers(-1, 2, (batch, side)) / 4
    w_host = rng.integers(-1, 2, (side, side)) / 4
    b_host = rng.integers(-1, 2, (side,)) / 4
    W, b = s.variable(w_host.astype(s.dtype), name="W"), s.variable(b_host.astype(s.dtype), name="b")
    x = s.tensor(x_host.astype(s.dtype))
    s.info["layer"] = f"{batch}x{side} @ {side}x{side}"

    def body():
        with tf.GradientTape() as tape:
            out = tf.matmul(x, W) + b
            loss = 0.5 * tf.reduce_sum(out * out)
        return tape.gradient(loss, [W, b])

    # Independent reference: d/dW = x^T (xW + b), d/db = column sums of (xW + b), in float64.
    out = x_host @ w_host + b_host
    tolerance = {"float16": 2e-2, "float32": 1e-5, "float64": 1e-12}[s.dtype]
    scale = float(np.abs(x_host.T @ out).max()) or 1.0
    s.expect(lambda: s.result[0], lambda n: x_host.T @ out, label="dL/dW", atol=tolerance * scale)
    s.expect(lambda: s.result[1], lambda n: out.sum(axis=0), label="dL/db", atol=tolerance * scale * batch)
    return body


def _linear(s: Setup):
    """A vector variable, loss = sum(x * v): its gradient is x whatever v holds, so v moves by LR*X a step."""
    v, x = s.variable(START), s.tensor(X)

    def gradient():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(x * v)
        return tape.gradient(loss, v)

    s.expect(v, s.adds(START, -LR * X))
    return v, gradient


@family.case("update step", "tape + assign_sub(lr * g)")
def step_manual(s: Setup):
    v, gradient = _linear(s)
    return lambda: v.assign_sub(LR * gradient(), read_value=False)


@family.case("update step", "tape + ResourceApplyGradientDescent (fused)")
def step_fused(s: Setup):
    v, gradient = _linear(s)
    lr = s.tensor(LR, shape=())
    return lambda: tf.raw_ops.ResourceApplyGradientDescent(var=v.handle, alpha=lr, delta=gradient())


@family.case("update step", "tape + keras SGD.apply_gradients")
def step_keras(s: Setup):
    v, gradient = _linear(s)
    optimizer = tf.keras.optimizers.SGD(learning_rate=LR)
    return lambda: optimizer.apply_gradients([(gradient(), v)])


@family.case("update step", f"accumulate {MICRO_BATCHES} micro-batches with assign_add, then apply")
def step_accumulated(s: Setup):
    v, gradient = _linear(s)
    accumulator = s.variable(0, name="accumulator")
    s.expect(accumulator, lambda n: 0)  # emptied after every apply

    def body():
        for _ in range(MICRO_BATCHES):
            accumulator.assign_add(gradient(), read_value=False)
        v.assign_sub(LR * accumulator / MICRO_BATCHES, read_value=False)
        accumulator.assign(tf.zeros_like(accumulator), read_value=False)

    return body

"""What TensorFlow actually does with variables, names, tapes and traced functions, on the installed version.

These are the behaviours the suite's figures rest on; each test states one in its docstring.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf


def test_rebinding_a_name_leaves_the_variable_and_assign_changes_it_in_place() -> None:
    """`v = tf.constant(...)` rebinds the name and leaves the variable as it was; `.assign` writes the same variable and handle."""
    v = tf.Variable(1.0)
    kept, handle = v, v.handle
    v = tf.constant(5.0)
    assert kept.numpy() == 1.0 and not isinstance(v, tf.Variable)
    v = kept
    result = v.assign(5.0)
    assert v is kept and v.handle is handle
    assert v.numpy() == 5.0 and result.numpy() == 5.0


def test_tape_gradient_then_assign_and_assign_add_give_the_arithmetic() -> None:
    """With y = 3v², dy/dv = 6v; after assign(v - 0.1·g) and assign_add(1) the variable holds v - 0.6v + 1."""
    v = tf.Variable(2.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = 3.0 * v * v
    g = tape.gradient(y, v)
    assert g.numpy() == 12.0
    v.assign(v - 0.1 * g)
    assert np.isclose(v.numpy(), 0.8)
    v.assign_add(1.0)
    assert np.isclose(v.numpy(), 1.8)


def test_an_assign_outside_a_traced_function_is_seen_without_retracing() -> None:
    """Variables are captured by handle, not value: the next call sees an outside assign, and the trace count stays 1."""
    v = tf.Variable(1.0)

    @tf.function
    def doubled() -> tf.Tensor:
        return v * 2.0

    assert doubled().numpy() == 2.0
    v.assign(10.0)
    assert doubled().numpy() == 20.0
    assert doubled.experimental_get_tracing_count() == 1


def test_python_scalar_arguments_retrace_per_value_and_tensors_do_not() -> None:
    """Each distinct Python float is a new trace; tensor arguments of one dtype and shape share one trace."""

    @tf.function
    def plus_one(x):
        return x + 1.0

    for value in (1.0, 2.0, 3.0, 2.0):
        plus_one(value)
    assert plus_one.experimental_get_tracing_count() == 3  # 2.0 again reuses its trace

    @tf.function
    def plus_one_tensor(x):
        return x + 1.0

    for value in (1.0, 2.0, 3.0):
        plus_one_tensor(tf.constant(value))
    assert plus_one_tensor.experimental_get_tracing_count() == 1


def test_reduce_retracing_does_not_stop_python_floats_from_retracing() -> None:
    """reduce_retracing=True generalises tensor shapes; a new Python float value still means a new trace."""

    @tf.function(reduce_retracing=True)
    def plus_one(x):
        return x + 1.0

    for value in (1.0, 2.0, 3.0, 4.0):
        plus_one(value)
    assert plus_one.experimental_get_tracing_count() == 4


def test_input_signature_turns_python_floats_into_one_trace() -> None:
    """With an input_signature, Python floats are converted to tensors and one trace serves every value."""

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def plus_one(x):
        return x + 1.0

    assert [plus_one(value).numpy() for value in (1.0, 2.0, 3.0)] == [2.0, 3.0, 4.0]
    assert plus_one.experimental_get_tracing_count() == 1


def test_rebinding_a_captured_variables_name_is_not_seen_by_a_traced_function() -> None:
    """A traced function keeps the handle it captured: binding the name to a new tf.Variable does not reach it."""
    scope = {"v": tf.Variable(1.0)}

    @tf.function
    def read() -> tf.Tensor:
        return scope["v"] * 1.0

    assert read().numpy() == 1.0
    scope["v"] = tf.Variable(100.0)
    assert read().numpy() == 1.0
    assert read.experimental_get_tracing_count() == 1

"""Assignment: every eager way to write new values into an existing tf.Variable.

Each variant starts from a variable filled with START and an operand filled with X, so the value
after n calls is known in advance: assign leaves X, assign_add START + n*X, and so on.
"""
from __future__ import annotations

import tensorflow as tf

from tfvarbench.measure import Family, Setup

family = Family("assignment")

START, X = 0, 1


def test_assignment(measured_case: dict) -> None:
    """Every assignment variant, on every selected device, size and dtype; timed and verified."""
    assert measured_case["verified"]


@family.case("assign", "read_value=True")
def assign(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, lambda n: X)
    return lambda: v.assign(x)


@family.case("assign", "read_value=False")
def assign_no_read(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, lambda n: X)
    return lambda: v.assign(x, read_value=False)


@family.case("assign_add", "read_value=True")
def assign_add(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, s.adds(START, X))
    return lambda: v.assign_add(x)


@family.case("assign_add", "read_value=False")
def assign_add_no_read(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, s.adds(START, X))
    return lambda: v.assign_add(x, read_value=False)


@family.case("assign_sub", "read_value=True")
def assign_sub(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, s.adds(START, -X))
    return lambda: v.assign_sub(x)


@family.case("assign_sub", "read_value=False")
def assign_sub_no_read(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, s.adds(START, -X))
    return lambda: v.assign_sub(x, read_value=False)


@family.case("slice assign", "v[:n/2].assign(x)", min_size=2)
def slice_assign(s: Setup):
    half = s.elements // 2
    v, x = s.variable(START), s.tensor(X, shape=(half,))
    expected = s.host(START)
    expected[:half] = X
    s.expect(v, lambda n: expected)
    return lambda: v[:half].assign(x)


@family.case("host round trip", "v.assign(v.numpy() + x)")
def host_round_trip(s: Setup):
    # The idiom people reach for when they think of a variable as a NumPy array: device to host,
    # add on the host, host to device. x is a host array, as it is in that idiom.
    v, x = s.variable(START), s.host(X)
    s.expect(v, s.adds(START, X))
    return lambda: v.assign(v.numpy() + x)


@family.case("rebind name", "v = tf.constant(x)")
def rebind_name(s: Setup):
    # The baseline: `v = tf.constant(...)` makes a new tensor and rebinds a Python name; the
    # variable is not written, which the check proves.
    v, x = s.variable(START), s.host(X)
    s.expect(v, lambda n: START)
    s.expect_result(lambda n: X)
    return lambda: tf.constant(x)

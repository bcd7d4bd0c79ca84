"""A pytest plugin (for experiments only) that makes a family, or one eager op, really slower under the same case names.

TFVARBENCH_SLOWDOWN="gradient:0.2" makes every case of the gradient family about 20% slower: each
call runs the real body, then spins for 20% of the body's own time, measured per call.

TFVARBENCH_SLOW_OP="assign_add:0.1" makes every eager `tf.Variable.assign_add` call about 10%
slower, wherever a case calls it: each eager call runs the real op, then spins for 10% of that
call's own time. Calls made while a tf.function traces are not slowed (their op runs later, in
the graph), so only cases that call the op eagerly change: a regression in TensorFlow's eager
path, as a comparison should see it.

Either way the work is still done, so verification passes; only the time changes. Load it with
`PYTHONPATH=tests/plugins pytest benchmarks -p slowdown` (a run's blocks inherit both). It never
ships in the suite itself.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import time
from typing import Any

import pytest


def _spin_after(started: float, fraction: float) -> None:
    until = time.perf_counter() + fraction * (time.perf_counter() - started)
    while time.perf_counter() < until:  # spin: sleep() is too coarse for microsecond bodies
        pass


def _slowed(build: Any, fraction: float) -> Any:
    def slowed_build(setup: Any) -> Any:
        body = build(setup)

        def slower() -> Any:
            start = time.perf_counter()
            result = body()
            _spin_after(start, fraction)
            return result

        return slower

    return slowed_build


def _slow_eager_op(name: str, fraction: float) -> None:
    """Patch the variable method `name` (ResourceVariable defines its own; the base class's is not what runs).

    The wrapper costs time of its own (about a microsecond here: a Python call, the eager check,
    the clock reads), 10% of an eager scalar assign_add. It is measured once per process, the
    patched and the plain method alternating, and taken off the spin, so a call is slower by
    `fraction` of its own time and not by that plus the wrapper.
    """
    import tensorflow as tf
    from tensorflow.python.eager import context
    from tensorflow.python.ops.resource_variable_ops import ResourceVariable

    original = getattr(ResourceVariable, name)
    spin = {"fraction": 0.0, "overhead": 0.0}  # no spin while the wrapper's own cost is measured

    @functools.wraps(original)
    def slower(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = original(self, *args, **kwargs)
        if context.executing_eagerly():
            until = start + (1 + spin["fraction"]) * (time.perf_counter() - start) - spin["overhead"]
            while time.perf_counter() < until:  # spin: sleep() is too coarse for microsecond ops
                pass
        return result

    with tf.device("CPU:0"):
        variable, step = tf.Variable(0.0), tf.constant(1.0)
    extra = []
    for _ in range(7):
        plain = _per_call(lambda: original(variable, step, read_value=False))
        wrapped = _per_call(lambda: slower(variable, step, read_value=False))
        extra.append(wrapped - plain)
    spin.update(fraction=fraction, overhead=max(0.0, sorted(extra)[len(extra) // 2]))
    setattr(ResourceVariable, name, slower)


def _per_call(body: Any, calls: int = 10_000) -> float:
    """The time per call of `body` over one loop."""
    start = time.perf_counter()
    for _ in range(calls):
        body()
    return (time.perf_counter() - start) / calls


def pytest_configure(config: pytest.Config) -> None:
    spec = os.environ.get("TFVARBENCH_SLOW_OP", "")
    if spec:
        name, _, fraction = spec.partition(":")
        _slow_eager_op(name, float(fraction))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    spec = os.environ.get("TFVARBENCH_SLOWDOWN", "")
    if not spec:
        return
    family, _, fraction = spec.partition(":")
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        case = params.get("case")
        if case is not None and case.family == family:
            params["case"] = dataclasses.replace(case, build=_slowed(case.build, float(fraction)))

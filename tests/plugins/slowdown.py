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
    """Patch the variable method `name` (ResourceVariable defines its own; the base class's is not what runs)."""
    import tensorflow as tf
    from tensorflow.python.ops.resource_variable_ops import ResourceVariable

    original = getattr(ResourceVariable, name)

    @functools.wraps(original)
    def slower(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        result = original(self, *args, **kwargs)
        if tf.executing_eagerly():
            _spin_after(start, fraction)
        return result

    setattr(ResourceVariable, name, slower)


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

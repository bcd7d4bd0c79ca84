"""A pytest plugin (for experiments only) that makes a family, or one eager op, really slower under the same case names.

TFVARBENCH_SLOWDOWN="gradient:0.2" makes every case of the gradient family about 20% slower: each
call runs the real body, then spins for 20% of the body's own time, measured per call.

TFVARBENCH_SLOW_OP="assign_add:0.1" makes every eager `tf.Variable.assign_add` call about 10%
slower, wherever a case calls it: each eager call runs the real op, then spins for 10% of that
call's own time. Calls made while a tf.function traces are not slowed (their op runs later, in
the graph), so only cases that call the op eagerly change: a regression in TensorFlow's eager
path, as a comparison should see it. Several ops: "assign:0.05,assign_add:0.05,assign_sub:0.05";
every variable method that updates or reads its value: "*:0.05" (METHODS).

**Wrap both sides.** The wrapper costs time of its own (a Python frame, the eager check, two clock
reads: about 1 µs here, 6-9% of an eager scalar `assign_add`), so a comparison of a wrapped side
with a plain one measures the wrapper too: "2%" and "5%" with only one side wrapped both read +6%
to +10%. Give the baseline the same op at 0 (`--baseline-env TFVARBENCH_SLOW_OP=assign_add:0`):
both sides then run the same wrapper, and only the spin differs.

TFVARBENCH_SLOW_DEVICE="CPU:1:0.3" makes every eager variable method (METHODS) about 30% slower
when its variable lives on CPU:1, and wraps it the same way, spinning nothing, on every other
device: one device that is really slower at updates, for the device comparisons to find.

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


# The variable methods "*" slows: every eager call that writes (or reads back) a variable's value.
METHODS = ("assign", "assign_add", "assign_sub", "scatter_add", "scatter_sub", "scatter_update", "scatter_max", "scatter_min",
           "scatter_mul", "scatter_div", "scatter_nd_add", "scatter_nd_sub", "scatter_nd_update", "batch_scatter_update", "read_value")


def spun(original: Any, fraction: float, clock: Any = time.perf_counter, eager: Any = None) -> Any:
    """`original` wrapped to spin after each eager call for `fraction` of the call's own time (0: the same wrapper, no spin)."""
    if eager is None:
        from tensorflow.python.eager import context

        eager = context.executing_eagerly

    @functools.wraps(original)
    def slower(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        result = original(*args, **kwargs)
        if eager():
            until = start + (1 + fraction) * (clock() - start)
            while clock() < until:  # spin: sleep() is too coarse for microsecond ops
                pass
        return result

    return slower


def _slow_device(spec: str) -> None:
    """Patch every method of METHODS to spin `fraction` of each eager call's time when its variable is on `device` ("CPU:1:0.3")."""
    from tensorflow.python.ops.resource_variable_ops import ResourceVariable

    device, _, fraction = spec.rpartition(":")
    for method in METHODS:
        original = getattr(ResourceVariable, method)
        slow, same = spun(original, float(fraction)), spun(original, 0.0)  # the same wrapper on every device; only the spin differs

        def by_device(self: Any, *args: Any, _slow: Any = slow, _same: Any = same, **kwargs: Any) -> Any:
            return (_slow if self.device.endswith(device) else _same)(self, *args, **kwargs)

        setattr(ResourceVariable, method, functools.wraps(original)(by_device))


def _slow_eager_ops(spec: str) -> None:
    """Patch each method `name` of "name:fraction,..." on ResourceVariable (which defines its own; the base class's is not what runs)."""
    from tensorflow.python.ops.resource_variable_ops import ResourceVariable

    for part in filter(None, spec.split(",")):
        name, _, fraction = part.partition(":")
        for method in METHODS if name == "*" else (name,):
            setattr(ResourceVariable, method, spun(getattr(ResourceVariable, method), float(fraction)))


def pytest_configure(config: pytest.Config) -> None:
    spec = os.environ.get("TFVARBENCH_SLOW_OP", "")
    if spec:
        _slow_eager_ops(spec)
    if os.environ.get("TFVARBENCH_SLOW_DEVICE"):
        _slow_device(os.environ["TFVARBENCH_SLOW_DEVICE"])


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

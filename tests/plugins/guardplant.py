"""A pytest plugin (for tests only) that makes the figure check's reference op slower as a case than as a plain loop, on purpose.

TFVARBENCH_GUARD_PLANT="0.1" wraps both of the guard's bodies (measure/guard.py) in the same
wrapper, and only the one timed among the cases spins after each call for 10% of the call's own
time; the plain loop's spins 0. So the two differ by the spin alone, not by the wrapper (about 1 µs
a call, 6-9% of an eager scalar op). Load it in a run's blocks with PYTEST_PLUGINS=guardplant.
"""
from __future__ import annotations

import os
import time
from typing import Any

import pytest


def _wrapped(call: Any, fraction: float) -> Any:
    def body() -> Any:
        start = time.perf_counter()
        result = call()
        until = start + (1 + fraction) * (time.perf_counter() - start)
        while time.perf_counter() < until:  # spin: sleep() is too coarse for microsecond ops
            pass
        return result

    return body


def pytest_configure(config: pytest.Config) -> None:
    fraction = float(os.environ.get("TFVARBENCH_GUARD_PLANT", "0") or 0)
    from tfvarbench.measure import guard

    plain_bodies = guard.bodies

    def planted(v: Any, x: Any) -> tuple[Any, Any]:
        as_case, as_plain = plain_bodies(v, x)
        return _wrapped(as_case, fraction), _wrapped(as_plain, 0.0)

    guard.bodies = planted

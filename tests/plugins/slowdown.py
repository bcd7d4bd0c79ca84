"""A pytest plugin (for experiments only) that makes one family really slower under the same case names.

TFVARBENCH_SLOWDOWN="gradient:0.2" makes every case of the gradient family about 20% slower: each
call runs the real body, then spins for 20% of the body's own time, measured per call. The body
still does its work, so verification passes; only the time changes. Load it with
`PYTHONPATH=tests/plugins pytest benchmarks -p slowdown`. It never ships in the suite itself.
"""
from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

import pytest


def _slowed(build: Any, fraction: float) -> Any:
    def slowed_build(setup: Any) -> Any:
        body = build(setup)

        def slower() -> Any:
            start = time.perf_counter()
            result = body()
            until = time.perf_counter() + fraction * (time.perf_counter() - start)
            while time.perf_counter() < until:  # spin: sleep() is too coarse for microsecond bodies
                pass
            return result

        return slower

    return slowed_build


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

"""A pytest plugin (for tests only): at the end of each process of a run, whether TensorFlow's runtime was started.

Appends "parent: started" or "block N: started" / "not started" to the file TFVARBENCH_RUNTIME_REPORT.
The runtime exists once TensorFlow's eager context has its native handle: the first op or
listing of logical devices creates it; listing physical devices and configuring them do not.
"""
from __future__ import annotations

import os

import pytest


def pytest_unconfigure(config: pytest.Config) -> None:
    from tensorflow.python.eager import context

    block = config.getoption("tfvarbench_block")
    started = context.context()._context_handle is not None  # noqa: SLF001 (no public way to ask without starting it)
    with open(os.environ["TFVARBENCH_RUNTIME_REPORT"], "a", encoding="utf-8") as report:
        report.write(f"{'parent' if block is None else f'block {block}'}: {'started' if started else 'not started'}\n")

"""Where a process's seconds went besides its cases: start-up, the test loop, the worker group, saving.

Each block's process counts its own span (from its start to the first test, the tests, then the
save) and hands it to the parent in a small file beside its reports; the parent adds each block's
wall time and puts the blocks' spans into the merged run's machine info (`time_spent`). A
one-process run (--blocks 1) saves its own span there. The cases' own phases are in their records
(measure/phases.py); render/spent.py tabulates both.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from ..runs import atomic_write
from .state import CHILD_BLOCK, WORKERS_S

__all__ = ["BLOCK_TIMES", "block_span", "block_spans", "time_file"]

BLOCK_TIMES = pytest.StashKey[dict]()  # this process's span: epoch seconds of its start, test loop and end


def time_file(folder: Path, block: int) -> Path:
    """Where block `block`'s process leaves its span for the parent."""
    return folder / f"block-{block}.time.json"


def _marks(config: pytest.Config) -> dict[str, float]:
    return config.stash.setdefault(BLOCK_TIMES, {"started": psutil.Process().create_time()})


def block_span(config: pytest.Config, block: int, until: float | None = None) -> dict[str, Any]:
    """This process's span as the saved run keeps it: seconds of start-up, tests, workers and (when ended) saving."""
    marks = _marks(config)
    now = time.time()
    loop_start, loop_end = marks.get("loop_start", now), marks.get("loop_end", now)
    span = {
        "block": block,
        "startup_s": max(0.0, loop_start - marks["started"]),  # Python, pytest, TensorFlow's import, collection
        "tests_s": max(0.0, loop_end - loop_start),
        "workers_s": config.stash.get(WORKERS_S, 0.0),  # inside tests_s: the multi-worker group, start to finish
    }
    if until is not None:
        span["save_s"] = max(0.0, until - loop_end)  # the machine's facts and pytest-benchmark's JSON
    return {name: round(value, 3) if isinstance(value, float) else value for name, value in span.items()}


def block_spans(folder: Path, blocks: list[int], walls: list[float]) -> list[dict[str, Any]]:
    """Each block's span as its process left it in `folder`, with its wall time as the parent saw it.

    What the process's own clock did not cover (its interpreter's exit, TensorFlow's teardown) is `exit_s`.
    """
    spans = []
    for block, wall_s in zip(blocks, walls):
        try:
            span = json.loads(time_file(folder, block).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # a block that ended before writing it: its wall time is still known
            span = {"block": block}
        counted = sum(span.get(name, 0.0) for name in ("startup_s", "tests_s", "save_s"))
        spans.append({**span, "wall_s": round(wall_s, 3), "exit_s": round(max(0.0, wall_s - counted), 3)})
    return spans


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    marks = _marks(session.config)
    marks["loop_start"] = time.time()
    try:
        return (yield)
    finally:
        marks["loop_end"] = time.time()


@pytest.hookimpl(trylast=True)  # after summary.py's, which sets machine_info["tfvarbench"] whole
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """A one-process run saves its own span; a block's parent replaces it with every block's."""
    tfvarbench = machine_info.setdefault("tfvarbench", {})
    tfvarbench["time_spent"] = {"blocks": [block_span(config, config.stash.get(CHILD_BLOCK, 1))]}


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """In a block's process, after pytest-benchmark saved its JSON: leave the span for the parent."""
    block, folder = config.stash.get(CHILD_BLOCK, None), config.getoption("tfvarbench_out", None)
    if block is None or not folder:
        return
    atomic_write(time_file(Path(folder), block), json.dumps(block_span(config, block, until=time.time())))

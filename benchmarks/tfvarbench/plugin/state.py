"""What the plugin's hooks share within one pytest session, kept in `config.stash` (never in globals)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ..measure.cases import Profile

__all__ = ["BLOCKS", "CHILD_BLOCK", "GUARD_LOG", "NOT_RUN", "PRESENT", "PROFILE", "REPORT", "RESULTS", "SAVE_TAG", "SELECTED", "WORKERS_S", "PROGRESS", "block_of", "benchmark_session", "runs_benchmarks", "threads_of"]

SELECTED = pytest.StashKey[list]()  # the devices this run times on
PRESENT = pytest.StashKey[list]()  # every device the runtime creates, named before it starts (measure.hardware)
PROFILE = pytest.StashKey[Profile]()
RESULTS = pytest.StashKey[Path]()
SAVE_TAG = pytest.StashKey[str]()  # the tag of the run this session saves, when it saves one
REPORT = pytest.StashKey[list]()  # lines for the terminal summary
BLOCKS = pytest.StashKey[int]()
CHILD_BLOCK = pytest.StashKey[int]()  # set in a block's own process
WORKERS_S = pytest.StashKey[float]()  # wall seconds this process waited for its multi-worker group
NOT_RUN = pytest.StashKey[dict]()  # reason -> how many cases were deselected for it, None for a family not collected (plugin/params.py)
GUARD_LOG = pytest.StashKey[list]()  # the reference op's series from each batch timed in this process (measure/guard.py)
PROGRESS = pytest.StashKey[object]()  # in a block's process: what passes a batch's progress to the parent


def benchmark_session(config: pytest.Config) -> Any:
    """pytest-benchmark's session object, by the name it registers itself under."""
    return config.pluginmanager.get_plugin("pytest-benchmark")


def block_of(item: pytest.Item) -> int | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("block") if callspec is not None else None


def threads_of(item: pytest.Item) -> int | None:
    """The thread count the item runs at, when the run is over several (--threads 1,2); None otherwise."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("threads") if callspec is not None else None


def runs_benchmarks(config: pytest.Config) -> bool:
    """Whether this session was asked to run the suite under benchmarks/ (only those runs are saved)."""
    bench_dir = (config.rootpath / "benchmarks").resolve()
    for arg in config.args:
        target = Path(arg.split("::")[0]).resolve()
        if target == bench_dir or bench_dir in target.parents:
            return True
    return False
SETTINGS = pytest.StashKey[dict]()
THREADS = pytest.StashKey[list]()  # the thread counts of the run: [None] for TensorFlow's default
CHILD_THREADS = pytest.StashKey[int]()  # set in a block's process of a run over several thread counts
SAVE_FAILED = pytest.StashKey[dict]()  # what a one-process run could not write ("run", "--benchmark-json") and why, said at the end

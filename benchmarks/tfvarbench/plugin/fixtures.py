"""The fixtures a family's test asks for: `measured_case` (timed here) and `worker_case` (timed in worker processes)."""
from __future__ import annotations

import time
from typing import Any

import pytest

from ..measure.setup import Unsupported
from .state import CHILD_BLOCK, PROFILE, SELECTED, WORKERS_S, benchmark_session

# A worker group that has not finished by then is killed and its cases fail with its log tail.
WORKER_TIMEOUT_S = 600.0


def mark_failed(benchmark: Any) -> None:
    """Keep a failed case's rounds out of every saved run: pytest-benchmark's JSON skips benchmarks with has_error."""
    benchmark.has_error = True


def mark_used(benchmark: Any, how: str) -> None:
    """Tell pytest-benchmark the fixture was dealt with, so it adds no "fixture was not used" warning.

    It has no public way to say so; its own mode attribute is what it checks.
    """
    if not benchmark._mode:  # noqa: SLF001
        benchmark._mode = how  # noqa: SLF001


@pytest.fixture
def threads(request: pytest.FixtureRequest) -> int | None:
    """The thread count the case runs at; a run over several counts parametrises this (plugin.params)."""
    from .state import THREADS

    counts = request.config.stash.get(THREADS, [None])
    return counts[0] if len(counts) == 1 else None


@pytest.fixture
def measured_case(
    benchmark: Any, case: Any, device: str, size: str, dtype: str, block: int, threads: int | None, request: pytest.FixtureRequest
) -> dict:
    """The case built on `device`, timed with the other cases of its batch, and verified; its record (also in benchmark.extra_info).

    A correctness run (--benchmark-disable, each case once) and a profiled one (--benchmark-cprofile,
    through pytest-benchmark's own loop) run each case alone.
    """
    from ..measure.run import run_case
    from .batches import deliver, outcome_for

    benchmark.group = f"{case.family}: {case.name} {size} {dtype}"
    try:
        if benchmark.disabled or getattr(benchmark, "cprofile", False):
            return run_case(benchmark, case, device, size, dtype, request.config.stash[PROFILE], block)
        return deliver(benchmark, outcome_for(request))
    except Unsupported as reason:
        benchmark.skipped = True
        pytest.skip(str(reason))
    except BaseException:  # a failed verification, a body that raised, an interrupt: no figure
        mark_failed(benchmark)
        mark_used(benchmark, "failed before timing")
        raise


@pytest.fixture(scope="session")
def worker_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every multi-worker case, run once per session by --workers processes; keyed by (case, size, dtype)."""
    from ..measure.workers import WorkerGroup
    from ..processes import ChildFailed, PortsUnavailable

    config = request.config
    # The multi-worker family's own module, so the workers run its grid (float32 only), not the
    # mirrored family's (float32 and float64 in the full profile: half of it read by no test).
    module = config.rootpath / "benchmarks" / "bench_multiworker.py"
    timed = not benchmark_session(config).disabled  # under --benchmark-disable, each case runs once
    gpus = [name for name in config.stash[SELECTED] if name.startswith("GPU:")]
    group = WorkerGroup(
        config.getoption("workers"), module, config.getoption("profile"), tmp_path_factory.mktemp("workers"), WORKER_TIMEOUT_S, timed,
        config.stash.get(CHILD_BLOCK, 1), gpus,
    )
    request.addfinalizer(group.stop)
    started = time.perf_counter()
    try:
        per_worker = group.run()
    except PortsUnavailable as error:
        return {"skip": str(error)}
    except ChildFailed as error:
        return {"failed": str(error)}
    finally:
        config.stash[WORKERS_S] = time.perf_counter() - started
    return {"workers": per_worker}


@pytest.fixture
def worker_case(benchmark: Any, case: Any, device: str, size: str, dtype: str, block: int, threads: int | None, worker_results: dict) -> dict:
    """A multi-worker case: the chief worker's rounds, reported through the benchmark fixture."""
    from ..measure.run import worker_case as record_worker_case

    benchmark.group = f"{case.family}: {case.name} {size} {dtype}"
    mark_used(benchmark, "measured in worker processes")
    if "skip" in worker_results:
        pytest.skip(f"multi-worker cases need loopback ports: {worker_results['skip']}")
    if "failed" in worker_results:
        mark_failed(benchmark)
        pytest.fail(f"the worker group failed, so {case.name} has no result: {worker_results['failed']}", pytrace=False)
    try:
        return record_worker_case(benchmark, case, size, dtype, block, worker_results["workers"])
    except BaseException:  # a worker's failed verification or error: no figure
        mark_failed(benchmark)
        raise

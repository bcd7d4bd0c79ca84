"""The fixture a parameter-server family's test asks for: `cluster_case`, timed in a cluster's coordinator process.

Each cluster size the session selected (`1ps-2w` in a test id) is started once per block's
process, one after another, when its first case's test asks; its coordinator times every case of
the family and its outcomes are handed to the cases' benchmark fixtures, as a worker's are.
A cluster that fails (a task killed, a hang) fails its own cases, naming the task; the other
clusters and families of the run go on.
"""
from __future__ import annotations

from typing import Any

import pytest

from ..measure.hardware import HardwareError
from ..measure.rounds import hand_over
from .fixtures import WORKER_TIMEOUT_S, mark_failed, mark_used
from .state import CHILD_BLOCK, SELECTED, benchmark_session

__all__ = ["cluster_case", "cluster_results"]


@pytest.fixture(scope="session")
def cluster_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Per (ps, workers) cluster size: its coordinator's outcomes, or why it failed or was skipped; started on first use."""
    return {}


def _run_cluster(request: pytest.FixtureRequest, results: dict, cluster: tuple[int, int], module: str) -> dict[str, Any]:
    from ..measure.cluster import ClusterGroup
    from ..processes import ChildFailed, PortsUnavailable

    if cluster in results:
        return results[cluster]
    config = request.config
    ps, workers = cluster
    gpus = [name for name in config.stash[SELECTED] if name.startswith("GPU:")]
    timed = not benchmark_session(config).disabled  # under --benchmark-disable, each case runs once
    folder = request.getfixturevalue("tmp_path_factory").mktemp(f"cluster-{ps}ps-{workers}w")
    try:
        group = ClusterGroup(ps, workers, module, config.getoption("profile"), folder, WORKER_TIMEOUT_S, timed, config.stash.get(CHILD_BLOCK, 1), gpus)
    except HardwareError:  # its words name --workers, which sizes the multi-worker family, not a cluster
        results[cluster] = {"skip": f"the {ps}ps/{workers}w cluster's workers need a GPU each, {len(gpus)} selected: "
                                    "select more with --devices, or run its workers on CPUs with --devices cpu"}
        return results[cluster]
    request.session.config.add_cleanup(group.stop)
    try:
        outcome = group.run()
        results[cluster] = {"cases": {(e["case"], e["size"], e["dtype"]): e for e in outcome["cases"]}}
    except PortsUnavailable as error:
        results[cluster] = {"skip": f"parameter-server clusters need loopback ports: {error}"}
    except ChildFailed as error:
        results[cluster] = {"failed": str(error)}
    return results[cluster]


@pytest.fixture
def cluster_case(
    benchmark: Any, case: Any, device: str, size: str, dtype: str, block: int, cluster: tuple[int, int], cluster_results: dict,
    request: pytest.FixtureRequest,
) -> dict:
    """A parameter-server case: its coordinator's rounds and record, reported through the benchmark fixture."""
    ps, workers = cluster
    benchmark.group = f"{case.family}: {case.name} {size} {dtype} {ps}ps/{workers}w"
    mark_used(benchmark, "measured in a parameter-server cluster")
    found = _run_cluster(request, cluster_results, cluster, str(request.node.path))
    if "skip" in found:
        pytest.skip(found["skip"])
    if "failed" in found:
        mark_failed(benchmark)
        pytest.fail(f"the {ps}ps/{workers}w cluster failed, so {case.name} has no result: {found['failed']}", pytrace=False)
    entry = found["cases"].get((case.name, size, dtype))
    if entry is None or entry["error"]:
        if entry is not None and entry["skipped"]:
            pytest.skip(entry["error"])
        mark_failed(benchmark)
        pytest.fail(f"{case.name} {size} {dtype} in the {ps}ps/{workers}w cluster: {entry['error'] if entry else 'no result'}", pytrace=False)
    if entry["data"] and not benchmark.disabled:
        hand_over(benchmark, entry["data"], entry["iterations"])
    benchmark.extra_info.update(entry["record"])
    return entry["record"]

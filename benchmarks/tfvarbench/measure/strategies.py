"""The tf.distribute strategy a replicated case runs under: one MirroredStrategy per device group, or the worker's own.

A worker process of the multi-worker family registers its MultiWorkerMirroredStrategy here once
(`use_worker_strategy`); the cases then run under it through `Setup.strategy()`, unchanged. A
parameter-server coordinator registers its cluster (`use_cluster`); its cases get a
ParameterServerStrategy and ClusterCoordinator per variable partitioner (`parameter_servers`).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["cluster_size", "local_strategy", "parameter_servers", "use_cluster", "use_worker_strategy", "worker_count", "worker_strategy"]

_LOCAL: dict[tuple[str, ...], Any] = {}
_WORKER: dict[str, Any] = {}
_CLUSTER: dict[str, Any] = {}


def local_strategy(devices: Sequence[str]) -> Any:
    """One MirroredStrategy per device group for the whole process.

    Strategies on the same devices share collective instance keys, so a second strategy's
    all-reduce can collide with the first's: reuse, never rebuild.
    """
    import tensorflow as tf

    key = tuple(devices)
    if key not in _LOCAL:
        _LOCAL[key] = tf.distribute.MirroredStrategy([f"/device:{name}" for name in key])
    return _LOCAL[key]


def use_worker_strategy(strategy: Any, workers: int) -> None:
    """In a worker process: every replicated case from now on runs under `strategy`, across `workers` workers."""
    _WORKER.update(strategy=strategy, workers=workers)


def worker_strategy() -> Any:
    """This worker process's MultiWorkerMirroredStrategy, or None outside a worker."""
    return _WORKER.get("strategy")


def worker_count() -> int | None:
    """How many workers this worker's cluster has, or None outside a worker."""
    return _WORKER.get("workers")


def use_cluster(resolver: Any, ps: int, workers: int) -> None:
    """In a parameter-server coordinator: the cluster its cases' strategies connect to, and its size."""
    _CLUSTER.update(resolver=resolver, ps=ps, workers=workers, strategies={})


def cluster_size() -> tuple[int, int] | None:
    """(parameter servers, workers) of this coordinator's cluster, or None outside one."""
    return (_CLUSTER["ps"], _CLUSTER["workers"]) if _CLUSTER else None


def parameter_servers(name: str, partitioner: Any = None, record: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """(ParameterServerStrategy, ClusterCoordinator) whose variables are split by `partitioner` (None: whole).

    One per partitioner for the whole process, keyed by `name`: a strategy's partitioner is fixed
    when it is made, and every strategy of a process shares its connection to the cluster. A case's
    `record` gets the split's name and where the servers hold the variables.
    """
    import tensorflow as tf

    if not _CLUSTER:
        raise RuntimeError("parameter-server cases run in a coordinator process (tfvarbench.measure.cluster)")
    if record is not None:
        record.update(partitioner=name, ps_device="CPU (parameter servers keep to the CPU)")
    made = _CLUSTER["strategies"]
    if name not in made:
        strategy = tf.distribute.ParameterServerStrategy(_CLUSTER["resolver"], variable_partitioner=partitioner)
        made[name] = (strategy, tf.distribute.coordinator.ClusterCoordinator(strategy))
    return made[name]

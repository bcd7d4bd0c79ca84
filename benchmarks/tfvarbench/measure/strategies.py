"""The tf.distribute strategy a replicated case runs under: one MirroredStrategy per device group, or the worker's own.

A worker process of the multi-worker family registers its MultiWorkerMirroredStrategy here once
(`use_worker_strategy`); the cases then run under it through `Setup.strategy()`, unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["local_strategy", "use_worker_strategy", "worker_count", "worker_strategy"]

_LOCAL: dict[tuple[str, ...], Any] = {}
_WORKER: dict[str, Any] = {}


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

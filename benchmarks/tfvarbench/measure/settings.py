"""Settings that make a process's timings steadier, applied before TensorFlow's runtime starts and recorded.

A comparison of two runs made with different settings would measure the settings, so every run
records them and `tfvarbench compare` refuses runs whose settings differ.
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["apply", "release_affinity"]


def apply(threads: int | None, pin: bool) -> dict[str, Any]:
    """Set TensorFlow's thread pools and this process's CPU affinity; return what is now in force.

    `threads` sizes both the intra-op and inter-op pools (None: TensorFlow's default, one per
    core). `pin` keeps the process on one core (the last one: the parent and the shell stay on
    the first), so the scheduler cannot move it, with its caches, from core to core mid-round.
    """
    import tensorflow as tf

    if threads is not None:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if pin and cores:
        os.sched_setaffinity(0, {cores[-1]})
    return {
        "threads": threads,
        "pinned_to_core": cores[-1] if pin and cores else None,
        "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
    }


def release_affinity() -> None:
    """Let this process run on every core again (a worker process started by a pinned block)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))

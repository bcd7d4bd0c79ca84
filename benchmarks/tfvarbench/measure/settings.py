"""Settings that make a process's timings steadier, applied before TensorFlow's runtime starts and recorded.

A comparison of two runs made with different settings would measure the settings, so every run
records them and `tfvarbench compare` refuses runs whose settings differ.
"""
from __future__ import annotations

import os
from typing import Any

from .turns import taking_turns

__all__ = ["apply", "keep_to", "release_affinity", "thread_count", "worker_core"]


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


def worker_core(index: int) -> int | None:
    """The core worker `index` keeps to when the block that starts it is pinned (None when it is not).

    Each worker on a core of its own, so the two cannot share one or swap mid-round. Here that cut
    the spread of the multi-worker cases' block medians within a run from 4.0-4.7% to 2.5-3.2%,
    and their time by a quarter (six blocks, two runs each way, alternated).
    """
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) != 1:
        return None
    if taking_turns():  # the other cores run other pairs' blocks (tfvarbench ab): stay on the block's own
        return min(os.sched_getaffinity(0))
    return index % (os.cpu_count() or 1)


def keep_to(core: int | None) -> None:
    """Keep this process on `core`, or on every core when None (a worker process, started by a block)."""
    if core is None:
        release_affinity()
    elif hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})


def thread_count() -> dict[str, int]:
    """The thread count this process's pools were sized to (--threads), part of the case's identity; {} for TensorFlow's default."""
    import tensorflow as tf

    count = tf.config.threading.get_intra_op_parallelism_threads()
    return {"threads": count} if count else {}

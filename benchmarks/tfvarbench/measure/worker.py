"""Entry point of one multi-worker process: `python -m tfvarbench.measure.worker MODULE PROFILE OUT [MODE [BLOCK [DEVICE [LABEL]]]]`.

Runs every case of MODULE's family under this process's MultiWorkerMirroredStrategy, in lockstep
with the other workers, on DEVICE (default: its GPU:0 if it sees a GPU, else CPU:0), and writes the
timings and verdicts to OUT as JSON, each tagged with the run's BLOCK (the fresh process of the run
these workers belong to; see tfvarbench.blocks) and with LABEL, the run's name for DEVICE.

A case that fails its verification is recorded with the error and the group goes on: verification
comes after the case's last collective, so every worker is still in step. A case that raises
anything else may have raised in this worker only, before or between collectives the others are
already waiting in, so no common next step exists: this worker records the error (type and message)
in its log and its results and exits at once with status 1, and the group fails promptly with
that log's tail, so every case of the group fails naming the error instead of waiting out the
group's timeout.
"""
from __future__ import annotations

import gc
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from collections.abc import Callable

from ..processes import WORKER_CORE, parse_core
from ..runs import atomic_write
from .cases import PROFILES
from .hardware import physical_devices, prepare_runtime
from .setup import Setup, VerificationError
from .settings import keep_to
from .strategies import use_worker_strategy
from .rounds import Slot, run_passes
from .run import passes
from .phases import Phases, shares
from .timing import timed_once
from .iterations import agree
from .worker_sync import WorkerSync


def _agree(strategy: Any, value: float) -> float:
    """The mean of every worker's `value`: a plan made from it is identical on all workers.

    (ReduceOp has only SUM and MEAN; any common value will do, the point is that it is common.)
    """
    import tensorflow as tf

    per_replica = strategy.run(lambda: tf.constant(value, tf.float64))
    return float(strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None))


def _plan(strategy: Any, body: Any, profile: Any, synced_clock: Callable[[], float]) -> tuple[int, int]:
    """(iterations a round, calls made): planned from the workers' common estimate, so all run the same calls."""
    calls = 3
    start = synced_clock()
    for _ in range(calls):
        body()
    per_call = _agree(strategy, (synced_clock() - start) / calls)
    return max(1, math.ceil(profile.round_s / per_call)), calls


def main(
    module_path: str, profile_name: str, out: str, mode: str = "timed", block: str = "1", device: str | None = None, label: str | None = None
) -> int:
    """`mode` "once" runs and verifies each case once, untimed (the suite under --benchmark-disable)."""
    import tensorflow as tf

    # Configuring starts nothing; memory growth must be on before the strategy starts the runtime.
    # A pinned block gives each worker a core of its own; otherwise the worker may use every core.
    core = parse_core(os.environ.get(WORKER_CORE))
    keep_to(core)
    prepare_runtime(1)
    if device is None:
        device = "GPU:0" if any(found.device_type == "GPU" for found in physical_devices()) else "CPU:0"
    # The strategy must exist before any other op: it starts this worker's gRPC server.
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    # sync_devices() refuses to run in a cluster of workers; a read-back from each local device waits
    # for the step's kernels too, which eager async_wait does not on a GPU.
    sync = WorkerSync(list(strategy.extended.worker_devices))
    cluster = json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"]
    use_worker_strategy(strategy, len(cluster))
    spec = importlib.util.spec_from_file_location("multiworker_cases", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    profile = PROFILES[profile_name]
    results: list[dict[str, Any]] = []
    ready: list[tuple[Setup, dict[str, Any], Slot, Phases]] = []
    gc.disable()  # as in every timed loop of the suite: no round pays a collection
    timed = mode == "timed"

    def fail(entry: dict[str, Any], error: Exception) -> None:
        """Record a case that raised and stop this worker: the other workers may wait in its collectives."""
        entry["error"] = f"{type(error).__name__}: {error}"
        results.append(entry)
        print(f"{entry['case']} {entry['size']} {entry['dtype']}: {entry['error']}", flush=True)
        traceback.print_exc()
        # Out of step with the others: stop the group now (it fails at once when a worker exits,
        # naming this log's tail) instead of letting it wait out its timeout.
        atomic_write(out, json.dumps({"cases": results}))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # not SystemExit: TensorFlow's shutdown could wait for the stalled peers

    # Every case is built, first-called and planned, in grid order, then all are timed in passes
    # (as a block's own cases are: rounds.run_passes), then each is verified; every worker walks the
    # same order, so their collectives pair up.
    for case, size, dtype in module.family.grid(profile):
        phases = Phases()
        entry: dict[str, Any] = {"case": case.name, "size": size, "dtype": dtype, "block": int(block), "device": label or device, "error": None, "calls": 1}
        try:
            with phases.phase("build"):
                setup = Setup(device, dtype, size, profile, case.rows)
                body = case.build(setup)
            with phases.phase("first_call"):
                entry["first_call_s"], result = timed_once(body, sync.clock)
            with phases.phase("calibrate"):
                iterations, calls = _plan(strategy, body, profile, sync.clock) if timed else (0, 0)
                iterations = agree(f"workers/{case.family}/{case.name}/{size}/{dtype}", iterations) if timed else 0  # ab: the pair's count
        except Exception as error:  # noqa: BLE001 (anything a case raises fails it, named)
            fail(entry, error)
        entry["calls"] += calls
        ready.append((setup, entry, Slot(body, iterations, 1, result=result), phases))
    if timed:
        rounds = passes(profile)
        slots = [slot for _, _, slot, _ in ready]
        started = time.perf_counter()
        try:
            run_passes(slots, rounds, sync.clock, fail_fast=True)
        except Exception as error:  # noqa: BLE001
            fail(next(entry for _, entry, slot, _ in ready if slot.error is not None), error)
        for (*_, phases), share in zip(ready, shares(time.perf_counter() - started, [sum(s.data) * s.iterations for s in slots])):
            phases.add("timing", share)
    for setup, entry, slot, phases in ready:
        try:
            result = slot.result
            if timed:
                result = slot.body()  # one more call, in lockstep, for a result to check
                entry.update(data=slot.data, iterations=slot.iterations, rounds=rounds, calls=entry["calls"] + slot.calls + 1)
            with phases.phase("verify"):
                entry["checked"] = setup.verify(entry["calls"], result)
            entry["phase_s"] = phases.rounded()
            setup.info.update(sync=WorkerSync.method, gc="off", stack="fresh thread, 2 frames", worker_core=core)
            entry.update(info=setup.info, bytes=setup.bytes, elements=setup.elements)
        except VerificationError as error:  # checked after the case's last collective: still in step
            entry["error"] = str(error)
        except Exception as error:  # noqa: BLE001
            fail(entry, error)
        results.append(entry)
        print(f"{entry['case']} {entry['size']} {entry['dtype']}: {'verified' if entry['error'] is None else entry['error']}", flush=True)
    atomic_write(out, json.dumps({"cases": results}))
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(*sys.argv[1:8]))
    except Exception:
        traceback.print_exc()
        raise SystemExit(1)

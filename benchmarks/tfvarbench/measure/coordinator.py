"""Entry point of a parameter-server cluster's coordinator: `python -m tfvarbench.measure.coordinator MODULE PROFILE OUT MODE BLOCK LABEL PS WORKERS`.

It connects to the cluster that TF_CONFIG describes (its own task is TensorFlow's "chief"), then
runs every case of MODULE's family as a block's cases are run (tfvarbench.measure.run.run_batch):
built, first-called and calibrated in turn, timed in passes, verified. The bodies schedule
functions on the workers and wait in `coordinator.join()`, so every round ends after the servers
did the work, and the clock is a plain one (a device sync here would wait on every server). Each
outcome, with the records tagged with the cluster's size, is written to OUT as JSON; LABEL is the
run's name for the device the chief worker computes on. MODE "once" runs each case once, untimed.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ..processes import WORKER_CORE, parse_core
from ..runs import atomic_write, make_record
from .cases import PROFILES
from .devices import kind
from .hardware import prepare_runtime
from .run import Spec, run_batch, run_case
from .settings import keep_to
from .strategies import parameter_servers, use_cluster

__all__ = ["PROGRESS", "main"]

PROGRESS = "tfvarbench: "  # what the coordinator's own progress lines start with, among TensorFlow's (cluster.py quotes the last)


class _Once:
    """A benchmark fixture as --benchmark-disable makes it: the body is called once, untimed."""

    disabled, stats, cprofile = True, None, False

    def __init__(self) -> None:
        self.extra_info: dict[str, Any] = {}

    def pedantic(self, target: Any, **_: Any) -> Any:
        return target()


def headline(error: BaseException) -> str:
    """The error in one line. A traced function's error starts "in user code:" and a trace, and ends with the error itself."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if lines and lines[0].startswith("in user code"):
        return lines[-1]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def _entry(spec: Spec, record: dict[str, Any] | None, error: BaseException | None, data: list[float], iterations: int | None) -> dict[str, Any]:
    return {"case": spec.case.name, "size": spec.size, "dtype": spec.dtype, "block": spec.block, "record": record,
            "error": None if error is None else headline(error),
            "skipped": type(error).__name__ == "Unsupported", "data": data, "iterations": iterations}


def main(module_path: str, profile_name: str, out: str, mode: str, block: str, label: str, ps: str, workers: str) -> int:
    import importlib.util

    import tensorflow as tf

    keep_to(parse_core(os.environ.get(WORKER_CORE)))
    prepare_runtime(1)
    use_cluster(tf.distribute.cluster_resolver.TFConfigClusterResolver(), int(ps), int(workers))
    parameter_servers("whole")  # connects to the cluster: before any other op, or the runtime starts unconnected
    print(f"{PROGRESS}connected to {ps} ps and {workers} workers", flush=True)
    spec = importlib.util.spec_from_file_location("paramserver_cases", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    profile = PROFILES[profile_name]
    specs = [Spec(case, "CPU:0", size, dtype, int(block)) for case, size, dtype in module.family.grid(profile)]
    entries = []
    if mode == "timed":
        print(f"{PROGRESS}timing {len(specs)} cases in passes", flush=True)
        for spec, outcome in zip(specs, run_batch(specs, profile, clock=time.perf_counter)):
            entries.append(_entry(spec, outcome.record, outcome.error, outcome.data, outcome.iterations))
    else:
        for spec in specs:
            print(f"{PROGRESS}running {spec.case.name} {spec.size} {spec.dtype}", flush=True)
            try:
                entries.append(_entry(spec, run_case(_Once(), spec.case, spec.device, spec.size, spec.dtype, profile, spec.block), None, [], None))
            except Exception as error:  # noqa: BLE001 (the case's test reports it)
                entries.append(_entry(spec, None, error, [], None))
    for entry in entries:
        if entry["record"] is not None:  # the cluster's size is part of every case's identity; checked again as any record is
            entry["record"] = make_record({**entry["record"], "device": label, "device_kind": kind(label), "ps": int(ps), "workers": int(workers)})
        print(f"{entry['case']} {entry['size']} {entry['dtype']}: {entry['error'] or 'verified'}", flush=True)
    atomic_write(out, json.dumps({"cases": entries}))  # whole or absent: the parent reads it only after this process exited 0
    return 0


if __name__ == "__main__":
    try:
        code = main(*sys.argv[1:9])
    except Exception:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # not SystemExit: TensorFlow's shutdown of a remote context can wait on the servers

"""Multi-worker: the mirrored family's updates under MultiWorkerMirroredStrategy, across worker processes.

The harness starts --workers processes on 127.0.0.1 (TF_CONFIG, free ports); each runs every case
of bench_mirrored.py in lockstep, timed and verified on its own replica. The chief's rounds become
this run's cases (mode `multiworker`, workers and replicas in the record); every worker's median
and verdict are kept beside them.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tfvarbench.measure import Family

# The cases are bench_mirrored's own, by file: one definition of each update, two ways to run it.
CASES_FROM = Path(__file__).with_name("bench_mirrored.py")

family = Family("multiworker", dtypes=("float32",), in_workers=True)


def _mirrored_cases() -> list:
    import importlib.util

    spec = importlib.util.spec_from_file_location("mirrored_cases", CASES_FROM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [dataclasses.replace(case, family="multiworker", mode="multiworker") for case in module.family.cases]


family.cases.extend(_mirrored_cases())


def test_multiworker(worker_case: dict) -> None:
    """Every mirrored update across worker processes; timed in the workers and verified on each."""
    assert worker_case["verified"]

"""Worker processes for multi-worker cases: start them on 127.0.0.1, collect their timings, always stop them.

The harness starts N processes of `python -m tfvarbench.worker`, wired with TF_CONFIG on free
loopback ports. Each builds a MultiWorkerMirroredStrategy, runs every case of a family in lockstep
with the others (the same calls in the same order, as collectives require), times and verifies
them by the suite's rules, and writes its results as JSON. A worker that dies or hangs fails the
group (processes.ChildFailed) within a bounded timeout with its log tail; every process is killed by
process group on the way out, whatever happened (processes.Group).
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..processes import WORKER_CORE, Group, encode_core, exit_words, free_ports
from .hardware import worker_devices
from .settings import worker_core

__all__ = ["WorkerGroup", "harness_env"]


def harness_env(core: int | None) -> dict[str, str]:
    """What every process a block starts (worker, server, coordinator) needs besides its TF_CONFIG: this harness, its core, quiet logs."""
    harness = str(Path(__file__).resolve().parents[2])  # the folder that holds the tfvarbench package
    return {
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "PYTHONPATH": os.pathsep.join(filter(None, [harness, os.environ.get("PYTHONPATH")])),
        WORKER_CORE: encode_core(core),
    }


class WorkerGroup:
    """N worker processes running one family's cases; `run()` returns each worker's results.

    With `gpus` (the run's selected GPUs) each worker sees one of them as its own GPU:0 and times
    there; without, every worker times on its CPU:0 with GPUs hidden (hardware.worker_devices).
    """

    def __init__(
        self, workers: int, module: Path, profile: str, folder: Path, timeout_s: float = 300.0, timed: bool = True, block: int = 1,
        gpus: Sequence[str] = (),
    ) -> None:
        self.plans = worker_devices(workers, gpus)  # raises HardwareError for a count the GPUs cannot serve
        self.workers = workers
        self.module = Path(module)
        self.profile = profile
        self.folder = Path(folder)
        self.timeout_s = timeout_s
        self.mode = "timed" if timed else "once"
        self.block = block  # the run's block these workers time (tfvarbench.blocks)
        self.group = Group()

    def start(self) -> None:
        ports = free_ports(self.workers)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        self.folder.mkdir(parents=True, exist_ok=True)
        for index, plan in enumerate(self.plans):
            env = {
                **os.environ, **plan["env"], **harness_env(worker_core(index)),
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            }
            self.group.start(f"worker {index}", self.command(index), self.log_path(index), env=env)

    def command(self, index: int) -> list[str]:
        """Worker `index`'s command line: it times on its own device and records it under the run's
        name for that device (the parent's GPU:1 is that worker's only GPU, its GPU:0)."""
        plan = self.plans[index]
        where = [plan["device"], plan["gpu"] or plan["device"]]
        return [sys.executable, "-m", "tfvarbench.measure.worker", str(self.module), self.profile, str(self.result_path(index)), self.mode, str(self.block), *where]

    def result_path(self, index: int) -> Path:
        return self.folder / f"worker-{index}.json"

    def log_path(self, index: int) -> Path:
        return self.folder / f"worker-{index}.log"

    def wait(self) -> list[dict[str, Any]]:
        """Wait for every worker; the first that fails, or the timeout, stops them all and raises."""

        def failure(codes: list[int | None]) -> str | None:
            failed = [index for index, code in enumerate(codes) if code not in (None, 0)]
            if not failed:
                return None
            # A worker killed by a signal is the cause; the others then fail in their collectives
            # within moments (and exit 1 naming that), often by the same poll: name the cause.
            index = min(failed, key=lambda i: (codes[i] >= 0, i))  # type: ignore[operator]
            return f"worker {index} {exit_words(codes[index])}; its log ends:\n{self.group.children[index].tail()}"  # type: ignore[arg-type]

        def hung(codes: list[int | None]) -> str:
            still = [index for index, code in enumerate(codes) if code is None]
            return f"worker(s) {still} still running after {self.timeout_s:.0f} s; log of worker {still[0]} ends:\n{self.group.children[still[0]].tail()}"

        self.group.watch(lambda codes: all(code == 0 for code in codes), failure, self.timeout_s, hung)
        return [json.loads(self.result_path(index).read_text()) for index in range(self.workers)]

    def run(self) -> list[dict[str, Any]]:
        self.start()
        return self.wait()

    def stop(self) -> None:
        """Kill every worker's process group and reap it; safe to call any number of times."""
        self.group.stop()

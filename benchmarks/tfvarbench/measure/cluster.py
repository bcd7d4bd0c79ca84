"""A parameter-server cluster on 127.0.0.1: a coordinator, its workers and parameter servers, each a process.

The coordinator (`python -m tfvarbench.measure.coordinator`) runs a family's cases under
ParameterServerStrategy and writes their outcomes; the workers and parameter servers only serve
(`python -m tfvarbench.measure.server`). All are wired with TF_CONFIG on free loopback ports.
A server never exits by itself, so any that exits, or a coordinator that fails, fails the cluster
at once, naming the task ("ps 0 was killed by SIGKILL"); one that hangs fails it at the timeout.
Every process is killed by process group on the way out, whatever happened.
"""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..processes import ITERATIONS, Group, exit_words, free_ports, log_tail
from .coordinator import PROGRESS
from .hardware import worker_devices
from .settings import worker_core
from .workers import harness_env

__all__ = ["ClusterGroup"]


class ClusterGroup:
    """`ps` parameter servers, `workers` workers and a coordinator running `module`'s cases; `run()` returns its outcomes.

    Workers get GPUs as multi-worker ones do (hardware.worker_devices: one selected GPU each, or
    the CPU with GPUs hidden); parameter servers and the coordinator always keep to the CPU.
    """

    def __init__(
        self, ps: int, workers: int, module: Path, profile: str, folder: Path, timeout_s: float = 600.0, timed: bool = True,
        block: int = 1, gpus: Sequence[str] = (),
    ) -> None:
        self.plans = worker_devices(workers, gpus)  # raises HardwareError for a count the GPUs cannot serve
        self.ps, self.workers = ps, workers
        self.module, self.profile, self.folder = Path(module), profile, Path(folder)
        self.timeout_s, self.mode, self.block = timeout_s, "timed" if timed else "once", block
        self.tasks: list[tuple[str, int]] = [("ps", index) for index in range(ps)] + [("worker", index) for index in range(workers)]
        self.tasks.append(("coordinator", 0))
        self.group = Group()

    @property
    def label(self) -> str:
        """The topology as case names carry it: "2ps/1w"."""
        return f"{self.ps}ps/{self.workers}w"

    def log_path(self, task: tuple[str, int]) -> Path:
        return self.folder / f"{task[0]}-{task[1]}.log"

    @property
    def result_path(self) -> Path:
        return self.folder / "coordinator.json"

    def _env(self, cluster: dict[str, list[str]], task: tuple[str, int], position: int) -> dict[str, str]:
        kind, index = task
        devices = self.plans[index]["env"] if kind == "worker" else {"CUDA_VISIBLE_DEVICES": "-1"}
        return {
            **os.environ, **devices, **harness_env(worker_core(position)),
            # The coordinator is TensorFlow's "chief" task; the servers are named as the strategy names them.
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "chief" if kind == "coordinator" else kind, "index": index}}),
            **self._iterations(),
        }

    def _iterations(self) -> dict[str, str]:
        """The file of iterations the blocks share (measure/iterations.py), one per cluster size: its case names do not say the size."""
        shared = os.environ.get(ITERATIONS)
        return {ITERATIONS: str(Path(shared).with_suffix(f".{self.ps}ps-{self.workers}w.json"))} if shared else {}

    def command(self, task: tuple[str, int]) -> list[str]:
        if task[0] != "coordinator":
            return [sys.executable, "-m", "tfvarbench.measure.server"]
        plan = self.plans[0]
        label = plan["gpu"] or plan["device"]  # the run's name for the device the chief worker computes on
        return [sys.executable, "-m", "tfvarbench.measure.coordinator", str(self.module), self.profile, str(self.result_path), self.mode,
                str(self.block), label, str(self.ps), str(self.workers)]

    def start(self) -> None:
        ports = iter(free_ports(len(self.tasks)))
        cluster: dict[str, list[str]] = {"chief": [], "worker": [], "ps": []}
        for kind, _ in self.tasks:
            cluster["chief" if kind == "coordinator" else kind].append(f"127.0.0.1:{next(ports)}")
        self.folder.mkdir(parents=True, exist_ok=True)
        for position, task in enumerate(self.tasks):
            self.group.start(f"{task[0]} {task[1]}", self.command(task), self.log_path(task), env=self._env(cluster, task, position))

    def _failure(self, codes: list[int | None]) -> str | None:
        """The failed task's message, or None: a server that exited at all, or a coordinator that exited non-zero."""
        failed = [i for i, code in enumerate(codes) if code is not None and (self.tasks[i][0] != "coordinator" or code != 0)]
        if not failed:
            return None
        # A server killed is the cause; the coordinator then fails in its next call to it (exit 1): name the cause.
        i = min(failed, key=lambda i: (self.tasks[i][0] == "coordinator", codes[i] >= 0, i))  # type: ignore[operator]
        kind, index = self.tasks[i]
        doing = self._progress() if kind != "coordinator" else None
        where = f" while the coordinator was at: {doing}" if doing else ""
        return f"{kind} {index} of the {self.label} cluster {exit_words(codes[i])}{where}; its log ends:\n{log_tail(self.log_path(self.tasks[i]))}"  # type: ignore[arg-type]

    def _progress(self) -> str | None:
        """The coordinator's last progress line (among TensorFlow's own), or None before its first."""
        try:
            lines = self.log_path(("coordinator", 0)).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return None
        return next((line.split(PROGRESS, 1)[1] for line in reversed(lines) if line.startswith(PROGRESS)), None)

    def wait(self) -> dict[str, Any]:
        """Wait for the coordinator; the first task that fails, or the timeout, stops them all and raises processes.ChildFailed."""

        def hung(codes: list[int | None]) -> str:
            return f"the {self.label} cluster's coordinator still running after {self.timeout_s:.0f} s; its log ends:\n{self.group.children[-1].tail()}"

        self.group.watch(lambda codes: codes[-1] == 0, self._failure, self.timeout_s, hung)
        return json.loads(self.result_path.read_text())

    def run(self) -> dict[str, Any]:
        self.start()
        return self.wait()

    def stop(self) -> None:
        """Kill every task's process group and reap it; safe to call any number of times."""
        self.group.stop()

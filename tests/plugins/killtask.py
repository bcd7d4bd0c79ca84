"""A pytest plugin (for tests only) that kills one task of one parameter-server cluster while its coordinator times.

TFVARBENCH_KILL_TASK="2ps/1w:ps:0" kills parameter server 0 of the 2ps/1w cluster (its whole
process group, SIGKILL) half a second after that cluster's coordinator starts timing its cases,
as a crash of that server mid-case would. Load it with `PYTHONPATH=tests/plugins pytest benchmarks
-p killtask --blocks 1` (the cluster must run in this process).
"""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest


def _kill_when_timing(group, task: tuple[str, int]) -> None:
    deadline = time.monotonic() + 300
    coordinator_log = group.log_path(("coordinator", 0))
    while time.monotonic() < deadline:
        if coordinator_log.exists() and "timing" in coordinator_log.read_text(errors="replace"):
            time.sleep(0.5)  # inside the passes: every case is mid-flight
            os.killpg(group.group.children[group.tasks.index(task)].pid, signal.SIGKILL)
            return
        time.sleep(0.1)


def pytest_configure(config: pytest.Config) -> None:
    target = os.environ.get("TFVARBENCH_KILL_TASK")
    if not target:
        return
    label, kind, index = target.rsplit(":", 2)
    from tfvarbench.measure import cluster

    start = cluster.ClusterGroup.start

    def start_then_kill(self) -> None:
        start(self)
        if self.label == label:
            threading.Thread(target=_kill_when_timing, args=(self, (kind, int(index))), daemon=True).start()

    cluster.ClusterGroup.start = start_then_kill

"""Worker processes for multi-worker cases: start them on 127.0.0.1, collect their timings, always stop them.

The harness starts N processes of `python -m tfvarbench.worker`, wired with TF_CONFIG on free
loopback ports. Each builds a MultiWorkerMirroredStrategy, runs every case of a family in lockstep
with the others (the same calls in the same order, as collectives require), times and verifies
them by the suite's rules, and writes its results as JSON. A worker that dies or hangs fails the
group within a bounded timeout with its log tail; every process is killed by process group on the
way out, whatever happened.
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .hardware import worker_devices
from .settings import worker_core

__all__ = ["PortsUnavailable", "WorkerFailed", "WorkerGroup", "free_ports", "log_tail"]

class WorkerFailed(RuntimeError):
    """A worker died, failed or hung; the message carries its log tail."""


class PortsUnavailable(OSError):
    """No loopback port could be bound, so no cluster can be wired here."""


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that were free a moment ago (held together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(handle)  # before bind, so a socket that fails to bind is closed too
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    except OSError as error:
        raise PortsUnavailable(f"cannot bind a port on 127.0.0.1 ({error})") from None
    finally:
        for handle in sockets:
            handle.close()


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a process log, without gRPC's I0000 chatter; for one-line failure messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    kept = [line for line in text if "I0000" not in line and line.strip()]
    return "\n".join(kept[-lines:]) or "(empty log)"


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
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        ports = free_ports(self.workers)
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        self.folder.mkdir(parents=True, exist_ok=True)
        harness = str(Path(__file__).resolve().parents[2])  # the folder that holds the tfvarbench package
        atexit.register(self.stop)
        for index, plan in enumerate(self.plans):
            env = {
                **os.environ,
                **plan["env"],
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                "PYTHONPATH": os.pathsep.join(filter(None, [harness, os.environ.get("PYTHONPATH")])),
                "TFVARBENCH_WORKER_CORE": "" if worker_core(index) is None else str(worker_core(index)),
            }
            command = self.command(index)
            log = open(self.log_path(index), "wb")  # noqa: SIM115 (the child owns it until stop)
            # Own session and process group: stop() can kill the worker and anything it started.
            self.processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            log.close()

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
        deadline = time.monotonic() + self.timeout_s
        try:
            while True:
                codes = [process.poll() for process in self.processes]
                failed = [index for index, code in enumerate(codes) if code not in (None, 0)]
                if failed:
                    # A worker killed by a signal is the cause; the others then fail in their collectives
                    # within moments (and exit 1 naming that), often by the same poll: name the cause.
                    index = min(failed, key=lambda i: (codes[i] >= 0, i))
                    raise WorkerFailed(f"worker {index} exited with status {codes[index]}; its log ends:\n{log_tail(self.log_path(index))}")
                if all(code == 0 for code in codes):
                    break
                if time.monotonic() > deadline:
                    hung = [index for index, code in enumerate(codes) if code is None]
                    raise WorkerFailed(
                        f"worker(s) {hung} still running after {self.timeout_s:.0f} s; log of worker {hung[0]} ends:\n{log_tail(self.log_path(hung[0]))}"
                    )
                time.sleep(0.1)
        finally:
            self.stop()
        return [json.loads(self.result_path(index).read_text()) for index in range(self.workers)]

    def run(self) -> list[dict[str, Any]]:
        self.start()
        return self.wait()

    def stop(self) -> None:
        """Kill every worker's process group and reap it; safe to call any number of times."""
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

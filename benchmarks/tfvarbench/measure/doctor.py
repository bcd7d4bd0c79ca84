"""`tfvarbench doctor` (tfvarbench.cli.doctor): what this machine offers the suite, checked by starting TensorFlow as a run would.

Run it in a fresh process: it configures the runtime (memory growth, CPU split, soft placement)
before starting it, exactly as a benchmark process does, then reports what it got.
Every TensorFlow question goes through a `Machine`, so tests can simulate a 2-GPU box.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .devices import DeviceError, normalise, select
from .hardware import HardwareError, build, describe, logical_names, prepare_runtime, replica_groups, worker_devices
from .startup import kept

__all__ = ["Diagnosis", "Machine", "diagnose", "run"]


class Machine:
    """This machine as TensorFlow sees it: one method per question, each replaceable by a fake."""

    def __init__(self) -> None:
        self.startup_log: list[str] = []
        with kept(self.startup_log):
            import tensorflow as tf
        self.tf = tf
        self.config = tf.config

    def version(self) -> str:
        return self.tf.__version__

    def build_info(self) -> Mapping[str, Any]:
        return self.tf.sysconfig.get_build_info()

    def physical_devices(self) -> list[Any]:
        with kept(self.startup_log):  # CUDA probing speaks here
            return list(self.tf.config.list_physical_devices())

    def details(self, device: Any) -> Mapping[str, Any]:
        return self.tf.config.experimental.get_device_details(device)

    def cpu_model(self) -> str:
        from .machine import cpu_model

        return cpu_model()

    def logical_devices(self) -> list[str]:
        """The devices the runtime created; starts it."""
        with kept(self.startup_log):
            return [normalise(device.name) for device in self.tf.config.list_logical_devices()]

    def sync_cost(self, device: str, samples: int = 50) -> float:
        """Median seconds of one sync_devices() after a tiny op on `device` (what a timed round pays once)."""
        tf = self.tf
        costs = []
        for _ in range(samples):
            with tf.device(device):
                tf.zeros([]) + 1.0
            start = time.perf_counter()
            tf.test.experimental.sync_devices()
            costs.append(time.perf_counter() - start)
        return statistics.median(costs)

    def reports_peaks(self, device: str) -> bool:
        """Whether get_memory_info shows a peak after a 4 KiB tensor lives on `device` (GPUs do, CPUs give zeros)."""
        with self.tf.device(device):
            alive = self.tf.zeros([1024])  # noqa: F841 (kept alive while the peak is read)
        try:
            return self.tf.config.experimental.get_memory_info(device)["peak"] > 0
        except (ValueError, RuntimeError):
            return False

    def loopback_refused(self) -> str | None:
        """Why no port can be bound on 127.0.0.1, or None when one can (the multi-worker family needs that)."""
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as handle:
                handle.bind(("127.0.0.1", 0))
        except OSError as error:
            return str(error)
        return None


@dataclass
class Diagnosis:
    """The report's lines, and one line per problem that stops the suite running as asked."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _micro(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def diagnose(requested_devices: str = "all", logical_cpus: int = 1, workers: int = 2, machine: Machine | None = None) -> Diagnosis:
    """Configure and start TensorFlow as a run with these options would, and say what it found."""
    machine = machine or Machine()
    report = Diagnosis()
    say, problem = report.lines.append, report.problems.append
    built = build(machine.build_info())
    say(f"TensorFlow {machine.version()} ({built['summary']})")
    physical = machine.physical_devices()
    try:
        expected = logical_names(physical, logical_cpus)
        facts = prepare_runtime(logical_cpus, machine.config)
    except HardwareError as error:
        problem(str(error))
        return report
    try:
        selected = select(requested_devices, expected)
        if not selected:
            problem(f"--devices {requested_devices} selects none of: {', '.join(expected)}")
    except DeviceError as error:
        problem(str(error))
        selected = []
    present = machine.logical_devices()
    if present != expected:
        problem(f"TensorFlow created {', '.join(present)}, but {', '.join(expected)} were expected")
    gpus = [name for name in present if name.startswith("GPU:")]
    if built["is_cuda_build"] and not gpus:
        said = dict.fromkeys(line.split("] ", 1)[-1] for line in machine.startup_log if "cuda" in line.lower() or "gpu" in line.lower())
        say("no GPU found" + ("; TensorFlow said while starting:" if said else ""))
        report.lines.extend(f"  {line}" for line in said)
    say(f"devices (* = selected by --devices {requested_devices}):")
    for entry in describe(present, physical, machine.details, machine.cpu_model()):
        name = entry["name"]
        parts = [entry["description"]]
        if entry["kind"] == "GPU":
            growth = facts["memory_growth"].get(name, False)
            parts.append(f"memory growth {'on' if growth else 'off'}")
            if not growth:
                problem(f"{name}: memory growth is off, so the first op would reserve nearly all of its memory")
        parts.append(f"sync {_micro(machine.sync_cost(name))}")
        parts.append(f"memory peaks {'reported' if machine.reports_peaks(name) else 'not reported'}")
        say(f"  {'*' if name in selected else ' '} {name}: {'; '.join(parts)}")
    if facts["soft_placement"]:
        problem("soft placement is on: an op that cannot run on its device would silently run elsewhere")
    else:
        say("soft placement: off (an op that cannot run on its device raises)")
    if workers < 1:
        problem(f"--workers must be at least 1, got {workers}")
    else:
        _say_layout(report, selected, present, workers)
    refused = machine.loopback_refused()
    if refused:
        problem(f"cannot bind a port on 127.0.0.1 ({refused}): the multi-worker family cannot run")
    else:
        say("loopback: 127.0.0.1 ports can be bound (multi-worker family)")
    if not report.problems:
        flags = ([f"--devices {requested_devices}"] if requested_devices != "all" else []) + (
            [f"--logical-cpus {logical_cpus}"] if logical_cpus != 1 else []
        )
        say(f"next: pytest benchmarks {' '.join(flags)}".rstrip())
        if gpus and requested_devices == "all":
            say("      (or pytest benchmarks --devices gpu to time the GPUs only)")
    return report


def _say_layout(report: Diagnosis, selected: Sequence[str], present: Sequence[str], workers: int) -> None:
    """Which replica groups the mirrored family runs, and where the multi-worker family's workers go."""
    if not selected:
        return
    groups = replica_groups(selected, present=present)
    report.lines.append("replica groups: " + ", ".join(name for name, skip in groups if skip is None))
    report.lines.extend(f"  skipped {name}: {skip}" for name, skip in groups if skip)
    gpus = [name for name in selected if name.startswith("GPU:")]
    try:
        plans = worker_devices(workers, gpus)
    except HardwareError as error:
        report.lines.append(f"multi-worker: skipped: {error}")
        return
    where = "one GPU each: " + ", ".join(plan["gpu"] for plan in plans) if gpus else "each on its own CPU:0, GPUs hidden"
    report.lines.append(f"multi-worker: {workers} workers, {where}")


def run(args: argparse.Namespace, machine: Machine | None = None) -> int:
    """Print the report; 0 when the suite can run as asked, 2 with one stderr line per problem."""
    report = diagnose(args.devices, args.logical_cpus, args.workers, machine)
    print("\n".join(report.lines), flush=True)
    for line in report.problems:
        sys.stderr.write(f"tfvarbench doctor: {line}\n")
    return 2 if report.problems else 0

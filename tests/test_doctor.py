"""`tfvarbench doctor`: its report on simulated 1- and 2-GPU machines, and its verdict on this one."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tfvarbench.cli import main as tfvarbench
from tfvarbench.measure.doctor import diagnose, run
from tfvarbench.measure.hardware import Physical

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks"
H100 = {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}


class FakeMachine:
    """A GPU box as doctor's Machine answers for it; `events` records configuration and runtime start in order."""

    def __init__(self, gpus: int, growth_sticks: bool = True, loopback: str | None = None) -> None:
        self.physical = [Physical("CPU", "/physical_device:CPU:0")] + [Physical("GPU", f"/physical_device:GPU:{i}") for i in range(gpus)]
        self.events: list[tuple[Any, ...]] = []
        self.logical_cpus, self.started, self.soft = 1, False, True
        self.growth: dict[str, bool] = {}
        self.startup_log: list[str] = []
        self._loopback = loopback
        self._growth_sticks = growth_sticks
        self.config = SimpleNamespace(
            list_physical_devices=lambda kind=None: [d for d in self.physical if kind in (None, d.device_type)],
            experimental=SimpleNamespace(set_memory_growth=self._set_growth, get_memory_growth=lambda d: self.growth.get(d.name, False)),
            LogicalDeviceConfiguration=lambda: "logical device",
            set_logical_device_configuration=self._split,
            set_soft_device_placement=self._soft,
            get_soft_device_placement=lambda: self.soft,
        )

    def _set_growth(self, device: Physical, enable: bool) -> None:
        assert not self.started, "memory growth set after the runtime started"
        self.events.append(("set_memory_growth", device.name))
        self.growth[device.name] = enable and self._growth_sticks

    def _split(self, device: Physical, logical: list[Any]) -> None:
        self.events.append(("set_logical_device_configuration", len(logical)))
        self.logical_cpus = len(logical)

    def _soft(self, enabled: bool) -> None:
        self.soft = enabled

    def version(self) -> str:
        return "2.21.0"

    def build_info(self) -> dict[str, Any]:
        return {"is_cuda_build": True, "cuda_version": "12.5.1", "cudnn_version": "9"}

    def physical_devices(self) -> list[Physical]:
        return list(self.physical)

    def details(self, device: Physical) -> dict[str, Any]:
        return H100

    def cpu_model(self) -> str:
        return "AMD EPYC 9654"

    def logical_devices(self) -> list[str]:
        self.started = True
        self.events.append(("list_logical_devices",))
        gpus = len(self.physical) - 1
        return [f"CPU:{i}" for i in range(self.logical_cpus)] + [f"GPU:{i}" for i in range(gpus)]

    def sync_cost(self, device: str) -> float:
        return 12e-6 if device.startswith("GPU") else 2e-6

    def reports_peaks(self, device: str) -> bool:
        return device.startswith("GPU")

    def loopback_refused(self) -> str | None:
        return self._loopback


GPU_LINE = "NVIDIA H100 80GB HBM3, compute capability 9.0; memory growth on; sync 12.0 µs; memory peaks reported"


def test_report_of_a_two_gpu_machine() -> None:
    machine = FakeMachine(gpus=2)
    report = diagnose("all", 1, 2, machine=machine)
    assert report.problems == []
    assert report.lines == [
        "TensorFlow 2.21.0 (CUDA 12.5.1, cuDNN 9)",
        "devices (* = selected by --devices all):",
        "  * CPU:0: AMD EPYC 9654; sync 2.0 µs; memory peaks not reported",
        f"  * GPU:0: {GPU_LINE}",
        f"  * GPU:1: {GPU_LINE}",
        "soft placement: off (an op that cannot run on its device raises)",
        "replica groups: CPU:0, GPU:0, GPU:0+GPU:1",
        "  skipped 2 CPUs: 2 replicas on CPUs need 2 logical CPUs, 1 selected: run with --logical-cpus 2",
        "multi-worker: 2 workers, one GPU each: GPU:0, GPU:1",
        "loopback: 127.0.0.1 ports can be bound (multi-worker family)",
        "next: pytest benchmarks",
        "      (or pytest benchmarks --devices gpu to time the GPUs only)",
    ]
    # Memory growth on every GPU before the runtime started (no CPU split was asked for).
    assert machine.events == [
        ("set_memory_growth", "/physical_device:GPU:0"),
        ("set_memory_growth", "/physical_device:GPU:1"),
        ("list_logical_devices",),
    ]


def test_gpus_only_on_a_two_gpu_machine_with_two_logical_cpus() -> None:
    machine = FakeMachine(gpus=2)
    report = diagnose("gpu", 2, 2, machine=machine)
    assert machine.events[2:] == [("set_logical_device_configuration", 2), ("list_logical_devices",)]
    assert "    CPU:1: AMD EPYC 9654; sync 2.0 µs; memory peaks not reported" in report.lines
    assert "replica groups: GPU:0, GPU:0+GPU:1" in report.lines
    assert report.lines[-1] == "next: pytest benchmarks --devices gpu --logical-cpus 2"


def test_a_one_gpu_machine_skips_two_gpu_replicas_and_two_gpu_workers() -> None:
    report = diagnose("gpu", 1, 2, machine=FakeMachine(gpus=1))
    assert report.problems == []
    assert "replica groups: GPU:0" in report.lines
    assert "  skipped 2 GPUs: 2 replicas on GPUs need 2 GPUs, 1 selected: run on a machine with 2 GPUs, " \
           "or replicate over logical CPUs with --devices cpu --logical-cpus 2" in report.lines
    assert "multi-worker: skipped: --workers 2: each worker needs a GPU of its own, 1 selected (GPU:0): " \
           "use --workers 1, or run the workers on CPUs with --devices cpu" in report.lines


def test_memory_growth_that_did_not_take_is_a_problem() -> None:
    report = diagnose("all", 1, 2, machine=FakeMachine(gpus=2, growth_sticks=False))
    assert report.problems == [
        "GPU:0: memory growth is off, so the first op would reserve nearly all of its memory",
        "GPU:1: memory growth is off, so the first op would reserve nearly all of its memory",
    ]


def test_simulated_problems_exit_2_with_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    asked = argparse.Namespace(devices="GPU:2", logical_cpus=1, workers=2)
    assert run(asked, machine=FakeMachine(gpus=2, loopback="[Errno 1] Operation not permitted")) == 2
    assert capsys.readouterr().err.splitlines() == [
        "tfvarbench doctor: --devices: GPU:2 is not present on this machine; available: CPU:0, GPU:0, GPU:1",
        "tfvarbench doctor: cannot bind a port on 127.0.0.1 ([Errno 1] Operation not permitted): the multi-worker family cannot run",
    ]


def test_bad_options_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        tfvarbench(["doctor", "--logical-cpus", "two"])
    assert leaving.value.code == 2
    assert capsys.readouterr().err == "tfvarbench doctor: argument --logical-cpus: invalid int value: 'two'\n"
    assert run(argparse.Namespace(devices="all", logical_cpus=0, workers=2), machine=FakeMachine(gpus=0)) == 2
    assert capsys.readouterr().err == "tfvarbench doctor: --logical-cpus must be at least 1, got 0\n"


@pytest.fixture
def no_gpu() -> None:
    """These tests state what doctor says on a machine without GPUs, like the one they were written on."""
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("checks the report of a machine without GPUs")


def _doctor(*args: str) -> subprocess.CompletedProcess[str]:
    """`tfvarbench doctor` in a fresh interpreter: it must configure TensorFlow before the runtime starts."""
    env = {**os.environ, "PYTHONPATH": str(HARNESS)}
    return subprocess.run([sys.executable, "-m", "tfvarbench", "doctor", *args], env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.usefixtures("no_gpu")
def test_on_this_machine_two_logical_cpus_are_reported_truthfully() -> None:
    import tensorflow as tf

    done = _doctor("--logical-cpus", "2")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # TensorFlow's start-up chatter is kept, not printed
    lines = done.stdout.splitlines()
    devices = [line for line in lines if line.startswith("  * ")]
    assert [line[4:9] for line in devices] == ["CPU:0", "CPU:1"]
    assert all("; sync " in line and line.endswith("memory peaks not reported") for line in devices)
    assert lines[0].startswith(f"TensorFlow {tf.__version__} (")
    assert ("no GPU found" in done.stdout) == bool(tf.sysconfig.get_build_info().get("is_cuda_build"))
    assert "replica groups: CPU:0, CPU:0+CPU:1" in lines
    assert lines[-1] == "next: pytest benchmarks --logical-cpus 2"


@pytest.mark.usefixtures("no_gpu")
def test_on_this_machine_a_missing_gpu_is_one_line_and_exit_2() -> None:
    done = _doctor("--devices", "GPU:0")
    assert done.returncode == 2
    assert done.stderr == "tfvarbench doctor: --devices: GPU:0 is not present on this machine; available: CPU:0\n"

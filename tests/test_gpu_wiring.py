"""The GPU paths of a run, proven without a GPU: a simulated 1- and 2-GPU machine (tests/plugins/fakegpus.py),
the workers' devices, the machine info, and a blocked run's parent that never starts TensorFlow's runtime."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tfvarbench.measure.hardware import Physical
from tfvarbench.measure.workers import WorkerGroup

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"
H100 = {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}


def _simulated(gpus: int, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """pytest on the suite as a machine with `gpus` GPUs would run it; also what prepare_runtime did there."""
    log = tmp_path / f"runtime-{gpus}.json"
    env = {**os.environ, "TFVARBENCH_SIMULATE_GPUS": str(gpus), "TFVARBENCH_SIMULATE_LOG": str(log),
           "PYTHONPATH": os.pathsep.join([str(PLUGINS), str(ROOT / "benchmarks")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "fakegpus", "--blocks", "1", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return done, json.loads(log.read_text()) if log.exists() else {}


def _placements(stdout: str, module: str, case: str) -> list[str]:
    """The device (or group) of each collected test of `case` at size scalar, in collection order."""
    return re.findall(rf"^benchmarks/{module}::\w+\[{case}-scalar-float32-(.+)-block1\]$", stdout, re.MULTILINE)


def test_a_two_gpu_machine_times_every_case_on_each_gpu_and_groups_replicas_by_kind(tmp_path: Path) -> None:
    done, runtime = _simulated(2, tmp_path, "benchmarks", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert _placements(done.stdout, "bench_assign.py", "assign_add_no_read") == ["CPU:0", "GPU:0", "GPU:1"]
    # two replicas on CPUs need --logical-cpus 2: not collected, said once
    assert _placements(done.stdout, "bench_mirrored.py", "assign_add_sum") == ["CPU:0", "GPU:0", "GPU:0+GPU:1"]
    assert _placements(done.stdout, "bench_multiworker.py", "assign_add_sum") == ["GPU:0"]  # the chief's GPU, one GPU per worker
    assert _placements(done.stdout, "bench_reference.py", "cpu_yardstick") == ["CPU:0"]  # it measures the host
    # memory growth on both GPUs, then soft placement off; no CPU split was asked for
    assert runtime["calls"] == [
        ["set_memory_growth", "/physical_device:GPU:0", True], ["set_memory_growth", "/physical_device:GPU:1", True],
        ["set_soft_device_placement", False],
    ]
    assert runtime["facts"] == {"memory_growth": {"GPU:0": True, "GPU:1": True}, "logical_cpus": 1, "soft_placement": False}

    gpus_only, _ = _simulated(2, tmp_path, "benchmarks/bench_mirrored.py", "--collect-only", "-q", "--devices", "gpu", "--logical-cpus", "2")
    assert _placements(gpus_only.stdout, "bench_mirrored.py", "assign_add_sum") == ["GPU:0", "GPU:0+GPU:1"]
    both, _ = _simulated(2, tmp_path, "benchmarks/bench_mirrored.py", "--collect-only", "-q", "--devices", "cpu,gpu", "--logical-cpus", "2")
    assert _placements(both.stdout, "bench_mirrored.py", "assign_add_sum") == ["CPU:0", "CPU:0+CPU:1", "GPU:0", "GPU:0+GPU:1"]


def test_a_two_gpu_machine_times_every_sparse_case_on_each_gpu(tmp_path: Path) -> None:
    done, _ = _simulated(2, tmp_path, "benchmarks/bench_sparse.py", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = re.findall(r"^benchmarks/bench_sparse.py::test_sparse\[(\w+)-1Mi-float32-(.+)-block1\]$", done.stdout, re.MULTILINE)
    by_case: dict[str, list[str]] = {}
    for case, device in ids:
        by_case.setdefault(case, []).append(device)
    assert len(by_case) == 21 and set(map(tuple, by_case.values())) == {("CPU:0", "GPU:0", "GPU:1")}
    # row indices are int64 there: an int32 tensor "on" a GPU is kept in host memory (tests/test_sparse.py)


def test_a_one_gpu_machine_does_not_run_what_it_cannot_and_names_the_option_once_per_reason(tmp_path: Path) -> None:
    done, _ = _simulated(1, tmp_path, "benchmarks/bench_mirrored.py", "benchmarks/bench_multiworker.py",
                         "-k", "assign_add_sum and scalar and (CPUs or GPUs or workers)", "-rs", "-q")
    assert done.returncode == 5, done.stdout[-2000:] + done.stderr[-2000:]  # all deselected: no tests ran
    not_run = sorted(line.split("1 case not run: ", 1)[1] for line in done.stdout.splitlines() if " not run: " in line)
    assert not_run == [
        "--workers 2: each worker needs a GPU of its own, 1 selected (GPU:0): use --workers 1, or run the workers on CPUs with --devices cpu",
        "2 replicas on CPUs need 2 logical CPUs, 1 selected: run with --logical-cpus 2",
        "2 replicas on GPUs need 2 GPUs, 1 selected: run on a machine with 2 GPUs, or replicate over logical CPUs with --devices cpu --logical-cpus 2",
    ]
    assert "SKIPPED" not in done.stdout and "90 deselected" in done.stdout  # -k's 87 and the 3 not run


def test_a_missing_gpu_on_a_simulated_machine_is_one_usage_line(tmp_path: Path) -> None:
    done, _ = _simulated(2, tmp_path, "benchmarks", "--devices", "GPU:2", "--collect-only", "-q")
    assert done.returncode == 4
    assert [line for line in (done.stdout + done.stderr).splitlines() if line.strip()] == [
        "ERROR: --devices: GPU:2 is not present on this machine; available: CPU:0, GPU:0, GPU:1"
    ]


def test_workers_on_two_gpus_each_see_one_and_record_it_under_the_runs_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")  # the run's GPU:1 is CUDA device 3
    group = WorkerGroup(2, ROOT / "benchmarks" / "bench_mirrored.py", "quick", tmp_path, gpus=["GPU:0", "GPU:1"])
    assert [plan["env"] for plan in group.plans] == [
        {"CUDA_VISIBLE_DEVICES": "2", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}, {"CUDA_VISIBLE_DEVICES": "3", "TF_FORCE_GPU_ALLOW_GROWTH": "true"},
    ]
    assert [group.command(index)[-2:] for index in range(2)] == [["GPU:0", "GPU:0"], ["GPU:0", "GPU:1"]]  # times on, recorded as
    on_cpus = WorkerGroup(2, ROOT / "benchmarks" / "bench_mirrored.py", "quick", tmp_path)
    assert [plan["env"] for plan in on_cpus.plans] == [{"CUDA_VISIBLE_DEVICES": "-1"}] * 2
    assert on_cpus.command(1)[-2:] == ["CPU:0", "CPU:0"]


def test_machine_info_describes_simulated_gpus_and_records_the_runtime() -> None:
    from tfvarbench.measure.machine import collect

    physical = [Physical("CPU", "/physical_device:CPU:0"), Physical("GPU", "/physical_device:GPU:0"), Physical("GPU", "/physical_device:GPU:1")]
    info = collect(["CPU:0", "GPU:0", "GPU:1"], 1, "quick", physical=physical, details=lambda device: H100)
    assert [entry["description"] for entry in info["devices"]] == [
        info["cpu"]["model"], "NVIDIA H100 80GB HBM3, compute capability 9.0", "NVIDIA H100 80GB HBM3, compute capability 9.0",
    ]
    assert info["gpus_present"] == 2
    # this test session's own runtime, as the plugin prepared it: soft placement off, memory growth on for each GPU it has (none here)
    from tfvarbench.measure.hardware import physical_devices

    gpus = [f"GPU:{index}" for index, device in enumerate(d for d in physical_devices() if d.device_type == "GPU")]
    assert info["runtime"]["soft_placement"] is False and info["runtime"]["memory_growth"] == dict.fromkeys(gpus, True)


@pytest.mark.slow
def test_the_parent_of_a_blocked_run_never_starts_tensorflows_runtime(tmp_path: Path) -> None:
    report = tmp_path / "runtime.txt"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "runtimecheck", "benchmarks/bench_assign.py",
         "-k", "assign_add_no_read and scalar", "--blocks", "2", "-q", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(PLUGINS), "TFVARBENCH_RUNTIME_REPORT": str(report)},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # each block's process started it (it timed there), so the check can tell; the parent did not
    assert report.read_text().splitlines() == ["block 1: started", "block 2: started", "parent: not started"]


@pytest.mark.slow
def test_a_worker_times_on_its_device_and_closes_rounds_by_reading_back(tmp_path: Path) -> None:
    group = WorkerGroup(1, ROOT / "benchmarks" / "bench_mirrored.py", "quick", tmp_path / "workers", timeout_s=240, timed=False)
    [results] = group.run()
    cases = results["cases"]
    assert cases and [entry["error"] for entry in cases] == [None] * len(cases)
    assert {entry["device"] for entry in cases} == {"CPU:0"}  # GPUs hidden: the worker's CPU, under the run's name
    assert {entry["info"]["sync"] for entry in cases} == {"read-back"}

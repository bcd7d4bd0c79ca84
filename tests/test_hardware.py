"""The device layer: logical names, runtime preparation, replica groups and worker GPUs, on simulated 1- and 2-GPU machines and on this one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tfvarbench.measure.hardware import (
    HardwareError,
    Physical,
    build,
    describe,
    logical_names,
    prepare_runtime,
    replica_groups,
    worker_devices,
)

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks"
CPU = Physical("CPU", "/physical_device:CPU:0")
ONE_GPU = [CPU, Physical("GPU", "/physical_device:GPU:0")]
TWO_GPUS = [*ONE_GPU, Physical("GPU", "/physical_device:GPU:1")]


class FakeConfig:
    """tf.config for a simulated machine: records every call, and refuses device changes once `started`."""

    LogicalDeviceConfiguration = staticmethod(lambda: "logical device")

    def __init__(self, physical: list[Physical], started: bool = False) -> None:
        self.physical, self.started, self.calls = physical, started, []
        self.growth: dict[str, bool] = {}
        self.soft = True
        self.experimental = SimpleNamespace(set_memory_growth=self._set_growth, get_memory_growth=lambda d: self.growth.get(d.name, False))

    def list_physical_devices(self, device_type: str | None = None) -> list[Physical]:
        return [d for d in self.physical if device_type in (None, d.device_type)]

    def _set_growth(self, device: Physical, enable: bool) -> None:
        self.calls.append(("set_memory_growth", device.name, enable))
        if self.started:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth[device.name] = enable

    def set_logical_device_configuration(self, device: Physical, logical: list[Any]) -> None:
        self.calls.append(("set_logical_device_configuration", device.name, len(logical)))
        if self.started:
            raise RuntimeError("Virtual devices cannot be modified after being initialized")

    def set_soft_device_placement(self, enabled: bool) -> None:
        self.calls.append(("set_soft_device_placement", enabled))
        self.soft = enabled

    def get_soft_device_placement(self) -> bool:
        return self.soft


def run_python(code: str) -> Any:
    """Run `code` in a fresh interpreter (device setup is once per process); return the JSON it prints last."""
    env = {**os.environ, "PYTHONPATH": str(HARNESS), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("physical", "logical_cpus", "names"),
    [
        ([CPU], 1, ["CPU:0"]),
        ([CPU], 3, ["CPU:0", "CPU:1", "CPU:2"]),
        (ONE_GPU, 1, ["CPU:0", "GPU:0"]),
        (TWO_GPUS, 2, ["CPU:0", "CPU:1", "GPU:0", "GPU:1"]),
        ([CPU, Physical("TPU", "/physical_device:TPU:0"), *TWO_GPUS[1:]], 1, ["CPU:0", "GPU:0", "GPU:1"]),
    ],
)
def test_logical_names_split_the_cpu_and_give_one_name_per_gpu(physical: list[Physical], logical_cpus: int, names: list[str]) -> None:
    assert logical_names(physical, logical_cpus) == names


def test_logical_names_refuse_zero_cpus() -> None:
    with pytest.raises(HardwareError, match=r"^--logical-cpus must be at least 1, got 0$"):
        logical_names([CPU], 0)


@pytest.mark.parametrize("logical_cpus", [1, 2])
def test_logical_names_are_what_this_machine_creates(logical_cpus: int) -> None:
    names, created = run_python(f"""
        import json
        import tensorflow as tf
        from tfvarbench.measure.hardware import logical_names, physical_devices, prepare_runtime
        names = logical_names(physical_devices(), {logical_cpus})
        prepare_runtime({logical_cpus})
        print(json.dumps([names, [d.name.rsplit("device:", 1)[1] for d in tf.config.list_logical_devices()]]))
    """)
    assert names == created  # and the CPUs first, split as asked; a GPU machine's GPUs after them
    assert names[:logical_cpus] == [f"CPU:{index}" for index in range(logical_cpus)] and all(name.startswith("GPU:") for name in names[logical_cpus:])


def test_listing_physical_devices_and_naming_logical_ones_does_not_start_the_runtime() -> None:
    # set_logical_device_configuration raises RuntimeError once the runtime has started; the
    # control (after list_logical_devices, which does start it) shows this probe can fail.
    before, after = run_python("""
        import json
        import tensorflow as tf
        from tfvarbench.measure.hardware import logical_names, physical_devices

        def configurable(count):
            try:
                tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
                return True
            except RuntimeError:
                return False

        physical = physical_devices()
        logical_names(physical, 2)
        cpu = [d for d in physical if d.device_type == "CPU"][0]
        before = configurable(2)
        tf.config.list_logical_devices()
        print(json.dumps([before, configurable(3)]))
    """)
    assert (before, after) == (True, False)


def test_prepare_runtime_turns_memory_growth_on_for_every_gpu_before_anything_else() -> None:
    config = FakeConfig(TWO_GPUS)
    facts = prepare_runtime(2, config=config)
    assert config.calls == [
        ("set_memory_growth", "/physical_device:GPU:0", True),
        ("set_memory_growth", "/physical_device:GPU:1", True),
        ("set_logical_device_configuration", "/physical_device:CPU:0", 2),
        ("set_soft_device_placement", False),
    ]
    assert facts == {"memory_growth": {"GPU:0": True, "GPU:1": True}, "logical_cpus": 2, "soft_placement": False}


def test_prepare_runtime_leaves_one_cpu_unsplit_and_records_no_gpus_on_a_cpu_machine() -> None:
    config = FakeConfig([CPU])
    assert prepare_runtime(1, config=config) == {"memory_growth": {}, "logical_cpus": 1, "soft_placement": False}
    assert config.calls == [("set_soft_device_placement", False)]


def test_prepare_runtime_after_the_runtime_started_is_one_line_naming_the_option() -> None:
    with pytest.raises(HardwareError) as error:
        prepare_runtime(2, config=FakeConfig(ONE_GPU, started=True))
    assert str(error.value) == (
        "--logical-cpus 2: TensorFlow's runtime already started in this process, so its devices can no longer be configured"
    )


def test_replica_groups_on_two_gpus_are_gpu_only() -> None:
    assert replica_groups(["GPU:0", "GPU:1"]) == [("GPU:0", None), ("GPU:0+GPU:1", None)]


def test_replica_groups_never_mix_kinds_and_give_each_kind_its_own_groups() -> None:
    groups = replica_groups(["CPU:0", "CPU:1", "GPU:0", "GPU:1"])
    assert groups == [("CPU:0", None), ("CPU:0+CPU:1", None), ("GPU:0", None), ("GPU:0+GPU:1", None)]
    assert not any("CPU" in name and "GPU" in name for name, _ in groups)


def test_two_replicas_on_a_one_gpu_machine_are_skipped_with_what_would_run_them() -> None:
    assert replica_groups(["GPU:0"]) == [
        ("GPU:0", None),
        ("2 GPUs", "2 replicas on GPUs need 2 GPUs, 1 selected: run on a machine with 2 GPUs, "
         "or replicate over logical CPUs with --devices cpu --logical-cpus 2"),
    ]


def test_a_gpu_left_out_of_devices_is_named_in_the_skip() -> None:
    groups = replica_groups(["GPU:1"], counts=(2,), present=["CPU:0", "GPU:0", "GPU:1"])
    assert groups == [("2 GPUs", "2 replicas on GPUs need 2 GPUs, 1 selected: add GPU:0 to --devices (or use --devices gpu)")]


def test_cpu_groups_as_before_with_the_flag_that_adds_logical_cpus() -> None:
    assert replica_groups(["CPU:0"], counts=(1, 2, 4, "all")) == [
        ("CPU:0", None),
        ("2 CPUs", "2 replicas on CPUs need 2 logical CPUs, 1 selected: run with --logical-cpus 2"),
        ("4 CPUs", "4 replicas on CPUs need 4 logical CPUs, 1 selected: run with --logical-cpus 4"),
    ]
    assert replica_groups(["CPU:0", "GPU:0"], counts=(2,), present=["CPU:0", "CPU:1", "GPU:0"])[0] == (
        "2 CPUs", "2 replicas on CPUs need 2 logical CPUs, 1 selected: add CPU:1 to --devices (or use --devices cpu)"
    )


def test_workers_on_two_gpus_each_see_one_gpu_as_their_gpu_0() -> None:
    assert worker_devices(2, ["GPU:0", "GPU:1"], visible="") == [
        {"worker": 0, "env": {"CUDA_VISIBLE_DEVICES": "0", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}, "device": "GPU:0", "gpu": "GPU:0"},
        {"worker": 1, "env": {"CUDA_VISIBLE_DEVICES": "1", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}, "device": "GPU:0", "gpu": "GPU:1"},
    ]


def test_worker_gpus_follow_the_parents_cuda_visible_devices() -> None:
    # The parent sees CUDA devices 2 and 3 as its GPU:0 and GPU:1.
    plans = worker_devices(2, ["GPU:0", "GPU:1"], visible="2,3")
    assert [plan["env"]["CUDA_VISIBLE_DEVICES"] for plan in plans] == ["2", "3"]
    assert [plan["env"]["CUDA_VISIBLE_DEVICES"] for plan in worker_devices(1, ["GPU:1"], visible="2,3")] == ["3"]


def test_one_worker_on_a_two_gpu_machine_takes_the_first_selected_gpu_only() -> None:
    assert [plan["env"]["CUDA_VISIBLE_DEVICES"] for plan in worker_devices(1, ["GPU:0", "GPU:1"], visible="")] == ["0"]


def test_cpu_workers_hide_every_gpu() -> None:
    assert worker_devices(2) == [
        {"worker": 0, "env": {"CUDA_VISIBLE_DEVICES": "-1"}, "device": "CPU:0", "gpu": None},
        {"worker": 1, "env": {"CUDA_VISIBLE_DEVICES": "-1"}, "device": "CPU:0", "gpu": None},
    ]


def test_more_workers_than_gpus_is_refused_with_the_options_that_fit() -> None:
    with pytest.raises(HardwareError) as error:
        worker_devices(2, ["GPU:0"])
    assert str(error.value) == (
        "--workers 2: each worker needs a GPU of its own, 1 selected (GPU:0): use --workers 1, or run the workers on CPUs with --devices cpu"
    )
    with pytest.raises(HardwareError, match=r"^--workers must be at least 1, got 0$"):
        worker_devices(0)


def test_describe_reads_gpu_model_and_capability_and_survives_unreadable_details() -> None:
    def details(device: Physical) -> dict[str, Any]:
        if device.name.endswith("1"):
            raise ValueError("no details for this device")
        return {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}

    assert describe(["CPU:0", "GPU:0", "GPU:1"], TWO_GPUS, details=details, cpu_model="AMD EPYC") == [
        {"name": "CPU:0", "kind": "CPU", "description": "AMD EPYC"},
        {"name": "GPU:0", "kind": "GPU", "description": "NVIDIA H100 80GB HBM3, compute capability 9.0",
         "model": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"},
        {"name": "GPU:1", "kind": "GPU", "description": "unknown GPU", "model": "unknown GPU"},
    ]


def test_build_summarises_cuda_and_cpu_builds() -> None:
    cuda = build({"is_cuda_build": True, "cuda_version": "12.5.1", "cudnn_version": "9"})
    assert cuda == {"is_cuda_build": True, "cuda": "12.5.1", "cudnn": "9", "summary": "CUDA 12.5.1, cuDNN 9"}
    assert build({"is_cuda_build": False})["summary"] == "CPU build"

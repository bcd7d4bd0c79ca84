"""Device names, --devices parsing and device descriptions (GPU paths through injected device lists)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tfvarbench.measure.devices import DeviceError, describe, kind, normalise, same_device, select

PRESENT = ["CPU:0", "CPU:1", "GPU:0", "GPU:1"]


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("CPU:0", "CPU:0"),
        ("cpu:1", "CPU:1"),
        ("/device:GPU:1", "GPU:1"),
        ("device:gpu:0", "GPU:0"),
        ("/job:localhost/replica:0/task:0/device:CPU:1", "CPU:1"),
    ],
)
def test_normalise_accepts_every_spelling(raw: str, name: str) -> None:
    assert normalise(raw) == name


@pytest.mark.parametrize("raw", ["GPU", "CPU:x", "gpu0", "", "XPU:0"])
def test_normalise_rejects_non_names(raw: str) -> None:
    with pytest.raises(DeviceError, match="not a device name"):
        normalise(raw)


@pytest.mark.parametrize(
    ("spec", "chosen"),
    [
        ("all", PRESENT),
        ("cpu", ["CPU:0", "CPU:1"]),
        ("GPU", ["GPU:0", "GPU:1"]),
        ("gpu:1,cpu:0", ["CPU:0", "GPU:1"]),
        ("/device:GPU:0, all", PRESENT),
        ("CPU:1,cpu:1", ["CPU:1"]),
    ],
)
def test_select_resolves_groups_and_names_in_device_order(spec: str, chosen: list[str]) -> None:
    assert select(spec, PRESENT) == chosen


def test_select_gpu_group_on_a_cpu_machine_is_empty() -> None:
    assert select("gpu", ["CPU:0"]) == []


def test_select_names_the_missing_device_and_the_present_ones() -> None:
    with pytest.raises(DeviceError) as error:
        select("GPU:0", ["CPU:0", "CPU:1"])
    assert str(error.value) == "--devices: GPU:0 is not present on this machine; available: CPU:0, CPU:1"


@pytest.mark.parametrize("spec", ["", " , "])
def test_select_rejects_an_empty_spec(spec: str) -> None:
    with pytest.raises(DeviceError, match="empty"):
        select(spec, PRESENT)


def test_kind_and_same_device() -> None:
    assert kind("/device:GPU:3") == "GPU"
    assert same_device("/job:localhost/replica:0/task:0/device:CPU:1", "CPU:1")
    assert not same_device("/job:localhost/replica:0/task:0/device:CPU:0", "CPU:1")
    assert not same_device("", "CPU:0")


def test_describe_reads_gpu_model_and_compute_capability_from_injected_devices() -> None:
    gpus = [SimpleNamespace(device_type="GPU", name="/physical_device:GPU:0"), SimpleNamespace(device_type="GPU", name="g1")]
    physical = [SimpleNamespace(device_type="CPU", name="/physical_device:CPU:0"), *gpus]
    details = {id(gpus[0]): {"device_name": "NVIDIA H100 80GB HBM3", "compute_capability": (9, 0)}, id(gpus[1]): {}}
    described = describe(["CPU:0", "GPU:0", "GPU:1"], physical=physical, details=lambda d: details[id(d)], cpu_model="AMD EPYC")
    assert described == [
        {"name": "CPU:0", "kind": "CPU", "description": "AMD EPYC"},
        {
            "name": "GPU:0",
            "kind": "GPU",
            "model": "NVIDIA H100 80GB HBM3",
            "compute_capability": "9.0",
            "description": "NVIDIA H100 80GB HBM3, compute capability 9.0",
        },
        {"name": "GPU:1", "kind": "GPU", "model": "unknown GPU", "description": "unknown GPU"},
    ]


def test_describe_on_a_cpu_only_machine_asks_tensorflow_and_finds_no_gpu_details() -> None:
    described = describe(["CPU:0"])
    assert described[0]["kind"] == "CPU" and "model" not in described[0]

"""Device names and --devices parsing (device descriptions are tests/test_hardware.py's)."""
from __future__ import annotations

import pytest

from tfvarbench.measure.devices import DeviceError, kind, normalise, same_device, select

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

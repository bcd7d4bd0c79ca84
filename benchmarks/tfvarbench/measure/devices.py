"""Which TensorFlow devices a run uses: parsing --devices, logical CPUs, and device descriptions."""
from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = [
    "DeviceError",
    "startup_log",
    "available",
    "configure",
    "describe",
    "kind",
    "normalise",
    "select",
    "same_device",
]

_NAME = re.compile(r"^(?:/?device:)?(cpu|gpu|tpu):(\d+)$", re.IGNORECASE)
_GROUPS = ("all", "cpu", "gpu")


# What TensorFlow's native code printed while it started (oneDNN notes, CUDA probing). It is kept
# rather than shown: it would bury the run's own output, and it is saved with the machine info.
startup_log: list[str] = []


@contextmanager
def _native_stderr_captured() -> Iterator[None]:
    """Capture what native code writes to file descriptor 2 into `startup_log`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            startup_log.extend(line for line in sink.read().decode("utf-8", "replace").splitlines() if line.strip())


class DeviceError(ValueError):
    """A --devices value that names no device, or a device this machine does not have."""


def normalise(name: str) -> str:
    """'/device:gpu:1', 'GPU:1' and '/job:x/replica:0/task:0/device:GPU:1' all become 'GPU:1'."""
    tail = name.strip().rsplit("/", 1)[-1]
    match = _NAME.match(tail)
    if not match:
        raise DeviceError(f"{name!r} is not a device name (expected e.g. CPU:0 or GPU:1)")
    return f"{match.group(1).upper()}:{int(match.group(2))}"


def kind(name: str) -> str:
    """The device type of a device name: 'CPU', 'GPU' or 'TPU'."""
    return normalise(name).split(":")[0]


def same_device(placed: str, requested: str) -> bool:
    """Whether a tensor's or variable's .device string is the requested device."""
    return bool(placed) and normalise(placed) == normalise(requested)


def select(spec: str, present: Sequence[str]) -> list[str]:
    """Resolve a --devices value (comma list of all, cpu, gpu or names) against the devices present.

    The result keeps the order of `present` (CPUs before GPUs, by index) and holds each device once.
    A name that is not present is an error naming it and the devices that are.
    """
    present = [normalise(name) for name in present]
    tokens = [token.strip() for token in spec.split(",") if token.strip()]
    if not tokens:
        raise DeviceError("--devices is empty (expected all, cpu, gpu or names such as CPU:0)")
    wanted: set[str] = set()
    for token in tokens:
        lowered = token.lower()
        if lowered == "all":
            wanted.update(present)
        elif lowered in _GROUPS:
            wanted.update(name for name in present if kind(name) == lowered.upper())
        else:
            name = normalise(token)
            if name not in present:
                raise DeviceError(
                    f"--devices: {name} is not present on this machine; available: {', '.join(present) or 'none'}"
                )
            wanted.add(name)
    return [name for name in _ordered(present) if name in wanted]


def _ordered(names: Iterable[str]) -> list[str]:
    order = {"CPU": 0, "GPU": 1, "TPU": 2}
    return sorted(names, key=lambda name: (order.get(kind(name), 9), int(name.split(":")[1])))


def configure(logical_cpus: int = 1) -> None:
    """Split the CPU into `logical_cpus` devices and turn soft placement off, before TensorFlow starts.

    Soft placement off makes an op that cannot run on the requested device raise instead of
    silently running elsewhere, which would make a figure describe the wrong device.
    """
    if logical_cpus < 1:
        raise DeviceError(f"--logical-cpus must be at least 1, got {logical_cpus}")
    with _native_stderr_captured():
        import tensorflow as tf

        cpus = tf.config.list_physical_devices("CPU")
    if logical_cpus > 1:
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration()] * logical_cpus
            )
        except RuntimeError as error:  # the runtime started before us: say so, don't run on 1 device
            raise DeviceError(f"--logical-cpus {logical_cpus}: TensorFlow was already initialised ({error})") from None
    tf.config.set_soft_device_placement(False)


def available() -> list[str]:
    """The logical devices TensorFlow sees, as 'CPU:0', 'GPU:0', ... in run order."""
    import tensorflow as tf

    with _native_stderr_captured():  # the first listing initialises the runtime, which talks too
        return _ordered(normalise(device.name) for device in tf.config.list_logical_devices())


def describe(
    names: Sequence[str],
    physical: Sequence[Any] | None = None,
    details: Callable[[Any], dict[str, Any]] | None = None,
    cpu_model: str | None = None,
) -> list[dict[str, Any]]:
    """One dict per device: name, kind and a human description (GPU model and compute capability).

    `physical` and `details` default to TensorFlow's physical device list and
    get_device_details; tests inject both to exercise the GPU path on a CPU-only machine.
    """
    if physical is None or details is None:
        import tensorflow as tf

        physical = tf.config.list_physical_devices() if physical is None else physical
        details = tf.config.experimental.get_device_details if details is None else details
    gpus = [device for device in physical if getattr(device, "device_type", "") == "GPU"]
    described = []
    for name in names:
        entry: dict[str, Any] = {"name": normalise(name), "kind": kind(name)}
        if entry["kind"] == "GPU":
            index = int(entry["name"].split(":")[1])
            info = details(gpus[index]) if index < len(gpus) else {}
            model = info.get("device_name") or "unknown GPU"
            capability = info.get("compute_capability")
            entry["model"] = model
            if capability:
                entry["compute_capability"] = ".".join(str(part) for part in capability)
            entry["description"] = f"{model}, compute capability {entry['compute_capability']}" if capability else model
        else:
            entry["description"] = cpu_model or "CPU"
        described.append(entry)
    return described

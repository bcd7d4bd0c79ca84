"""Device names: parsing --devices against the devices present, and comparing placements.

Which devices are present, and how the runtime is prepared, is tfvarbench.measure.hardware.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = [
    "DeviceError",
    "kind",
    "missing_kernel",
    "normalise",
    "same_device",
    "select",
]

_NAME = re.compile(r"^(?:/?device:)?(cpu|gpu|tpu):(\d+)$", re.IGNORECASE)
_GROUPS = ("all", "cpu", "gpu")
# Errors TensorFlow raises when an op has no kernel for a dtype on a device type.
_NO_KERNEL = ("No OpKernel was registered", "no supported kernel", "Could not find device for node", "not supported on",
              "Detected unsupported operations")  # the last: XLA cannot compile an op of the function


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


def missing_kernel(message: str, op: str, mode: str, device: str, dtype: str) -> str | None:
    """Why `op` cannot run on `device`, when TensorFlow's error `message` says it has no kernel there (None for any other error)."""
    if not any(marker in message for marker in _NO_KERNEL):
        return None
    first = message.strip().splitlines()[0][:160]
    if "Detected unsupported operations" in message:
        return f"{op} [{mode}]: XLA cannot compile it on {device}: {first}"
    return f"{op} has no {dtype} kernel on {device}: {first}"


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

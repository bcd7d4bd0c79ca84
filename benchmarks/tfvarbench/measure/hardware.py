"""The devices a run can use, worked out from the physical device list before TensorFlow's runtime starts.

Listing logical devices starts the runtime, which on a GPU machine reserves nearly all of every
visible GPU's memory at once. Everything here therefore works from `tf.config.list_physical_devices()`
(which starts nothing) and is a pure function of it, so tests can hand in a simulated 2-GPU machine.
Only `prepare_runtime` changes TensorFlow, and only through the `config` it is given.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .devices import kind as _kind
from .startup import kept

__all__ = [
    "HardwareError",
    "Physical",
    "build",
    "describe",
    "logical_names",
    "physical_devices",
    "prepare_runtime",
    "replica_groups",
    "runtime_facts",
    "worker_devices",
]


class HardwareError(ValueError):
    """A request this machine cannot serve; the message is one line naming the option to change."""


class PhysicalLike(Protocol):
    device_type: str
    name: str


@dataclass(frozen=True)
class Physical:
    """A physical device as tf.config.PhysicalDevice shows it: Physical("GPU", "/physical_device:GPU:0")."""

    device_type: str
    name: str


def physical_devices() -> list[Any]:
    """TensorFlow's physical devices (CPU first, then GPUs). Does not start the runtime."""
    with kept():  # loading TensorFlow and probing CUDA speak on stderr; the log is saved with the run
        import tensorflow as tf

        return list(tf.config.list_physical_devices())


def _of_type(physical: Sequence[PhysicalLike], device_type: str) -> list[PhysicalLike]:
    return [device for device in physical if device.device_type == device_type]


def logical_names(physical: Sequence[PhysicalLike], logical_cpus: int) -> list[str]:
    """The logical devices the runtime will create, as "CPU:0".."CPU:N-1", "GPU:0".., in that order.

    The CPU is split into `logical_cpus` devices (prepare_runtime); each physical GPU becomes one
    logical GPU, numbered in physical order. Other device types are not benchmarked and not listed.
    """
    if logical_cpus < 1:
        raise HardwareError(f"--logical-cpus must be at least 1, got {logical_cpus}")
    cpus = [f"CPU:{index}" for index in range(logical_cpus)] if _of_type(physical, "CPU") else []
    return cpus + [f"GPU:{index}" for index in range(len(_of_type(physical, "GPU")))]


def prepare_runtime(logical_cpus: int, config: Any = None) -> dict[str, Any]:
    """Configure TensorFlow in a process that is about to start its runtime; returns the facts to record.

    Memory growth comes first, on every physical GPU: without it the first op reserves nearly all
    of each GPU's memory, which starves the other processes of the run (workers, blocks). Then the
    CPU split, then soft placement off, so an op that cannot run on its device raises instead of
    silently running elsewhere and making a figure describe the wrong device.
    `config` is `tf.config` unless a test passes a fake that records the calls.
    """
    if logical_cpus < 1:
        raise HardwareError(f"--logical-cpus must be at least 1, got {logical_cpus}")
    if config is None:
        import tensorflow as tf

        config = tf.config
    gpus = config.list_physical_devices("GPU")
    try:
        for gpu in gpus:
            config.experimental.set_memory_growth(gpu, True)
        if logical_cpus > 1:
            cpu = config.list_physical_devices("CPU")[0]
            config.set_logical_device_configuration(cpu, [config.LogicalDeviceConfiguration()] * logical_cpus)
    except RuntimeError:  # TensorFlow's text is about "virtual devices"; say what the user can act on
        raise HardwareError(
            f"--logical-cpus {logical_cpus}: TensorFlow's runtime already started in this process, so its devices can no longer be configured"
        ) from None
    config.set_soft_device_placement(False)
    return runtime_facts(logical_cpus, config)


def runtime_facts(logical_cpus: int, config: Any = None) -> dict[str, Any]:
    """How the runtime is configured, read back (TF_FORCE_GPU_ALLOW_GROWTH or an earlier call could disagree).

    Reading starts nothing, so the machine info of a run can record it at any time.
    """
    if config is None:
        import tensorflow as tf

        config = tf.config
    gpus = config.list_physical_devices("GPU")
    return {
        "memory_growth": {f"GPU:{index}": bool(config.experimental.get_memory_growth(gpu)) for index, gpu in enumerate(gpus)},
        "logical_cpus": logical_cpus,
        "soft_placement": bool(config.get_soft_device_placement()),
    }


def replica_groups(
    selected: Sequence[str], counts: Sequence[int | str] = (1, 2, "all"), present: Sequence[str] | None = None
) -> list[tuple[str, str | None]]:
    """(group, None) for each replica group to run, or (label, reason) for each to skip.

    Groups are made per device kind, never mixing CPUs and GPUs: a mirrored step over CPU:0+GPU:0
    waits for the slower device and its all-reduce crosses the bus, so it measures neither. Each
    kind in the selection gets its own groups of 1, 2 and all of its selected devices ("GPU:0",
    "GPU:0+GPU:1"): `--devices gpu` measures GPUs only, and `--devices all` (or `cpu,gpu`, which
    selects the same devices) measures both kinds. A count beyond what is selected is skipped with
    the option that would provide it. `present` (every device of the machine) sharpens that advice.
    """
    present = list(present) if present is not None else list(selected)
    groups: list[tuple[str, str | None]] = []
    for kind in ("CPU", "GPU"):
        have = [name for name in selected if _kind(name) == kind]
        if not have:
            continue
        wanted = dict.fromkeys(len(have) if count == "all" else int(count) for count in counts)
        for count in wanted:
            if count <= len(have):
                groups.append(("+".join(have[:count]), None))
            else:
                groups.append((f"{count} {kind}s", _short_of(kind, count, have, present)))
    return groups


def _short_of(kind: str, count: int, have: Sequence[str], present: Sequence[str]) -> str:
    unselected = [name for name in present if _kind(name) == kind and name not in have]
    missing = count - len(have)
    if kind == "GPU":
        need = f"{count} replicas on GPUs need {count} GPUs, {len(have)} selected: "
        if len(unselected) >= missing:
            return need + f"add {', '.join(unselected[:missing])} to --devices (or use --devices gpu)"
        return need + f"run on a machine with {count} GPUs, or replicate over logical CPUs with --devices cpu --logical-cpus {count}"
    need = f"{count} replicas on CPUs need {count} logical CPUs, {len(have)} selected: "
    if len(unselected) >= missing:
        return need + f"add {', '.join(unselected[:missing])} to --devices (or use --devices cpu)"
    return need + f"run with --logical-cpus {count}"


def worker_devices(workers: int, gpus: Sequence[str] = (), visible: str | None = None) -> list[dict[str, Any]]:
    """Per worker process: the environment to start it with and the device it times on.

    A MultiWorkerMirroredStrategy takes every GPU its process sees, so N workers on an N-GPU box
    would make N x N replicas. With `gpus` (the selected GPUs, e.g. ["GPU:0", "GPU:1"]) worker i
    sees only gpus[i], as its local "GPU:0": N workers, N replicas, one GPU each. Without GPUs the
    workers run on CPU:0 and GPUs are hidden ("-1"), which matters on a GPU machine under
    `--devices cpu` and costs nothing elsewhere. Fewer GPUs than workers is refused: two workers
    on one GPU would measure their contention, and NCCL rejects two ranks on one device.
    `visible` is the parent's CUDA_VISIBLE_DEVICES (default: this process's): the parent's GPU:i
    is its i-th entry, not CUDA device i.
    """
    if workers < 1:
        raise HardwareError(f"--workers must be at least 1, got {workers}")
    if not gpus:
        return [{"worker": index, "env": {"CUDA_VISIBLE_DEVICES": "-1"}, "device": "CPU:0", "gpu": None} for index in range(workers)]
    if len(gpus) < workers:
        raise HardwareError(
            f"--workers {workers}: each worker needs a GPU of its own, {len(gpus)} selected ({', '.join(gpus)}): "
            f"use --workers {len(gpus)}, or run the workers on CPUs with --devices cpu"
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES") if visible is None else visible
    ordinals = [entry.strip() for entry in visible.split(",")] if visible else None
    plans = []
    for index, name in enumerate(gpus[:workers]):
        position = int(name.split(":")[1])
        cuda = ordinals[position] if ordinals else str(position)
        # Growth by environment as well: the worker must build its strategy before anything else.
        env = {"CUDA_VISIBLE_DEVICES": cuda, "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
        plans.append({"worker": index, "env": env, "device": "GPU:0", "gpu": name})
    return plans


def describe(
    names: Sequence[str],
    physical: Sequence[PhysicalLike],
    details: Callable[[Any], Mapping[str, Any]] | None = None,
    cpu_model: str = "CPU",
) -> list[dict[str, Any]]:
    """One dict per device name: name, kind, description; GPUs add model and compute capability.

    `details` is tf.config.experimental.get_device_details unless a test injects a fake. A GPU
    whose details cannot be read (some pluggable devices raise) is described as "unknown GPU".
    """
    if details is None:
        import tensorflow as tf

        details = tf.config.experimental.get_device_details
    gpus = _of_type(physical, "GPU")
    described = []
    for name in names:
        entry: dict[str, Any] = {"name": name, "kind": _kind(name), "description": cpu_model}
        if entry["kind"] == "GPU":
            index = int(name.split(":")[1])
            try:
                info = dict(details(gpus[index])) if index < len(gpus) else {}
            except (ValueError, RuntimeError, NotImplementedError):
                info = {}
            entry["model"] = info.get("device_name") or "unknown GPU"
            entry["description"] = entry["model"]
            capability = info.get("compute_capability")
            if capability:
                entry["compute_capability"] = ".".join(str(part) for part in capability)
                entry["description"] += f", compute capability {entry['compute_capability']}"
        described.append(entry)
    return described


def build(build_info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """TensorFlow's build as a record: is_cuda_build and, on CUDA builds, the CUDA and cuDNN versions.

    `build_info` is tf.sysconfig.get_build_info() unless a test injects one. "summary" is the
    phrase a report shows: "CUDA 12.5.1, cuDNN 9" or "CPU build".
    """
    if build_info is None:
        import tensorflow as tf

        build_info = tf.sysconfig.get_build_info()
    record = {"is_cuda_build": bool(build_info.get("is_cuda_build")), "cuda": build_info.get("cuda_version"), "cudnn": build_info.get("cudnn_version")}
    if record["is_cuda_build"]:
        record["summary"] = f"CUDA {record['cuda'] or '?'}, cuDNN {record['cudnn'] or '?'}"
    elif build_info.get("is_rocm_build"):
        record["summary"] = "ROCm build"
    else:
        record["summary"] = "CPU build"
    return record

"""Machine and build facts saved with every run, so a figure can be traced to the hardware that made it."""
from __future__ import annotations

import platform
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import psutil

from . import hardware
from .startup import startup_log

__all__ = ["collect", "cpu_model"]


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _build_info(tf: Any) -> dict[str, Any]:
    info = dict(tf.sysconfig.get_build_info())
    keep = ("is_cuda_build", "is_rocm_build", "cuda_version", "cudnn_version", "cuda_compute_capabilities", "cpu_compiler")
    return {key: info[key] for key in keep if key in info}


def collect(
    devices: Sequence[str],
    logical_cpus: int,
    profile: str,
    physical: Sequence[Any] | None = None,
    details: Callable[[Any], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """TensorFlow version and build, the devices this run used (described), the runtime's set-up, CPU and memory.

    Reads only physical devices and configuration, so it starts no runtime. `physical` and
    `details` (TensorFlow's unless given) let a test describe a simulated GPU machine.
    """
    import tensorflow as tf

    physical = hardware.physical_devices() if physical is None else physical
    frequency = psutil.cpu_freq()
    model = cpu_model()
    return {
        "tensorflow": {"version": tf.__version__, "git_version": tf.version.GIT_VERSION, "build": _build_info(tf)},
        "devices": hardware.describe(devices, physical, details, cpu_model=model),
        "gpus_present": sum(device.device_type == "GPU" for device in physical),
        # What prepare_runtime set, read back: memory growth per GPU, the CPU split, soft placement.
        "runtime": hardware.runtime_facts(logical_cpus),
        "cpu": {
            "model": model,
            "physical_cores": psutil.cpu_count(logical=False),
            "logical_cores": psutil.cpu_count(logical=True),
            # psutil reports 0 where the hypervisor hides the frequency; 0 MHz would read as a fact.
            "max_mhz": (frequency.max or None) if frequency else None,
            "current_mhz": (frequency.current or None) if frequency else None,
        },
        "memory_bytes": psutil.virtual_memory().total,
        "logical_cpus": logical_cpus,
        "profile": profile,
        "tensorflow_startup_log": list(startup_log),
    }

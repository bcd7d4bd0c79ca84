"""A pytest plugin (for tests only) that shows the harness a machine with GPUs: TFVARBENCH_SIMULATE_GPUS=N.

The harness learns its devices only from `hardware.physical_devices()` and configures them only
through `hardware.prepare_runtime()`, so replacing those two is the whole simulation:
collection then parametrises, groups and skips exactly as on an N-GPU box. prepare_runtime runs
against a recording tf.config of that machine, and its calls and read-back facts are written as
JSON to TFVARBENCH_SIMULATE_LOG (when set). Only for collection and skips: nothing can run on a
simulated GPU. Load with `PYTHONPATH=tests/plugins:benchmarks pytest benchmarks -p fakegpus`.
"""
from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

from tfvarbench.measure import hardware
from tfvarbench.measure.hardware import Physical

GPUS = int(os.environ.get("TFVARBENCH_SIMULATE_GPUS", "0"))
MACHINE = [Physical("CPU", "/physical_device:CPU:0")] + [Physical("GPU", f"/physical_device:GPU:{i}") for i in range(GPUS)]


class SimulatedConfig:
    """tf.config of the simulated machine, recording every call that changes it."""

    LogicalDeviceConfiguration = staticmethod(lambda: "logical device")

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []
        self.growth: dict[str, bool] = {}
        self.soft = True
        self.experimental = SimpleNamespace(set_memory_growth=self._growth, get_memory_growth=lambda d: self.growth.get(d.name, False))

    def list_physical_devices(self, device_type: str | None = None) -> list[Physical]:
        return [d for d in MACHINE if device_type in (None, d.device_type)]

    def _growth(self, device: Physical, enable: bool) -> None:
        self.calls.append(["set_memory_growth", device.name, enable])
        self.growth[device.name] = enable

    def set_logical_device_configuration(self, device: Physical, logical: list[Any]) -> None:
        self.calls.append(["set_logical_device_configuration", device.name, len(logical)])

    def set_soft_device_placement(self, enabled: bool) -> None:
        self.calls.append(["set_soft_device_placement", enabled])
        self.soft = enabled

    def get_soft_device_placement(self) -> bool:
        return self.soft


_prepare = hardware.prepare_runtime


def _prepare_simulated(logical_cpus: int, config: Any = None) -> dict[str, Any]:
    simulated = SimulatedConfig()
    facts = _prepare(logical_cpus, simulated)
    if os.environ.get("TFVARBENCH_SIMULATE_LOG"):
        with open(os.environ["TFVARBENCH_SIMULATE_LOG"], "w", encoding="utf-8") as log:
            json.dump({"calls": simulated.calls, "facts": facts}, log)
    return facts


hardware.physical_devices = lambda: list(MACHINE)
hardware.prepare_runtime = _prepare_simulated

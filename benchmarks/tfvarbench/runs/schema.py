"""What a saved run must hold to be read: pytest-benchmark's JSON with a tfvarbench record per case.

A run that does not match is refused whole, with one line naming the file, the case and the field:
a figure read from a damaged file would be a lie, and a case dropped in silence would be another.
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .record import CaseRecord, Positive

__all__ = ["SAVED_RUN", "problem"]

_OPEN = ConfigDict(extra="allow", strict=True)  # pytest-benchmark writes more than tfvarbench reads


class Stats(BaseModel):
    model_config = _OPEN
    median: Positive
    iqr: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    data: Annotated[list[Positive], Field(min_length=1)]


class Benchmark(BaseModel):
    model_config = _OPEN
    name: str
    fullname: str | None = None
    stats: Stats
    extra_info: CaseRecord


class DeviceInfo(BaseModel):
    model_config = _OPEN
    name: str
    description: str | None = None


Spent = Annotated[float, Field(ge=0, allow_inf_nan=False)] | None


class BlockSpan(BaseModel):
    """Where one block's process spent its seconds (plugin/spent.py); every field may be missing."""

    model_config = _OPEN
    block: int | None = None
    wall_s: Spent = None
    startup_s: Spent = None
    tests_s: Spent = None
    workers_s: Spent = None
    save_s: Spent = None
    exit_s: Spent = None


class TimeSpent(BaseModel):
    model_config = _OPEN
    blocks: list[BlockSpan] = []


class GuardEntry(BaseModel):
    """One block's reference op on one device, timed as a case and as a plain loop (measure/guard.py)."""

    model_config = _OPEN
    block: int | None = None
    device: str
    reference: str | None = None
    case_s: list[Positive] = []
    plain_s: list[Positive] = []
    error: str | None = None


class TfvarbenchInfo(BaseModel):
    model_config = _OPEN
    devices: list[DeviceInfo] = []
    cpu: dict[str, Any] = {}
    tensorflow: dict[str, Any] = {}
    logical_cpus: int | None = None
    time_spent: TimeSpent | None = None  # runs saved before it was counted have none
    guard: list[GuardEntry] = []  # runs saved before the guard have none


class MachineInfo(BaseModel):
    model_config = _OPEN
    node: str | None = None
    tfvarbench: TfvarbenchInfo


class SavedRun(BaseModel):
    model_config = _OPEN
    machine_info: MachineInfo
    benchmarks: list[Benchmark]
    datetime: str | None = None
    commit_info: dict[str, Any] | None = None


SAVED_RUN = TypeAdapter(SavedRun)


def problem(error: ValidationError, data: Any) -> str:
    """The first thing wrong, in one line: which case (by its test name) and which field."""
    first = error.errors()[0]
    location = list(first["loc"])
    where = ""
    if location[:1] == ["benchmarks"] and len(location) > 1 and isinstance(location[1], int):
        index = location[1]
        bench = data["benchmarks"][index]
        name = bench.get("name") if isinstance(bench, dict) else None
        where = f"case {name}: " if name else ""
        location = location[2:] if name else [f"benchmarks[{index}]", *location[2:]]
    field = ".".join(str(part) for part in location)
    # pydantic names its models ("instance of Benchmark"); a JSON reader knows objects.
    message = re.sub(r"a valid dictionary( or instance of \w+)?", "an object", first["msg"]).rstrip(".")
    message = message[:1].lower() + message[1:]
    value = first.get("input")
    shown = f" (got {value!r})" if not isinstance(value, (dict, list)) and len(repr(value)) < 40 else ""
    return f"{where}{field}: {message}{shown}"

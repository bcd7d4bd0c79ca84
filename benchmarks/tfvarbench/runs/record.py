"""One case's record: what measurement writes into pytest-benchmark's `extra_info` and every reader reads.

A case's identity (which op, which way, on what) is defined here once, as `CaseIdentity`; its
fields are the axes of every table, the key of every grouping and, joined, the name thresholds
match. `CaseRecord` adds what the measurement found. `SavedCase` is a record as the readers see it
after loading: with its statistics, its blocks pooled, and its run's labels.
"""
from __future__ import annotations

import functools
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field
from typing_extensions import NotRequired, TypedDict  # pydantic reads TypedDicts from here before Python 3.12

__all__ = [
    "IDENTITY",
    "SIZES",
    "CaseIdentity",
    "CaseRecord",
    "SavedCase",
    "case_key",
    "case_name",
    "identity_of",
    "make_record",
    "variant_label",
]

# Size labels in the user's words; a scalar is a 0-d variable, the rest are vectors.
SIZES: dict[str, int] = {"scalar": 1, "1Ki": 1 << 10, "64Ki": 1 << 16, "1Mi": 1 << 20, "16Mi": 1 << 24}
Size = Literal["scalar", "1Ki", "64Ki", "1Mi", "16Mi"]

# What a saved number may be: a time is positive and finite (a NaN or negative median is damage,
# not a measurement); counts are whole and not negative.
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Seconds = Positive
Count = Annotated[int, Field(ge=0)]
Device = Annotated[str, Field(pattern=r"^(CPU|GPU|TPU):[0-9]+$")]


class CaseIdentity(TypedDict):
    """What a case is, in the user's words: the same identity is the same case, run after run."""

    # Strict: a number saved as a string is damage, not a number. Variants may add their own fields.
    __pydantic_config__ = ConfigDict(extra="allow", strict=True)

    family: str
    case: str
    op: str
    variant: str
    mode: str
    dtype: str
    size: Size
    device: Device
    replicas: NotRequired[Count | None]
    ps: NotRequired[Count | None]  # parameter-server tasks of the case's cluster
    workers: NotRequired[Count | None]
    rows: NotRequired[Count | None]  # rows of a table a call touches: the axis a table case's cost is fitted on
    threads: NotRequired[Count | None]  # TensorFlow's thread pools when set (--threads); the same case at 1 and 2 threads is two cases


IDENTITY: tuple[str, ...] = tuple(CaseIdentity.__annotations__)


class CaseRecord(CaseIdentity):
    """A case as measurement saves it (pytest-benchmark `extra_info`); variants may add fields (trace_count, ...)."""

    device_kind: Literal["CPU", "GPU", "TPU"]
    elements: Count
    bytes: Count
    gbps: Positive | None
    first_call_s: Seconds | None
    calls: Count
    iterations: Count | None
    rounds: Count | None
    verified: bool  # what `checked` says: at least one value compared with its reference after the case's calls
    checked: NotRequired[dict[str, Count]]  # what verification compared: values, placements, and after how many calls
    block: NotRequired[Count]
    profile: NotRequired[str]
    sync_s: NotRequired[Annotated[float, Field(ge=0, allow_inf_nan=False)] | None]
    sync_fraction: NotRequired[Annotated[float, Field(ge=0, allow_inf_nan=False)] | None]
    peak_device_bytes: NotRequired[Count | None]
    rss_growth_bytes: NotRequired[int | None]  # memory can be given back: growth may be negative
    devices: NotRequired[str]
    sync: NotRequired[str]
    worker_medians_s: NotRequired[list[Seconds | None]]
    trace_count: NotRequired[Count]
    gc: NotRequired[str]  # "off": no round paid a collection
    stack: NotRequired[str]  # where the body was called from ("shallow thread")
    stack_depth_added: NotRequired[Count]
    harness_s: NotRequired[Seconds]  # the timing loop's own cost per call in this process (an empty body)
    worker_core: NotRequired[Count | None]  # the core a worker of a pinned block kept to (None: every core)
    interleaved_with: NotRequired[Count]  # the other cases whose rounds took turns with this one's in its block
    settle_calls: NotRequired[Count]  # untimed calls before each of its timed rounds (the switch from the case before it)
    batch: NotRequired[Count]  # which batch of its block's process timed it: the cases of a batch were timed in the same passes
    table: NotRequired[str]  # a table case's rows x width ("16384x64")
    index_dtype: NotRequired[str]  # the dtype of its row indices on its device
    # Wall seconds of each phase of this case's measurement (build, first_call, calibrate, timing,
    # verify, memory: measure/phases.py); runs saved before they were counted have none.
    phase_s: NotRequired[dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]]]


class SavedCase(CaseRecord, total=False):
    """A record as readers see it: its rounds' statistics, its pooled blocks or runs, and its run's labels."""

    name: str
    fullname: str | None
    median_s: float
    iqr_s: float | None
    rel_iqr: float | None
    mean_s: float | None
    min_s: float | None
    max_s: float | None
    stddev_s: float | None
    rounds_measured: int | None
    data: list[float]
    blocks: int
    block_medians_s: list[float]
    block_rounds: list[list[float]]  # each block's rounds, in pass order
    block_ids: list[list[int | None]]  # [block, batch] of each
    pooled_runs: int
    device_label: str
    host: str
    run_id: str
    run_datetime: str


def make_record(identity: CaseIdentity, **measured: Any) -> CaseRecord:
    """The one way a record is made, for a case timed in this process and for one timed in workers alike."""
    record = {**identity, **measured}
    _record_adapter().validate_python(record)  # what no reader would accept is never saved
    return record  # type: ignore[return-value]


@functools.cache
def _record_adapter() -> Any:
    """The record's validator, built once per process (building one compiles its schema)."""
    from pydantic import TypeAdapter

    return TypeAdapter(CaseRecord)


def identity_of(case: dict[str, Any], leave_out: tuple[str, ...] = ()) -> tuple:
    """The case's identity as a tuple (for grouping), without the fields in `leave_out`."""
    return tuple(case.get(name) for name in IDENTITY if name not in leave_out)


def case_key(case: dict[str, Any]) -> tuple:
    """The identity without the device: the same case on every device (a row of the comparison)."""
    return identity_of(case, ("device",))


def case_name(case: dict[str, Any]) -> str:
    """The identity as thresholds match it by glob: family/case/size/dtype/device, then /Nr, /Nps, /Nw, /Nrows and /Nt."""
    name = "/".join(str(case.get(part)) for part in ("family", "case", "size", "dtype", "device"))
    name += "".join(f"/{case[key]}{suffix}" for key, suffix in (("replicas", "r"), ("ps", "ps"), ("workers", "w")) if case.get(key))
    return name + (f"/{case['rows']}rows" if case.get("rows") else "") + (f"/{case['threads']}t" if case.get("threads") else "")


def variant_label(case: dict[str, Any]) -> str:
    """The variant as tables show it: replicated cases add their counts, table cases their rows touched, and a set thread count."""
    variant = case.get("variant") or ""
    keys = ("ps", "workers", "replicas", "rows", "threads")
    spread = [f"{case[key]} {key if case[key] != 1 or key == 'ps' else key[:-1]}" for key in keys if case.get(key)]
    return f"{variant} [{', '.join(spread)}]" if spread else variant

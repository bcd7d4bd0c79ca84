"""The recommendations as data: per device and job, the measured ways ranked, device edges, traps and crossovers.

Made by `recommend.recommend`, worded by `advice`. Frozen records of plain values, so a report,
a terminal line or a test reads the same figures.
"""
from __future__ import annotations

from dataclasses import dataclass

from .jobs import Job

__all__ = ["Crossover", "DeviceAdvice", "DeviceEdge", "JobAdvice", "Ranking", "Recommendations", "RowCrossover", "Trap", "Way"]


@dataclass(frozen=True)
class Crossover:
    """A fitted device crossover for one op (input, e.g. from `model.crossover`).

    `faster` is the device label that is faster from `at_bytes` on, or throughout the measured
    range when `at_bytes` is None; None means the two are within noise of each other throughout.
    """

    op: str
    variant: str
    mode: str
    dtype: str
    first: str
    second: str
    at_bytes: float | None
    faster: str | None


@dataclass(frozen=True)
class RowCrossover:
    """Where a job's way and the way it is held against (`Job.against`, a dense update) trade places,
    in rows touched per call, from their cost lines on one device (input, e.g. from `findings.row_crossovers`).

    `faster` is "way" or "against": the side faster from `at_rows` on, or throughout the rows
    measured (`low_rows`..`high_rows`) when `at_rows` is None; None means within 5% throughout.
    """

    device: str
    way: str
    against: str
    dtype: str
    size: str
    low_rows: int
    high_rows: int
    at_rows: float | None
    faster: str | None


@dataclass(frozen=True)
class Way:
    """One measured way of doing a job at one size on one device."""

    label: str
    family: str
    case: str
    op: str
    variant: str
    mode: str
    median_s: float
    noise: float
    ratio_to_best: float  # median / the best way's median (1.0 for the best)
    tied_with_best: bool
    trace_count: int | None = None
    calls: int | None = None


@dataclass(frozen=True)
class Ranking:
    """The ways of a job at one dtype, size and replica/worker count, fastest first."""

    dtype: str
    size: str
    bytes: int | None
    replicas: int | None
    workers: int | None
    ways: tuple[Way, ...]
    common: Way | None
    speedup: float | None  # common idiom's median / the best's median
    speedup_tied: bool  # the best is within noise of the common idiom: no real speedup
    baseline: Way | None = None
    rows: int | None = None  # rows of a table touched per call, for a job on a table

    @property
    def best(self) -> Way:
        return self.ways[0]

    @property
    def tied_best(self) -> tuple[Way, ...]:
        return tuple(way for way in self.ways if way.tied_with_best)


@dataclass(frozen=True)
class DeviceEdge:
    """The best way of a ranking on this device against the same case on another device."""

    label: str
    dtype: str
    size: str
    replicas: int | None
    workers: int | None
    other: str
    this_s: float
    other_s: float
    ratio: float  # other / this: below 1 means the other device is faster
    tied: bool
    rows: int | None = None


@dataclass(frozen=True)
class Trap:
    """An idiom that costs more than the way it should be written, at one size."""

    key: str  # "python_float_retrace", "reduce_retracing", "host_round_trip", "read_value", "densify", "repeated_rows"
    slow: Way
    fast: Way
    dtype: str
    size: str
    ratio: float  # slow / fast
    tied: bool  # within noise: no cost on this machine
    rows: int | None = None


@dataclass(frozen=True)
class JobAdvice:
    job: Job
    rankings: tuple[Ranking, ...]
    versus: tuple[DeviceEdge, ...]
    crossovers: tuple[Crossover, ...]  # those involving this device and one of this job's ways
    row_crossovers: tuple[RowCrossover, ...] = ()  # this job's ways against its dense way, on this device


@dataclass(frozen=True)
class DeviceAdvice:
    device: str
    device_kind: str
    jobs: tuple[JobAdvice, ...]
    traps: tuple[Trap, ...]


@dataclass(frozen=True)
class Recommendations:
    devices: tuple[DeviceAdvice, ...]
    tie_floor: float  # the least difference that is not a tie

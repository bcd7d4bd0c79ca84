"""A table's rows, as data: a way's cell per size on one device, and the devices whose figures tie in one group.

Their own module because both the tables (`answer`) and the crossovers between their rows read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    """One way at one size on one device: its median, the spread of its blocks, its factor to the column's fastest."""
    case: str
    median_s: float
    low_s: float  # the lowest block median (the median itself without blocks)
    high_s: float
    factor: float  # its median over the column's fastest (1.0 for the fastest); whether that is a difference, `tied` says
    fastest: bool
    tied: bool  # not slower than the fastest beyond the floor and the noise (ties.py; the fastest too)
    source: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)  # the case, for paired comparisons


@dataclass(frozen=True)
class Row:
    """One way: its label, whether it is the job's common idiom, and a cell per size measured."""
    label: str
    identity: tuple[str, str, str]  # op, variant, mode
    common: bool
    cells: dict[str, Cell]


@dataclass(frozen=True)
class DeviceGroup:
    """Devices whose every figure in a table is tied with the first one's; the rows are the first device's."""
    devices: tuple[str, ...]
    rows: tuple[Row, ...]
    baseline: Row | None

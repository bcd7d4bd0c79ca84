"""What to use on this machine, as data: per job a table of ways by sizes, devices merged where they tie, crossovers, traps.

Input: the labelled case dicts of saved runs (`tables.labelled_cases`), optionally the cost model's fits,
device crossovers and dense/sparse crossovers in rows. A job on a table has a table per table size, its
columns the counts of rows touched per call. Out: plain frozen records that `glance` words and draws, for the page, summary.md,
the README and the end of a run alike. Jobs and traps are catalogued in `jobs`; wins and ties follow `ties`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..runs import devices_of
from ..runs.pool import block_medians
from .crossovers import DeviceCrossover, Overtake, RowCrossover, device_overtakes, way_overtakes
from .rows import Cell, DeviceGroup, Row
from .jobs import JOBS, Job, label_of, matches
from .model import Fit, model_key
from .ties import TIE_FLOOR, Judge, size_key
from .traps import TrapFigure, label as _label, traps as _traps

__all__ = ["Answer", "Cell", "DeviceGroup", "Gap", "JobTable", "Overtake", "Row", "TrapFigure", "answer"]


@dataclass(frozen=True)
class JobTable:
    """A job at one dtype, replica/worker/parameter-server and thread count (and table size): ways by sizes or rows touched, per group of tied devices."""
    job: Job
    dtype: str
    replicas: int | None
    workers: int | None
    sizes: tuple[str, ...]  # the column labels: sizes, or counts of rows ("1 row", "163 rows") for a job on a table
    groups: tuple[DeviceGroup, ...]
    overtakes: tuple[Overtake, ...]
    table: str | None = None  # the size of the table, for a job on a table
    dense: tuple[RowCrossover, ...] = ()  # its ways against its dense way (`Job.against`), device named as its group
    ps: int | None = None  # parameter-server tasks of the cases' cluster
    threads: int | None = None  # TensorFlow's thread pools, when the run set them (--threads)
    gaps: tuple[Gap, ...] = ()  # where a device group differs from the first: what parts them


@dataclass(frozen=True)
class Gap:
    """One way at one size on which a device group's first device differs from the table's first device, beyond noise."""
    way: str
    size: str
    device: str
    against: str
    ratio: float  # its median over the first device's


@dataclass(frozen=True)
class Answer:
    """Every job's tables and every trap's figures, for one set of cases."""
    tables: tuple[JobTable, ...]
    traps: tuple[TrapFigure, ...]
    devices: tuple[str, ...]
    tie_floor: float = TIE_FLOOR


def _identity(case: dict[str, Any]) -> tuple[str, str, str]:
    """A way, independent of which family measured it."""
    return case.get("op", ""), case.get("variant") or "", case.get("mode") or ""


def _column(case: dict[str, Any]) -> str:
    """The column a case is shown in: its size, or for a case on a table the rows it touches a call."""
    rows = case.get("rows")
    return f"{rows} row{'s' if rows != 1 else ''}" if rows else case["size"]


def _cells(members: list[dict[str, Any]], judge: Judge) -> dict[int, Cell]:
    """The cells of one column (one size, one device), keyed by id of their case."""
    best = min(members, key=lambda case: case["median_s"])
    cells = {}
    for case in members:
        found = judge.difference(best, case) if case is not best else None
        blocks = [median for median in block_medians(case) if median]  # type: ignore[arg-type]
        cells[id(case)] = Cell(
            case=case.get("case", ""), median_s=case["median_s"], low_s=min(blocks), high_s=max(blocks),
            factor=case["median_s"] / best["median_s"], fastest=case is best, tied=found is None or found.verdict == "tied", source=case,
        )
    return cells


def _job_cases(job: Job, cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases of a job; a way measured by two families is kept from the first selector that names it."""
    kept: dict[tuple, dict[str, Any]] = {}
    for selector in job.ways:
        for case in cases:
            if matches(case, selector):
                key = (case["device_label"], _identity(case), case["dtype"], case["size"], case.get("replicas"), case.get("workers"),
                       case.get("rows"), case.get("ps"), case.get("threads"))
                kept.setdefault(key, case)
    return list(kept.values())


def _device_rows(job: Job, mine: list[dict[str, Any]], show_mode: bool, columns: Sequence[str], judge: Judge) -> tuple[Row, ...]:
    cells: dict[int, Cell] = {}
    for column in {_column(case) for case in mine}:
        cells.update(_cells([case for case in mine if _column(case) == column], judge))
    rows: dict[tuple, dict[str, Any]] = {}
    for case in mine:
        entry = rows.setdefault(_identity(case), {"label": _label(case, show_mode), "common": False, "cells": {}})
        entry["cells"][_column(case)] = cells[id(case)]
        entry["common"] = entry["common"] or matches(case, job.common)
    first = next(c for c in columns if any(_column(case) == c for case in mine))  # rows in the order of the first column
    ordered = sorted(rows.items(), key=lambda item: item[1]["cells"][first].median_s if first in item[1]["cells"] else math.inf)
    return tuple(Row(entry["label"], identity, entry["common"], entry["cells"]) for identity, entry in ordered)


def _all_tied(a: tuple[Row, ...], b: tuple[Row, ...], judge: Judge) -> bool:
    other = {row.identity: row for row in b}
    pairs = [(cell, other[row.identity].cells[size]) for row in a if row.identity in other
             for size, cell in row.cells.items() if size in other[row.identity].cells]
    return bool(pairs) and all(judge.tied(x.source, y.source) for x, y in pairs)


def _baseline(job: Job, cases: Sequence[dict[str, Any]], device: str, key: tuple, judge: Judge) -> Row | None:
    found = [case for case in cases if job.baseline and case["device_label"] == device and matches(case, job.baseline)
             and _table_key(case) == key]
    if not found:
        return None
    cells = {_column(case): _cells([case], judge)[id(case)] for case in found}
    return Row(_label(found[0], False), _identity(found[0]), False, cells)


def _gaps(groups: Sequence[DeviceGroup], judge: Judge) -> tuple[Gap, ...]:
    """What parts each later device group from the first: its ways and sizes that differ beyond noise."""
    found = []
    for group in groups[1:]:
        for row in groups[0].rows:
            other = next((mine for mine in group.rows if mine.identity == row.identity), None)
            for size, cell in row.cells.items():
                theirs = other.cells.get(size) if other else None
                if theirs is not None and not judge.tied(cell.source, theirs.source):
                    found.append(Gap(row.label, size, group.devices[0], groups[0].devices[0], theirs.median_s / cell.median_s))
    return tuple(found)


def _table_key(case: dict[str, Any]) -> tuple:
    """The cases one table holds: a dtype, replica/worker count, for a case on a table its table size, parameter-server and thread count."""
    return case["dtype"], case.get("replicas"), case.get("workers"), case["size"] if case.get("rows") else None, case.get("ps"), case.get("threads")


def _dense(job: Job, groups: Sequence[DeviceGroup], key: tuple, found: Sequence[RowCrossover]) -> tuple[RowCrossover, ...]:
    """The dense/sparse crossovers of this table, said once per group of tied devices."""
    mine = [(group, x) for group in groups for x in found
            if job.against and x.against == label_of(job.against) and x.device == group.devices[0] and (x.dtype, x.size) == (key[0], key[3])]
    return tuple(replace(x, device=", ".join(group.devices)) for group, x in mine)


def _tables(job: Job, cases: Sequence[dict[str, Any]], devices: Sequence[str], fits: dict[tuple, Fit],
            crossovers: Sequence[DeviceCrossover], row_crossovers: Sequence[RowCrossover], judge: Judge) -> list[JobTable]:
    mine = _job_cases(job, cases)
    show_mode = len({case.get("mode") for case in mine}) > 1
    keys = {(case["device_label"], _identity(case), _table_key(case)[3::2]): model_key(case) for case in mine}  # table size, threads
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in mine:
        groups.setdefault(_table_key(case), []).append(case)
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[4] or 0, k[2] or 0, k[1] or 0, size_key(k[3]) if k[3] else 0, k[5] or 0)):
        members = groups[key]
        order = {_column(case): (case.get("rows") or 0, size_key(case["size"])) for case in members}
        sizes = tuple(sorted(order, key=order.__getitem__))
        merged: list[DeviceGroup] = []
        for device in devices:
            on_device = [case for case in members if case["device_label"] == device]
            if not on_device:
                continue
            rows = _device_rows(job, on_device, show_mode, sizes, judge)
            home = next((i for i, group in enumerate(merged) if _all_tied(group.rows, rows, judge)), None)
            if home is None:
                merged.append(DeviceGroup((device,), rows, _baseline(job, cases, device, key, judge)))
            else:
                merged[home] = DeviceGroup((*merged[home].devices, device), merged[home].rows, merged[home].baseline)
        dense = _dense(job, merged, key, row_crossovers)
        mine_keys = {k[:2]: v for k, v in keys.items() if k[2] == key[3::2]}
        overtakes = [o for group in merged for o in way_overtakes(group, sizes, mine_keys, fits, judge)  # a dense pair is said in `dense`
                     if not (dense and job.against and any(w.startswith(label_of(job.against)) for w in (o.faster, o.slower)))]
        overtakes += device_overtakes(merged[0].rows, key[0], crossovers)
        if key[3]:  # on a table the cost is fitted in the bytes of the rows touched (one width, one dtype): said in rows
            per_row = members[0]["bytes"] / members[0]["rows"]
            overtakes = [replace(o, at_bytes=None, at_rows=o.at_bytes / per_row if o.at_bytes is not None else None) for o in overtakes]
        out.append(JobTable(job, key[0], key[1], key[2], sizes, tuple(merged), tuple(overtakes), key[3], dense, key[4], key[5], _gaps(merged, judge)))
    return out


def answer(cases: Sequence[dict[str, Any]], fits: dict[tuple, Fit] | None = None, crossovers: Sequence[DeviceCrossover] = (),
           row_crossovers: Sequence[RowCrossover] = ()) -> Answer:
    """Every job of JOBS measured in these cases as tables (devices CPUs first), and every trap of TRAPS (`traps`)."""
    timed = [case for case in cases if case.get("median_s")]
    devices = devices_of(timed)
    judge = Judge(timed)
    tables = [table for job in JOBS for table in _tables(job, timed, devices, fits or {}, crossovers, row_crossovers, judge)]
    return Answer(tuple(tables), tuple(_traps(timed, devices, judge)), tuple(devices))

"""What to use on this machine, as data: per job a table of ways by sizes, devices merged where they tie, crossovers, traps.

Input: the labelled case dicts of saved runs (`tables.labelled_cases`), optionally the cost model's fits
and device crossovers. Out: plain frozen records that `glance` words and draws, for the page, summary.md,
the README and the end of a run alike. Jobs and traps are catalogued in `jobs`; wins and ties follow `ties`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..analysis.model import Fit, crossover, model_key
from .findings import DeviceCrossover
from .jobs import JOBS, TRAPS, Job, matches
from .tables import devices_of
from .ties import TIE_FLOOR, noise, size_key, tied

__all__ = ["Answer", "Cell", "DeviceGroup", "JobTable", "Overtake", "Row", "TrapFigure", "answer"]


@dataclass(frozen=True)
class Cell:
    """One way at one size on one device: its median, the spread of its blocks, its factor to the column's fastest."""
    case: str
    median_s: float
    low_s: float  # the lowest block median (the median itself without blocks)
    high_s: float
    noise: float
    factor: float  # median / the fastest median of its column (1.0 for the fastest)
    fastest: bool
    tied: bool  # within noise of the fastest (the fastest too)


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


@dataclass(frozen=True)
class Overtake:
    """One way or device overtakes another inside the measured sizes: slower at `before`, faster at `after`."""
    faster: str
    slower: str
    where: str  # the devices (for ways) or the way (for devices)
    before: str
    after: str
    at_bytes: float | None  # where the cost model puts the crossing, when it has fits for both


@dataclass(frozen=True)
class JobTable:
    """A job at one dtype and replica/worker/parameter-server count: ways by sizes, per group of tied devices."""
    job: Job
    dtype: str
    replicas: int | None
    workers: int | None
    sizes: tuple[str, ...]
    groups: tuple[DeviceGroup, ...]
    overtakes: tuple[Overtake, ...]
    ps: int | None = None  # parameter-server tasks of the cases' cluster


@dataclass(frozen=True)
class TrapFigure:
    """A trap at one size on a group of devices whose figures tie: the idiom's cost against the way to write it."""
    key: str
    slow: str
    fast: str
    devices: tuple[str, ...]
    size: str
    ratio: float  # the idiom's median / the way's
    tied: bool
    trace_count: int | None
    calls: int | None


@dataclass(frozen=True)
class Answer:
    """Every job's tables and every trap's figures, for one set of cases."""
    tables: tuple[JobTable, ...]
    traps: tuple[TrapFigure, ...]
    devices: tuple[str, ...]
    tie_floor: float = TIE_FLOOR


def _label(case: dict[str, Any], show_mode: bool) -> str:
    label = f"{case['op']}: {case.get('variant') or ''}".rstrip(": ")
    return f"{label} [{case.get('mode')}]" if show_mode else label


def _identity(case: dict[str, Any]) -> tuple[str, str, str]:
    """A way, independent of which family measured it."""
    return case.get("op", ""), case.get("variant") or "", case.get("mode") or ""


def _spread(case: dict[str, Any]) -> tuple[float, float]:
    blocks = [m for m in case.get("block_medians_s") or [] if m]
    return (min(blocks), max(blocks)) if len(blocks) >= 2 else (case["median_s"], case["median_s"])


def _cells(members: list[dict[str, Any]]) -> dict[int, Cell]:
    """The cells of one column (one size, one device), keyed by id of their case."""
    best = min(members, key=lambda case: case["median_s"])
    return {id(case): Cell(
        case=case.get("case", ""), median_s=case["median_s"], low_s=_spread(case)[0], high_s=_spread(case)[1], noise=noise(case),
        factor=case["median_s"] / best["median_s"], fastest=case is best,
        tied=tied(best["median_s"], noise(best), case["median_s"], noise(case)),
    ) for case in members}


def _job_cases(job: Job, cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cases of a job; a way measured by two families is kept from the first selector that names it."""
    kept: dict[tuple, dict[str, Any]] = {}
    for selector in job.ways:
        for case in cases:
            if matches(case, selector):
                key = (case["device_label"], _identity(case), case["dtype"], case["size"], case.get("replicas"), case.get("workers"), case.get("ps"))
                kept.setdefault(key, case)
    return list(kept.values())


def _device_rows(job: Job, mine: list[dict[str, Any]], show_mode: bool) -> tuple[Row, ...]:
    cells: dict[int, Cell] = {}
    for size in {case["size"] for case in mine}:
        cells.update(_cells([case for case in mine if case["size"] == size]))
    rows: dict[tuple, dict[str, Any]] = {}
    for case in mine:
        entry = rows.setdefault(_identity(case), {"label": _label(case, show_mode), "common": False, "cells": {}})
        entry["cells"][case["size"]] = cells[id(case)]
        entry["common"] = entry["common"] or matches(case, job.common)
    first = min((case["size"] for case in mine), key=size_key)  # rows in the order of the smallest size
    ordered = sorted(rows.items(), key=lambda item: item[1]["cells"][first].median_s if first in item[1]["cells"] else math.inf)
    return tuple(Row(entry["label"], identity, entry["common"], entry["cells"]) for identity, entry in ordered)


def _all_tied(a: tuple[Row, ...], b: tuple[Row, ...]) -> bool:
    other = {row.identity: row for row in b}
    pairs = [(cell, other[row.identity].cells[size]) for row in a if row.identity in other
             for size, cell in row.cells.items() if size in other[row.identity].cells]
    return bool(pairs) and all(tied(x.median_s, x.noise, y.median_s, y.noise) for x, y in pairs)


def _baseline(job: Job, cases: Sequence[dict[str, Any]], device: str, key: tuple) -> Row | None:
    found = [case for case in cases if job.baseline and case["device_label"] == device and matches(case, job.baseline)
             and (case["dtype"], case.get("replicas"), case.get("workers"), case.get("ps")) == key]
    if not found:
        return None
    cells = {case["size"]: _cells([case])[id(case)] for case in found}
    return Row(_label(found[0], False), _identity(found[0]), False, cells)


def _way_overtakes(group: DeviceGroup, sizes: Sequence[str], keys: dict[tuple, tuple], fits: dict[tuple, Fit]) -> list[Overtake]:
    """Pairs of ways that trade places between two neighbouring sizes, neither step inside noise."""
    found = []
    for a in group.rows:
        for b in group.rows:
            for before, after in zip(sizes, sizes[1:]):
                if not all(size in row.cells for row in (a, b) for size in (before, after)):
                    continue
                x0, y0, x1, y1 = a.cells[before], b.cells[before], a.cells[after], b.cells[after]
                if (x0.median_s < y0.median_s and not tied(x0.median_s, x0.noise, y0.median_s, y0.noise)
                        and y1.median_s < x1.median_s and not tied(x1.median_s, x1.noise, y1.median_s, y1.noise)):
                    fa, fb = fits.get(keys.get((group.devices[0], a.identity), ())), fits.get(keys.get((group.devices[0], b.identity), ()))
                    cross = crossover(fa, fb) if fa and fb else None
                    at = cross.at_bytes if cross is not None and cross.kind == "crossing" else None
                    found.append(Overtake(b.label, a.label, ", ".join(group.devices), before, after, at))
    return found


def _device_overtakes(table_rows: Sequence[Row], dtype: str, crossovers: Sequence[DeviceCrossover]) -> list[Overtake]:
    """The cost model's device crossovers for this table's ways: only those inside the measured range."""
    labels = {row.identity: row.label for row in table_rows}
    return [Overtake(x.faster, x.second if x.faster == x.first else x.first, labels[(x.op, x.variant, x.mode)], "", "", x.at_bytes)
            for x in crossovers if x.at_bytes is not None and x.faster and x.dtype == dtype and (x.op, x.variant, x.mode) in labels]


def _tables(job: Job, cases: Sequence[dict[str, Any]], devices: Sequence[str], fits: dict[tuple, Fit],
            crossovers: Sequence[DeviceCrossover]) -> list[JobTable]:
    mine = _job_cases(job, cases)
    show_mode = len({case.get("mode") for case in mine}) > 1
    keys = {(case["device_label"], _identity(case)): model_key(case) for case in mine}
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in mine:
        groups.setdefault((case["dtype"], case.get("replicas"), case.get("workers"), case.get("ps")), []).append(case)
    out = []
    for key in sorted(groups, key=lambda k: (k[0], k[3] or 0, k[2] or 0, k[1] or 0)):
        members = groups[key]
        sizes = tuple(sorted({case["size"] for case in members}, key=size_key))
        merged: list[DeviceGroup] = []
        for device in devices:
            on_device = [case for case in members if case["device_label"] == device]
            if not on_device:
                continue
            rows = _device_rows(job, on_device, show_mode)
            home = next((i for i, group in enumerate(merged) if _all_tied(group.rows, rows)), None)
            if home is None:
                merged.append(DeviceGroup((device,), rows, _baseline(job, cases, device, key)))
            else:
                merged[home] = DeviceGroup((*merged[home].devices, device), merged[home].rows, merged[home].baseline)
        overtakes = [o for group in merged for o in _way_overtakes(group, sizes, keys, fits)]
        overtakes += _device_overtakes(merged[0].rows, key[0], crossovers)
        out.append(JobTable(job, key[0], key[1], key[2], sizes, tuple(merged), tuple(overtakes), key[3]))
    return out


def _traps(cases: Sequence[dict[str, Any]], devices: Sequence[str]) -> list[TrapFigure]:
    figures = []
    for key, slow_sel, fast_sel in TRAPS:
        pairs: dict[tuple, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for slow in (case for case in cases if matches(case, slow_sel)):
            fast = next((case for case in cases if matches(case, fast_sel) and (case["device_label"], case["dtype"], case["size"])
                         == (slow["device_label"], slow["dtype"], slow["size"])), None)
            if fast is not None:
                pairs.setdefault((slow["dtype"], slow["size"]), []).append((slow, fast))
        for (_, size), found in sorted(pairs.items(), key=lambda item: (item[0][0], size_key(item[0][1]))):
            found.sort(key=lambda pair: devices.index(pair[0]["device_label"]))
            merged: list[list[tuple[dict[str, Any], dict[str, Any]]]] = []
            for slow, fast in found:
                home = next((g for g in merged if all(tied(a["median_s"], noise(a), b["median_s"], noise(b))
                                                      for a, b in ((g[0][0], slow), (g[0][1], fast)))), None)
                (home.append((slow, fast)) if home is not None else merged.append([(slow, fast)]))
            for group in merged:
                slow, fast = group[0]
                figures.append(TrapFigure(
                    key, _label(slow, False), _label(fast, False), tuple(s["device_label"] for s, _ in group), size, slow["median_s"] / fast["median_s"],
                    tied(fast["median_s"], noise(fast), slow["median_s"], noise(slow)), slow.get("trace_count"), slow.get("calls"),
                ))
    return figures


def answer(cases: Sequence[dict[str, Any]], fits: dict[tuple, Fit] | None = None, crossovers: Sequence[DeviceCrossover] = ()) -> Answer:
    """Every job of JOBS measured in these cases as tables (devices CPUs first), and every trap of TRAPS."""
    timed = [case for case in cases if case.get("median_s")]
    devices = devices_of(timed)
    tables = [table for job in JOBS for table in _tables(job, timed, devices, fits or {}, crossovers)]
    return Answer(tuple(tables), tuple(_traps(timed, devices)), tuple(devices))

"""Where two devices, or a way and the dense way it is held against, trade places: from the cost model's fits, held to paired evidence."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .jobs import JOBS, label_of, matches
from .model import Crossover, Fit, crossover, model_axis, model_key
from .rows import DeviceGroup, Row
from .ties import Judge

__all__ = ["DeviceCrossover", "Overtake", "RowCrossover", "crossovers_of", "device_crossovers", "device_overtakes", "row_crossovers", "way_overtakes"]


@dataclass(frozen=True)
class DeviceCrossover:
    """A fitted device crossover for one way (input, from `report.crossovers_of`).

    `faster` is the device faster from `at_bytes` on, or throughout the measured range when
    `at_bytes` is None; None means the two are within noise of each other throughout.
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
    """Where a job's way and the dense way it is held against (`Job.against`) trade places on one
    device, in rows touched per call, from their cost lines (input, from `row_crossovers`).

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


def device_crossovers(fits: dict[tuple, tuple[Fit, dict[str, Any]]]) -> list[tuple[dict[str, Any], dict[str, Any], Crossover]]:
    """For each op fitted on two devices or more: every pair of devices (a case of each) and where they cross."""
    by_op: dict[tuple, list[tuple[Fit, dict[str, Any]]]] = {}
    for key, (fit, case) in fits.items():
        by_op.setdefault(key[:-1], []).append((fit, case))  # the key's last field is the device
    pairs = []
    for members in by_op.values():
        for i, (first, first_case) in enumerate(members):
            for second, second_case in members[i + 1 :]:
                pairs.append((first_case, second_case, crossover(first, second)))
    return pairs


def row_crossovers(fits: dict[tuple, tuple[Fit, dict[str, Any]]]) -> list[RowCrossover]:
    """For each job held against a dense way (`Job.against`): where each of its ways, fitted against rows
    touched, and the dense way trade places on the same device, table size and dtype, in rows a call."""
    found = []
    for job in (job for job in JOBS if job.against):
        fitted = [(fit, case) for fit, case in fits.values() if case.get("rows") and any(matches(case, way) for way in job.ways)]
        for dense, dense_case in (pair for pair in fitted if matches(pair[1], job.against)):  # type: ignore[arg-type]
            per_row = dense_case["bytes"] / dense_case["rows"]
            for fit, case in fitted:
                if matches(case, job.against) or (case["device_label"], case["dtype"], case["size"]) != (
                    dense_case["device_label"], dense_case["dtype"], dense_case["size"]
                ):
                    continue
                x = crossover(fit, dense)
                if x.kind == "disjoint":
                    continue
                faster = None if x.kind == "tied" else ("against" if x.faster == "second" else "way")
                found.append(RowCrossover(
                    device=case["device_label"], way=f"{case['op']}: {case['variant']}", against=label_of(job.against),
                    dtype=case["dtype"], size=case["size"], low_rows=round(x.low_bytes / per_row), high_rows=round(x.high_bytes / per_row),
                    at_rows=x.at_bytes / per_row if x.at_bytes is not None else None, faster=faster,
                ))
    return found


def crossovers_of(fits: dict[tuple, tuple[Fit, dict[str, Any]]], cases: Sequence[dict[str, Any]]) -> list[DeviceCrossover]:
    """The cost model's device crossovers, held to what the measurements show (analysis/ties.py, paired).

    Pairs with no common sizes say nothing. Two devices cross only where, at the sizes both measured,
    one is slower beyond the floor and the noise at one size and faster at another: the fit of two
    noisy lines can "cross" where the measurements cannot tell them apart. One slower at some size
    and never faster is faster throughout; neither anywhere is a tie. A way two families measure is said once.
    """
    at = {(model_key(case), case[model_axis(case)]): case for case in cases}
    judge = Judge(cases)
    out: dict[tuple, DeviceCrossover] = {}
    for a, b, found in device_crossovers(fits):
        if found.kind == "disjoint":
            continue
        pairs = [(one, at.get((model_key(b), size))) for (key, size), one in at.items() if key == model_key(a)]
        seen = {judge.difference(x, y).verdict for x, y in pairs if y is not None}  # b against a at each size
        if "slower" in seen and "faster" in seen and found.kind == "crossing":
            faster, at_bytes = (a if found.faster == "first" else b)["device_label"], found.at_bytes
        elif seen - {"tied"} == {"slower"}:
            faster, at_bytes = a["device_label"], None
        elif seen - {"tied"} == {"faster"}:
            faster, at_bytes = b["device_label"], None
        else:
            faster, at_bytes = None, None
        record = DeviceCrossover(a["op"], a.get("variant", ""), a.get("mode", ""), a["dtype"], a["device_label"], b["device_label"], at_bytes, faster)
        out.setdefault((record.op, record.variant, record.mode, record.dtype, record.first, record.second), record)
    return list(out.values())


@dataclass(frozen=True)
class Overtake:
    """One way or device overtakes another inside the measured sizes: slower at `before`, faster at `after`."""
    faster: str
    slower: str
    where: str  # the devices (for ways) or the way (for devices)
    before: str
    after: str
    at_bytes: float | None  # where the cost model puts the crossing, when it has fits for both
    at_rows: float | None = None  # the same in rows touched a call, for ways on a table


def way_overtakes(group: DeviceGroup, sizes: Sequence[str], keys: dict[tuple, tuple], fits: dict[tuple, Fit], judge: Judge) -> list[Overtake]:
    """Pairs of ways that trade places between two neighbouring sizes: a faster than b at one beyond noise, slower at the next."""
    found = []
    for a in group.rows:
        for b in group.rows:
            for before, after in zip(sizes, sizes[1:]):
                if not all(size in row.cells for row in (a, b) for size in (before, after)):
                    continue
                x0, y0, x1, y1 = a.cells[before], b.cells[before], a.cells[after], b.cells[after]
                if judge.difference(x0.source, y0.source).verdict == "slower" and judge.difference(x1.source, y1.source).verdict == "faster":
                    fa, fb = fits.get(keys.get((group.devices[0], a.identity), ())), fits.get(keys.get((group.devices[0], b.identity), ()))
                    cross = crossover(fa, fb) if fa and fb else None
                    at = cross.at_bytes if cross is not None and cross.kind == "crossing" else None
                    found.append(Overtake(b.label, a.label, ", ".join(group.devices), before, after, at))
    return found


def device_overtakes(table_rows: Sequence[Row], dtype: str, crossovers: Sequence[DeviceCrossover]) -> list[Overtake]:
    """The cost model's device crossovers for this table's ways: only those inside the measured range."""
    labels = {row.identity: row.label for row in table_rows}
    return [Overtake(x.faster, x.second if x.faster == x.first else x.first, labels[(x.op, x.variant, x.mode)], "", "", x.at_bytes)
            for x in crossovers if x.at_bytes is not None and x.faster and x.dtype == dtype and (x.op, x.variant, x.mode) in labels]

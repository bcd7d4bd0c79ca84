"""Where a run's time went: each family and size's phases (build, first call, calibrate, timing, verify, memory), and each block's process.

A run should spend its seconds timing. The cases' records keep what each phase of measuring them
took (summed over their blocks), the run's machine info what each block's process spent starting,
running its tests and saving; this section puts the two side by side, as seconds, so the share
spent on anything but timing is plain. Runs saved before these were counted give no section.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..runs import SIZES, Run
from .document import Section

__all__ = ["PHASE_TITLES", "TITLE", "block_rows", "phase_rows", "sections"]

TITLE = "Where the time went"
# The record's phases (measure/phases.py), as the table heads them.
PHASE_TITLES = {"build": "build", "first_call": "first call", "calibrate": "calibrate", "timing": "timing", "verify": "verify", "memory": "memory"}
BLOCK_FIELDS = {"wall_s": "wall", "startup_s": "start-up", "tests_s": "tests", "workers_s": "of which workers", "save_s": "save", "exit_s": "exit"}


def _s(seconds: float | None) -> str:
    """Seconds as a budget reads them: 0.04 s, 3.2 s, 412 s."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    return f"{seconds:.0f} s"


def phase_rows(cases: Sequence[dict[str, Any]]) -> list[tuple[str, ...]]:
    """A row per family and size: cases, each phase's seconds, their total, and timing's share of it; a last row for them all."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("phase_s"):
            groups.setdefault((str(case.get("family")), str(case.get("size"))), []).append(case)
    order = sorted(groups, key=lambda key: (key[0], SIZES.get(key[1], 0)))
    everything = [case for key in order for case in groups[key]]
    rows = []
    for (family, size), members in [*((key, groups[key]) for key in order), (("all", ""), everything)]:
        totals = {name: sum(case["phase_s"].get(name, 0.0) for case in members) for name in PHASE_TITLES}
        whole = sum(totals.values())
        share = f"{totals['timing'] / whole:.0%}" if whole else "-"
        rows.append((family, size, str(len(members)), *(_s(totals[name]) for name in PHASE_TITLES), _s(whole), share))
    return rows if everything else []


def block_rows(run: Run) -> list[tuple[str, ...]]:
    """A row per block's process: its wall time and what it went on (start-up, tests, saving, exit)."""
    spans = ((run.machine.get("tfvarbench") or {}).get("time_spent") or {}).get("blocks") or []
    return [(str(span.get("block", "?")), *(_s(span.get(name)) for name in BLOCK_FIELDS)) for span in spans]


def sections(runs: Sequence[Run]) -> list[Section]:
    """The section for every run that counted its time (none for older runs)."""
    found = []
    for run in runs:
        phases, blocks = phase_rows(run.cases), block_rows(run)
        if not phases and not blocks:
            continue
        found.append(Section(f"{TITLE}: {run.run_id}", 1, _summary(run)))
        if phases:
            found.append(Section(
                "Per family and size", 2, "Seconds of each phase of measuring the cases, summed over their blocks.",
                ("family", "size", "cases", *PHASE_TITLES.values(), "total", "timing share"), tuple(phases),
            ))
        if blocks:
            found.append(Section(
                "Per block", 2, "Each block's process: start-up is Python, pytest, TensorFlow's import and collection;"
                " exit is what the process took to end after saving.",
                ("block", *BLOCK_FIELDS.values()), tuple(blocks),
            ))
    return found


def _summary(run: Run) -> str:
    spans = ((run.machine.get("tfvarbench") or {}).get("time_spent") or {}).get("blocks") or []
    timing = sum((case.get("phase_s") or {}).get("timing", 0.0) for case in run.cases)
    wall = sum(span.get("wall_s") or 0.0 for span in spans)
    if not wall:
        return f"The cases spent {_s(timing)} timing."
    return f"{len(spans)} blocks took {_s(wall)} in all, of which timing the cases took {_s(timing)} ({timing / wall:.0%})."

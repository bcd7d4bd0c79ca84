"""The cases of saved runs labelled for reading together: each with its device's label, host and run; devices in order."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .load import Run

__all__ = ["devices_of", "labelled_cases"]


def labelled_cases(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """All cases of all runs, each with a device_label: the device, or host/device when hosts differ."""
    hosts = {run.host for run in runs}
    labelled = []
    for run in runs:
        for case in run.cases:
            device = case["device"]
            label = device if len(hosts) == 1 else f"{run.host}/{device}"
            description = run.describe(device)
            if len(hosts) > 1 and description and case.get("device_kind") != "CPU":
                label = f"{label} ({description})"
            labelled.append({**case, "device_label": label, "host": run.host, "run_id": run.run_id, "run_datetime": run.datetime})
    return labelled


def devices_of(cases: Iterable[dict[str, Any]]) -> list[str]:
    """Device labels in first-seen order, CPUs first."""
    seen: dict[str, str] = {}
    for case in cases:
        seen.setdefault(case["device_label"], case.get("device_kind", ""))
    return sorted(seen, key=lambda label: (seen[label] != "CPU", list(seen).index(label)))

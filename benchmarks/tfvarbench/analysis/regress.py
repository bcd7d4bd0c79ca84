"""Regression verdicts between two sets of saved runs: one judgement per case from its blocks' medians.

A block is a fresh process, so its median is the unit of evidence (see verdict.py for the rule, in
three sentences). Each side pools its runs' blocks (the one pooling, runs/pool.py); every row also
says the smallest change the case could have detected with these blocks on this machine.
"""
from __future__ import annotations

import fnmatch
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..runs import Run, RunError, case_name, pool
from .verdict import ALPHA, VERDICTS, judge

__all__ = [
    "Comparison",
    "Row",
    "VERDICTS",
    "compare_runs",
    "load_thresholds",
    "machine_differences",
]

YARDSTICK = ("reference", "cpu yardstick")


@dataclass(frozen=True)
class Row:
    """One case in both baseline and current; times are medians of block medians."""

    name: str
    baseline_s: float
    current_s: float
    ratio: float
    p_value: float
    threshold: float
    verdict: str
    detectable: float  # the smallest change these blocks could have detected (a fraction)
    blocks_needed: int | None  # blocks a side that would bring `detectable` under the threshold
    baseline_blocks: int = 1
    current_blocks: int = 1


@dataclass
class Comparison:
    """All rows, cases found on one side only, and notes (e.g. a TensorFlow version change)."""

    rows: list[Row]
    only_baseline: list[str] = field(default_factory=list)
    only_current: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    normalised: bool = False

    @property
    def regressions(self) -> list[Row]:
        return [row for row in self.rows if row.verdict == "slower"]

    def detecting(self, change: float = 0.10) -> float:
        """The share of cases whose detectable change is at most `change`."""
        return sum(row.detectable <= change for row in self.rows) / len(self.rows) if self.rows else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "regressions": len(self.regressions),
            "normalised": self.normalised,
            "notes": self.notes,
            "share_detecting_10_percent": self.detecting(0.10),
            "median_detectable": statistics.median(row.detectable for row in self.rows) if self.rows else None,
            "rows": [asdict(row) for row in self.sorted_rows()],
            "only_baseline": self.only_baseline,
            "only_current": self.only_current,
        }

    def sorted_rows(self) -> list[Row]:
        """Regressions first (worst first), then faster, then the rest."""
        order = {verdict: index for index, verdict in enumerate(VERDICTS)}
        return sorted(self.rows, key=lambda row: (order[row.verdict], -abs(row.ratio - 1)))


def load_thresholds(path: Path | None) -> dict[str, float]:
    """Per-case thresholds from [tool.tfvarbench.thresholds] in a pyproject.toml: {glob: fraction}."""
    if path is None or not path.exists():
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{path}: not valid TOML ({error})") from None
    table = data.get("tool", {}).get("tfvarbench", {}).get("thresholds", {})
    if not isinstance(table, dict):
        raise RunError(f"{path}: [tool.tfvarbench.thresholds] must be a table of glob = fraction")
    for glob, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10:
            raise RunError(f"{path}: threshold for {glob!r} must be a fraction such as 0.1, got {value!r}")
    return {str(glob): float(value) for glob, value in table.items()}


def machine_differences(baseline: Sequence[Run], current: Sequence[Run]) -> tuple[list[str], list[str]]:
    """(machine differences, software notes) between the two sides.

    The machine is the CPU model, the device set with descriptions, the logical-CPU split and the
    TensorFlow build flavour (CUDA or not): a change there makes figures incomparable. The
    TensorFlow version is software: comparing versions is a purpose of this command, so a
    version change is reported as a note, not refused.
    """

    def facts(run: Run) -> dict[str, Any]:
        info = run.machine.get("tfvarbench", {})
        build = info.get("tensorflow", {}).get("build", {})
        return {
            "CPU model": info.get("cpu", {}).get("model"),
            "devices": tuple((d.get("name"), d.get("description")) for d in info.get("devices", [])),
            "logical CPUs": info.get("logical_cpus"),
            "TensorFlow build": "CUDA" if build.get("is_cuda_build") else "ROCm" if build.get("is_rocm_build") else "CPU",
            # Thread pools and pinning change the figures: runs made with other settings are not comparable.
            "run settings": tuple(sorted((key, str(value)) for key, value in (info.get("settings") or {}).items() if key != "pythonhashseed" and value is not None)),
        }

    differences, notes = [], []
    base_facts, cur_facts = facts(baseline[0]), facts(current[0])
    for run in [*baseline, *current]:
        other = facts(run)
        for key, value in other.items():
            reference = base_facts if run in baseline else cur_facts
            if value != reference[key]:
                differences.append(f"{key} differs between runs of one side ({run.path})")
    for key in base_facts:
        if base_facts[key] != cur_facts[key]:
            differences.append(f"{key}: {base_facts[key]!r} vs {cur_facts[key]!r}")
    versions = lambda runs: sorted({r.machine.get("tfvarbench", {}).get("tensorflow", {}).get("version", "?") for r in runs})
    if versions(baseline) != versions(current):
        notes.append(f"TensorFlow {', '.join(versions(baseline))} (baseline) vs {', '.join(versions(current))} (current)")
    return sorted(set(differences)), notes


def _scaled(case: dict[str, Any], factor: float) -> dict[str, Any]:
    """The case in units of `factor` seconds (its run's yardstick, under --normalise)."""
    if factor == 1.0:
        return case
    return {
        **case,
        "median_s": case["median_s"] / factor,
        "data": [value / factor for value in case.get("data") or []],
        **({"block_medians_s": [value / factor for value in case["block_medians_s"]]} if case.get("block_medians_s") else {}),
    }


def _side(runs: Sequence[Run], normalise: bool) -> dict[str, dict[str, Any]]:
    """One pooled case per name over the side's runs (each divided by its run's yardstick if asked)."""
    repeats: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        scale = 1.0
        if normalise:
            yardstick = next((c for c in run.cases if (c.get("family"), c.get("op")) == YARDSTICK), None)
            if yardstick is None:
                raise RunError(f"{run.path}: --normalise needs the 'reference / cpu yardstick' case, which this run lacks")
            scale = yardstick["median_s"]
        for case in run.cases:
            if case.get("mode") != "reference":
                repeats.setdefault(case_name(case), []).append(_scaled(case, scale))
    return {name: pool(cases) for name, cases in repeats.items()}


def threshold_for(name: str, thresholds: dict[str, float], default: float) -> float:
    """The case's threshold: the first glob that matches its name, in the order of the file; else the default."""
    return next((value for glob, value in thresholds.items() if fnmatch.fnmatchcase(name, glob)), default)


def compare_runs(
    baseline: Sequence[Run],
    current: Sequence[Run],
    threshold: float = 0.10,
    alpha: float = ALPHA,
    thresholds: dict[str, float] | None = None,
    normalise: bool = False,
) -> Comparison:
    """Judge every case present on both sides from its block medians; raise RunError when no case is."""
    base, cur = _side(baseline, normalise), _side(current, normalise)
    common = [name for name in base if name in cur]
    if not common:
        raise RunError("no common cases: the baseline and current runs share no case (same family, variant, size, dtype and device)")
    rows = []
    for name in common:
        before, after = base[name]["block_medians_s"], cur[name]["block_medians_s"]
        if len(before) + len(after) < 3:
            raise RunError(f"{name}: one block a side has no spread to judge by; compare runs timed in blocks (--blocks 2 or more)")
        found = judge(before, after, threshold_for(name, thresholds or {}, threshold), alpha)
        rows.append(
            Row(name, statistics.median(before), statistics.median(after), found.ratio, found.p_value, found.threshold,
                found.verdict, found.detectable, found.blocks_needed, len(before), len(after))
        )
    return Comparison(
        rows=rows,
        only_baseline=sorted(set(base) - set(cur)),
        only_current=sorted(set(cur) - set(base)),
        normalised=normalise,
    )

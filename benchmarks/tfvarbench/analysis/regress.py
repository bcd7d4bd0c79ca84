"""Regression verdicts between two sets of saved runs: medians, a Mann-Whitney U test on raw rounds, thresholds.

A case is slower only when it moved past the threshold (every current block past every baseline
block, see `_moved`) AND the rounds say the move is real (p < alpha). The threshold is widened to
1.5 times the case's own spread (relative IQR of its pooled rounds), since a median cannot be trusted to a finer grain than its rounds scatter: this keeps noisy cases
quiet in A/A comparisons while steady cases (about 1% spread here) still flag a 10% change.
"""
from __future__ import annotations

import fnmatch
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import mannwhitneyu

from ..runs import Run, RunError, case_name, pool

__all__ = [
    "Comparison",
    "Row",
    "VERDICTS",
    "compare_runs",
    "load_thresholds",
    "machine_differences",
]

VERDICTS = ("slower", "faster", "changed but not significant", "unchanged")
# How far past its own spread (relative IQR of its rounds) a median must move to count: 1.5 IQR
# is where a box plot starts to call a point unusual, and it kept synthetic A/A comparisons with
# 5-30% round noise free of false regressions (tests/test_compare.py).
NOISE_FACTOR = 1.5
YARDSTICK = ("reference", "cpu yardstick")


@dataclass(frozen=True)
class Row:
    """One case in both baseline and current."""

    name: str
    baseline_s: float
    current_s: float
    ratio: float
    p_value: float
    threshold: float
    verdict: str
    baseline_rounds: int
    current_rounds: int
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "regressions": len(self.regressions),
            "normalised": self.normalised,
            "notes": self.notes,
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


def _moved(before: dict[str, Any], after: dict[str, Any], ratio: float, threshold: float) -> bool:
    """Whether the case moved past the threshold.

    A unit is one block of a run, a fresh process (or a whole run, for runs saved without blocks).
    With one unit a side, the ratio of medians decides. With two or more, every current unit must
    lie past every baseline unit by the threshold: on a shared machine a case's speed shifts from
    process to process (here by 15-40%, while each process's rounds agreed within a few percent),
    so only a separation of processes, not of rounds, is evidence of a change.
    """
    old, new = before["block_medians_s"], after["block_medians_s"]
    if len(old) >= 2 and len(new) >= 2:
        return min(new) > max(old) * (1 + threshold) or max(new) < min(old) / (1 + threshold)
    return ratio >= 1 + threshold or ratio <= 1 / (1 + threshold)


def _verdict(moved: bool, ratio: float, p_value: float, alpha: float) -> str:
    if not moved:
        return "unchanged"
    if p_value >= alpha:
        return "changed but not significant"
    return "slower" if ratio > 1 else "faster"


def _relative_iqr(data: Sequence[float]) -> float:
    if len(data) < 4:
        return 0.0
    q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return (q3 - q1) / statistics.median(data)


def compare_runs(
    baseline: Sequence[Run],
    current: Sequence[Run],
    threshold: float = 0.10,
    alpha: float = 0.01,
    thresholds: dict[str, float] | None = None,
    normalise: bool = False,
) -> Comparison:
    """Compare every case present on both sides; raise RunError when no case is."""
    base, cur = _side(baseline, normalise), _side(current, normalise)
    common = [name for name in base if name in cur]
    if not common:
        raise RunError("no common cases: the baseline and current runs share no case (same family, variant, size, dtype and device)")
    rows = []
    for name in common:
        before, after = base[name]["data"], cur[name]["data"]
        configured = next((value for glob, value in (thresholds or {}).items() if fnmatch.fnmatchcase(name, glob)), threshold)
        # A median is no finer than its rounds' spread: widen the threshold to it (see module doc).
        effective = max(configured, NOISE_FACTOR * max(_relative_iqr(before), _relative_iqr(after)))
        ratio = statistics.median(after) / statistics.median(before)
        p_value = float(mannwhitneyu(before, after, alternative="two-sided").pvalue) if min(len(before), len(after)) >= 2 else 1.0
        moved = _moved(base[name], cur[name], ratio, effective)
        rows.append(
            Row(name, statistics.median(before), statistics.median(after), ratio, p_value, effective,
                _verdict(moved, ratio, p_value, alpha), len(before), len(after), base[name]["blocks"], cur[name]["blocks"])
        )
    return Comparison(
        rows=rows,
        only_baseline=sorted(set(base) - set(cur)),
        only_current=sorted(set(cur) - set(base)),
        normalised=normalise,
    )

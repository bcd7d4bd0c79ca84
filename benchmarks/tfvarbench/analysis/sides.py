"""What a comparison compares: each side's runs of every case, whether the two sides' machines match, and each case's threshold.

A side is one or more saved runs (a folder of them): every case keeps each run's block medians
apart (the verdict weighs how far runs drift apart as well as how far blocks do), and one pooled
case (runs/pool.py) for the times a table shows.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..runs import Run, RunError, case_name, pool
from ..runs.pool import block_medians

__all__ = ["SETTINGS", "Side", "load_thresholds", "machine_differences", "read_config", "side", "threshold_for", "unmatched_globs"]

YARDSTICK = ("reference", "cpu yardstick")

# name -> (the case pooled over the side's runs, each run's block medians)
Side = dict[str, tuple[dict[str, Any], list[list[float]]]]


# The [tool.tfvarbench] settings tfvarbench reads; any other key there is a misspelling, said by name.
SETTINGS = ("thresholds",)


def read_config(path: Path | None) -> tuple[dict[str, float], list[str]]:
    """({glob: fraction} from [tool.tfvarbench.thresholds] in a pyproject.toml, warnings about the rest).

    A [tool.tfvarbench] key tfvarbench does not read (a misspelt `threshold`) is warned about, not
    ignored silently: its thresholds would otherwise never apply. A table that is not a table is an error.
    """
    if path is None or not path.exists():
        return {}, []
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{path}: not valid TOML ({error})") from None
    settings: Any = data
    for key in ("tool", "tfvarbench"):
        settings = settings.get(key, {})
        if not isinstance(settings, dict):
            raise RunError(f"{path}: `{key}` must be a table, got {type(settings).__name__} {settings!r}")
    warnings = [
        f"{path}: [tool.tfvarbench.{key}] is not a tfvarbench setting (it reads {', '.join(SETTINGS)}); ignored"
        for key in settings if key not in SETTINGS
    ]
    table = settings.get("thresholds", {})
    if not isinstance(table, dict):
        raise RunError(f"{path}: [tool.tfvarbench.thresholds] must be a table of glob = fraction")
    for glob, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 10:
            raise RunError(f"{path}: threshold for {glob!r} must be a fraction such as 0.1, got {value!r}")
    return {str(glob): float(value) for glob, value in table.items()}, warnings


def load_thresholds(path: Path | None) -> dict[str, float]:
    """Per-case thresholds from [tool.tfvarbench.thresholds] in a pyproject.toml: {glob: fraction}."""
    return read_config(path)[0]


def unmatched_globs(thresholds: dict[str, float], names: Sequence[str]) -> list[str]:
    """The threshold globs that match none of `names`: a misspelt glob, or runs without those cases."""
    return [glob for glob in thresholds if not any(fnmatch.fnmatchcase(name, glob) for name in names)]


def threshold_for(name: str, thresholds: dict[str, float], default: float) -> float:
    """The case's threshold: the first glob that matches its name, in the order of the file; else the default."""
    return next((value for glob, value in thresholds.items() if fnmatch.fnmatchcase(name, glob)), default)


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
            # Whether a run was pinned matters, not to which core (a duet pair of `ab` pins its sides to two).
            "run settings": tuple(sorted(
                ("pinned", "True") if key == "pinned_to_core" else (key, str(value))
                for key, value in (info.get("settings") or {}).items() if key not in ("pythonhashseed", "turn", "pair") and value is not None
            )),
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


def side(runs: Sequence[Run], normalise: bool) -> Side:
    """Every case of the side's runs (but the reference workloads), each divided by its run's yardstick if asked."""
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
    return {name: (pool(cases), [block_medians(case) for case in cases]) for name, cases in repeats.items()}

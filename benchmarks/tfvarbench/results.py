"""Saved runs as plain data: load pytest-benchmark JSON, check it is a tfvarbench run, flatten each case.

Everything that renders (tables, reports, comparisons, plots) starts from here and from files only,
so any report can be rebuilt offline, and a run from another machine is just another file.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CASE_KEY",
    "Run",
    "RunError",
    "atomic_dir",
    "atomic_write",
    "case_key",
    "flatten",
    "variant_label",
    "load_run",
    "load_runs",
    "merge_blocks",
    "pooled_stats",
]

# The fields that name a case independently of where it ran.
CASE_KEY = ("family", "case", "op", "variant", "mode", "dtype", "size", "replicas", "workers")


class RunError(ValueError):
    """A file that cannot be used as a saved run; the message names the file and the problem."""


@dataclass(frozen=True)
class Run:
    """One saved run: where it came from, the machine it ran on, and its cases as flat dicts."""

    path: Path
    run_id: str
    host: str
    datetime: str
    machine: dict[str, Any]
    commit: dict[str, Any]
    cases: list[dict[str, Any]] = field(repr=False)

    def describe(self, device: str) -> str:
        """The device's description from the run's machine info ('' when it has none)."""
        for entry in self.machine.get("tfvarbench", {}).get("devices", []):
            if entry.get("name") == device:
                return str(entry.get("description", ""))
        return ""


def case_key(case: dict[str, Any]) -> tuple:
    return tuple(case.get(name) for name in CASE_KEY)


def variant_label(case: dict[str, Any]) -> str:
    """The variant as tables show it: replicated cases add their worker and replica counts."""
    variant = case.get("variant") or ""
    spread = [f"{case[key]} {key}" for key in ("workers", "replicas") if case.get(key)]
    return f"{variant} [{', '.join(spread)}]" if spread else variant


def flatten(bench: dict[str, Any]) -> dict[str, Any]:
    """A saved benchmark as one flat dict: its tfvarbench record, its statistics and its raw rounds."""
    stats = bench.get("stats") or {}
    median = stats.get("median")
    iqr = stats.get("iqr")
    flat = dict(bench.get("extra_info") or {})
    flat.update(
        name=bench.get("name"),
        fullname=bench.get("fullname"),
        median_s=median,
        iqr_s=iqr,
        rel_iqr=(iqr / median) if median and iqr is not None else None,
        mean_s=stats.get("mean"),
        min_s=stats.get("min"),
        max_s=stats.get("max"),
        stddev_s=stats.get("stddev"),
        rounds_measured=stats.get("rounds"),
        data=list(stats.get("data") or []),
    )
    return flat


def pooled_stats(data: list[float], bytes_moved: int | None = None) -> dict[str, Any]:
    """Statistics of rounds pooled from several blocks or runs, named as `flatten` names them (data kept in order)."""
    ordered = sorted(data)
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    pooled = dict(
        median_s=median, iqr_s=q3 - q1, rel_iqr=(q3 - q1) / median, mean_s=statistics.fmean(data),
        min_s=ordered[0], max_s=ordered[-1], stddev_s=statistics.stdev(data), rounds_measured=len(data), data=list(data),
    )
    if bytes_moved:
        pooled["gbps"] = bytes_moved / median / 1e9
    return pooled


def merge_blocks(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One case per case and device from its blocks: rounds pooled, each block's median kept.

    `block_medians_s` is what comparisons use to see how much the case moved across the run;
    `first_call_s` becomes the median of the blocks' first calls (each block built the case afresh).
    Counts that describe one built case (calls, trace_count) stay those of the first block.
    A run saved before blocks existed passes through unchanged.
    """
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        groups.setdefault((case.get("device"), *case_key(case)), []).append(case)
    merged = []
    for group in groups.values():
        if len(group) == 1 and "block" not in group[0]:
            merged.append(group[0])
            continue
        group.sort(key=lambda case: case.get("block") or 0)
        case = dict(group[0])
        data = [value for block in group for value in block.get("data") or [block["median_s"]]]
        if len(data) >= 2:
            case.update(pooled_stats(data, case.get("bytes")))
        firsts = [block["first_call_s"] for block in group if block.get("first_call_s") is not None]
        case.update(
            blocks=len(group),
            block_medians_s=[block["median_s"] for block in group],
            first_call_s=statistics.median(firsts) if firsts else None,
        )
        case.pop("block", None)
        for key in ("name", "fullname"):  # the case's name, not its first block's
            if case.get(key):
                case[key] = re.sub(r"-block\d+\]$", "]", case[key])
        merged.append(case)
    return merged


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read and check one saved run; raise RunError naming the file and what is wrong with it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RunError(f"{path}: is a directory, expected a saved run (.json)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RunError(f"{path}: cannot be read ({error.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) or "machine_info" not in data:
        raise RunError(f"{path}: JSON but not a saved pytest-benchmark run (no 'benchmarks' list and 'machine_info')")
    cases = [flatten(bench) for bench in data["benchmarks"] if isinstance(bench, dict)]
    cases = merge_blocks([case for case in cases if case.get("device") and case.get("median_s")])
    if not cases:
        raise RunError(f"{path}: a saved run with no measured tfvarbench cases")
    machine = data.get("machine_info") or {}
    return Run(
        path=path,
        run_id=path.stem,
        host=str(machine.get("node") or "unknown-host"),
        datetime=str(data.get("datetime") or ""),
        machine=machine,
        commit=data.get("commit_info") or {},
        cases=cases,
    )


def _expand(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if "reports" not in p.relative_to(path).parts)
            if not found:
                raise RunError(f"{path}: a directory with no saved runs (*.json)")
            yield from found
        else:
            yield path


def load_runs(paths: Iterable[str | os.PathLike[str]]) -> list[Run]:
    """Load runs from files or directories of files; the first bad file stops everything."""
    runs = [load_run(path) for path in _expand(paths)]
    if not runs:
        raise RunError("no saved runs given")
    return runs


@contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory that replaces `target` whole when the block succeeds.

    If the block fails, the temporary directory is removed and `target` is untouched.
    """
    import shutil

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        target.rename(old)
    staging.rename(target)
    target.chmod(0o755)  # mkdtemp made it private; a report is for reading
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write(target: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `target` through a temporary file and a rename: whole or not at all."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

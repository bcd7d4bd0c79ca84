"""Saved runs as plain data: read pytest-benchmark JSON, validate it, flatten each case, pool its blocks.

Everything that analyses or renders starts from here and from files only, so any report can be
rebuilt offline, and a run from another machine is just another file.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .pool import merge_blocks
from .record import SavedCase
from .schema import SAVED_RUN, problem

__all__ = ["Run", "RunError", "flatten", "load_run", "load_runs", "same_run"]


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
    cases: list[SavedCase] = field(repr=False)
    digest: str = field(default="", repr=False)  # of the file's text: a copy of a run is the same run

    def describe(self, device: str) -> str:
        """The device's description from the run's machine info ('' when it has none)."""
        for entry in self.machine.get("tfvarbench", {}).get("devices", []):
            if entry.get("name") == device:
                return str(entry.get("description") or "")
        return ""


def flatten(bench: dict[str, Any]) -> SavedCase:
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
    return flat  # type: ignore[return-value]


def _read(path: Path) -> tuple[Any, str]:
    """The file's JSON and a digest of its text."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RunError(f"{path}: is a directory, expected a saved run (.json)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RunError(f"{path}: cannot be read ({error.__class__.__name__})") from None
    try:
        return json.loads(text), hashlib.sha256(text.encode("utf-8")).hexdigest()
    except json.JSONDecodeError as error:
        raise RunError(f"{path}: not JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise RunError(f"{path}: not JSON (nested too deeply)") from None


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read and validate one saved run; raise RunError naming the file, the case and the field at fault."""
    path = Path(path)
    data, digest = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list) or "machine_info" not in data:
        raise RunError(f"{path}: JSON but not a saved pytest-benchmark run (no 'benchmarks' list and 'machine_info')")
    if not data["benchmarks"]:
        raise RunError(f"{path}: a saved run with no measured tfvarbench cases")
    try:
        SAVED_RUN.validate_python(data)
    except ValidationError as error:
        raise RunError(f"{path}: not a valid tfvarbench run: {problem(error, data)}") from None
    cases = merge_blocks([flatten(bench) for bench in data["benchmarks"]])
    machine = data["machine_info"]
    return Run(
        path=path,
        run_id=path.stem,
        host=str(machine.get("node") or "unknown-host"),
        datetime=str(data.get("datetime") or ""),
        machine=machine,
        commit=data.get("commit_info") or {},
        cases=cases,
        digest=digest,
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


def load_runs(paths: Iterable[str | os.PathLike[str]], note: Callable[[str], None] | None = None) -> list[Run]:
    """Load runs from files or directories of files; the first bad file stops everything.

    A run given twice (the same file, or a copy of it) counts once,
    and `note` is told of each repeat left out.
    """
    runs: list[Run] = []
    by_file: dict[Path, Run] = {}
    by_digest: dict[str, Run] = {}
    for path in _expand(paths):
        file = Path(path).resolve()
        if file in by_file:  # read once: the same file again is the same run
            _repeat(note, path, "given twice")
            continue
        run = load_run(path)
        earlier = by_digest.get(run.digest)
        by_file[file] = earlier or run
        if earlier is not None:
            _repeat(note, path, f"the same run as {earlier.path}")
            continue
        by_digest[run.digest] = run
        runs.append(run)
    if not runs:
        raise RunError("no saved runs given")
    return runs


def _repeat(note: Callable[[str], None] | None, path: str | os.PathLike[str], how: str) -> None:
    if note is not None:
        note(f"{path}: {how}; counted once")


def same_run(one: Run, other: Run) -> bool:
    """Whether two loaded runs are one run: the same file, or a copy of it (the same text)."""
    return one.path.resolve() == other.path.resolve() or (bool(one.digest) and one.digest == other.digest)

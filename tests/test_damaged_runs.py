"""Damaged saved runs: every command answers with exit status 2 and one line naming the file, and writes nothing.

Each kind of damage is made in code on a copy of a real run (tests/data/run-2cpu.json), the way a
user's file gets damaged: cut off mid-write, edited by hand, written by another tool or an older
tfvarbench. The line must name the file and, where the damage is in one case, that case (by its
name or as `benchmarks[i]`) and the field.
"""
from __future__ import annotations

import copy
import io
import json
import math
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tfvarbench.cli import main

ROOT = Path(__file__).resolve().parent.parent
COMMITTED_RUNS = sorted((ROOT / "results" / "baselines").glob("*.json")) + [
    ROOT / "results" / "examples" / "quick-2cpu.json",
    ROOT / "tests" / "data" / "run-2cpu.json",
]

# The case each per-case damage is done to: a 1Mi float32 case in the middle of the file.
VICTIM = 16


def _case(run: dict[str, Any]) -> dict[str, Any]:
    return run["benchmarks"][VICTIM]


def _stats(run: dict[str, Any]) -> dict[str, Any]:
    return _case(run)["stats"]


def _info(run: dict[str, Any]) -> dict[str, Any]:
    return _case(run)["extra_info"]


@dataclass(frozen=True)
class Damage:
    """One kind of damage: what it does to the parsed run (or the file's text), and what the line must name."""

    name: str
    damage: Callable[[dict[str, Any], str], Any]  # (run, text) -> a changed run (written as JSON) or the file's new text
    field: str | None = None  # the field the line must name
    in_case: bool = True  # whether the line must name the damaged case


def _set(where: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Callable[[Any], Any]):
    def damage(run: dict[str, Any], text: str) -> dict[str, Any]:
        target = where(run)
        target[key] = value(target.get(key))
        return run

    return damage


def _drop(where: Callable[[dict[str, Any]], dict[str, Any]], key: str):
    def damage(run: dict[str, Any], text: str) -> dict[str, Any]:
        del where(run)[key]
        return run

    return damage


def _top(key: str, value: Any):
    return _set(lambda run: run, key, lambda _: value)


def _replace_case(value: Callable[[dict[str, Any]], Any]):
    def damage(run: dict[str, Any], text: str) -> dict[str, Any]:
        run["benchmarks"][VICTIM] = value(run["benchmarks"][VICTIM])
        return run

    return damage


def _first_round(value: Callable[[float], float]):
    return _set(_stats, "data", lambda data: [value(data[0]), *data[1:]])


DAMAGES = [
    # The whole file.
    Damage("the file is empty", lambda run, text: "", in_case=False),
    Damage("the file was cut off mid-write", lambda run, text: text[: len(text) // 2], in_case=False),
    Damage("the file is a JSON list, not a run", lambda run, text: run["benchmarks"], in_case=False),
    Damage("benchmarks is not a list", _top("benchmarks", {"0": "see the other file"}), field="benchmarks", in_case=False),
    Damage("machine_info is not an object", _top("machine_info", "vm"), field="machine_info", in_case=False),
    Damage("machine_info.tfvarbench is not an object", _set(lambda run: run["machine_info"], "tfvarbench", lambda _: ["CPU:0", "CPU:1"]), field="tfvarbench", in_case=False),
    # One case.
    Damage("a case is not an object", _replace_case(lambda case: case["name"]), field="benchmarks", in_case=False),
    Damage("a case has no extra_info.family", _drop(_info, "family"), field="family"),
    Damage("a device is a list", _set(_info, "device", lambda device: [device]), field="device"),
    Damage("an unknown size label", _set(_info, "size", lambda _: "3Mi"), field="size"),
    Damage("bytes is a string", _set(_info, "bytes", str), field="bytes"),
    Damage("a median is a string", _set(_stats, "median", str), field="median"),
    Damage("a median is null", _set(_stats, "median", lambda _: None), field="median"),
    Damage("a median is negative", _set(_stats, "median", lambda median: -median), field="median"),
    Damage("a median is zero", _set(_stats, "median", lambda _: 0.0), field="median"),
    Damage("a median is NaN", _set(_stats, "median", lambda _: math.nan), field="median"),
    Damage("a median is infinite", _set(_stats, "median", lambda _: math.inf), field="median"),
    Damage("the round times are strings", _set(_stats, "data", lambda data: [str(value) for value in data]), field="data"),
    Damage("no round times", _set(_stats, "data", lambda _: []), field="data"),
    Damage("a round time is infinite", _first_round(lambda _: math.inf), field="data"),
    Damage("a round time is negative", _first_round(lambda value: -value), field="data"),
]


def _damaged_copy(saved_run: Path, damage: Damage, target: Path) -> Path:
    text = saved_run.read_text(encoding="utf-8")
    changed = damage.damage(copy.deepcopy(json.loads(text)), text)
    # json.dumps writes NaN and Infinity as Python does, not as strict JSON.
    target.write_text(changed if isinstance(changed, str) else json.dumps(changed, indent=1), encoding="utf-8")
    return target


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str


def tfvarbench(*argv: str) -> Outcome:
    """Run the command in this process and report it as a terminal would show it: a crash is a traceback and status 1."""
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = main(list(argv))
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        except Exception as error:
            err.write(f"Traceback (most recent call last):\n  ...\n{type(error).__name__}: {error}\n")
            code = 1
    shown = [f"{warning.filename}:{warning.lineno}: {warning.category.__name__}: {warning.message}" for warning in caught]
    return Outcome(code, err.getvalue() + "".join(f"{line}\n" for line in shown))


def _command(command: str, damaged: Path, clean: Path, tmp_path: Path) -> list[str]:
    if command == "report":
        return ["report", str(damaged), "--out", str(tmp_path / "report")]
    if command == "compare":
        return ["compare", str(clean), str(damaged), "--config", str(ROOT / "pyproject.toml"),
                "--markdown", str(tmp_path / "comparison.md"), "--json", str(tmp_path / "comparison.json")]
    return ["history", str(damaged.parent), "--out", str(tmp_path / "history")]


def _files(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*")}


@pytest.mark.parametrize("command", ["report", "compare", "history"])
@pytest.mark.parametrize("damage", DAMAGES, ids=[damage.name for damage in DAMAGES])
def test_a_damaged_run_is_one_line_and_status_2(damage: Damage, command: str, saved_run: Path, tmp_path: Path, resave) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    damaged = _damaged_copy(saved_run, damage, runs / "damaged.json")
    clean = tmp_path / "clean.json"
    clean.write_bytes(saved_run.read_bytes())
    if command == "history":  # the damaged run among good ones, as in a results folder
        for index in (1, 2):
            resave(saved_run, runs / f"clean-{index}.json", minutes=index)
    before = _files(tmp_path)

    outcome = tfvarbench(*_command(command, damaged, clean, tmp_path))

    assert "Traceback" not in outcome.stderr
    assert outcome.code == 2, f"exit status {outcome.code}, stderr: {outcome.stderr!r}"
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, outcome.stderr
    line = lines[0]
    assert line.startswith(f"tfvarbench {command}: ")
    assert str(damaged) in line
    if damage.in_case:
        victim = json.loads(saved_run.read_text(encoding="utf-8"))["benchmarks"][VICTIM]["name"]
        assert victim in line or f"benchmarks[{VICTIM}]" in line, f"the line does not name the case: {line}"
    if damage.field:
        about = line.removeprefix(f"tfvarbench {command}: ").replace(str(damaged), "")
        assert damage.field in about, f"the line does not name the field {damage.field!r}: {line}"
    assert _files(tmp_path) == before, "a damaged run must leave nothing written"


def test_the_committed_runs_load_with_every_command(tmp_path: Path, resave) -> None:
    history = tmp_path / "runs"
    history.mkdir()
    unblocked = tmp_path / "unblocked"  # runs saved before blocks are one block each: two make a side
    unblocked.mkdir()
    for index, run in enumerate(COMMITTED_RUNS):
        (history / f"{index}-{run.name}").write_bytes(run.read_bytes())
        if "blocks" not in run.name and "quick" not in run.name:
            for copy in (1, 2):
                resave(run, unblocked / f"{copy}-{run.name}", minutes=copy)
    commands = [
        ["report", *map(str, COMMITTED_RUNS), "--out", str(tmp_path / "report")],
        # A run saved before blocks is one block: it is compared as one of a folder of runs.
        *(["compare", str(run), str(resave(run, tmp_path / f"again-{run.name}")), "--config", str(ROOT / "pyproject.toml")]
          for run in COMMITTED_RUNS if "blocks" in run.name or "quick" in run.name),
        ["compare", str(unblocked), str(_resaved_folder(unblocked, tmp_path / "again", resave)), "--config", str(ROOT / "pyproject.toml")],
        ["history", str(history), "--out", str(tmp_path / "history")],
    ]
    for argv in commands:
        outcome = tfvarbench(*argv)
        assert (outcome.code, outcome.stderr) == (0, ""), argv
    assert (tmp_path / "report" / "index.html").is_file()
    assert (tmp_path / "history" / "history.csv").is_file()


def _resaved_folder(folder: Path, target: Path, resave) -> Path:
    """Every run of `folder` saved again, later: the other side of an A/A comparison."""
    target.mkdir()
    for run in folder.iterdir():
        resave(run, target / run.name, minutes=30)
    return target

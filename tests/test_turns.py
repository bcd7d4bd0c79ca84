"""Blocks taking turns on one core (measure/turns.py): two real processes hand one turn back and forth, and one goes on alone once the other is gone."""
from __future__ import annotations

import json

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tfvarbench import processes
from tfvarbench.measure import iterations, settings, turns
from tfvarbench.processes import TurnEnds

ROOT = Path(__file__).resolve().parent.parent

# A block in miniature: waits for its first turn, then writes its name and pass number, handing the turn over after each pass.
BLOCK = """
import os, sys
from tfvarbench.measure import turns
from tfvarbench import processes
turns.begin()
name, passes, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
assert processes.TURNS not in os.environ  # what it starts cannot read descriptors it did not inherit
for index in range(passes):
    with open(log, "a") as out:
        out.write(f"{name}{index} ")
    turns.swap()
"""


def _pair(tmp_path: Path, passes: dict[str, int], lead: str) -> str:
    """Run two miniature blocks taking turns, as `tfvarbench ab` starts a pair; return what they wrote, in order."""
    log = tmp_path / "log.txt"
    log.write_text("")
    pipes = {name: os.pipe() for name in passes}  # each block's turns arrive on its own pipe
    os.write(pipes[lead][1], b"t")
    children = []
    for name, other in zip(passes, reversed(list(passes))):
        ends = (pipes[name][0], pipes[other][1])
        env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks"), processes.TURNS: f"{ends[0]},{ends[1]}"}
        children.append(subprocess.Popen([sys.executable, "-c", BLOCK, name, str(passes[name]), str(log)], env=env, pass_fds=ends))
    for pipe in pipes.values():
        for end in pipe:
            os.close(end)
    assert [child.wait(timeout=60) for child in children] == [0, 0]
    return log.read_text().strip()


def test_two_blocks_time_their_passes_in_turns_the_leader_first(tmp_path: Path) -> None:
    assert _pair(tmp_path, {"A": 3, "B": 3}, lead="A") == "A0 B0 A1 B1 A2 B2"
    assert _pair(tmp_path, {"A": 3, "B": 3}, lead="B") == "B0 A0 B1 A1 B2 A2"


def test_a_block_whose_partner_has_ended_goes_on_alone(tmp_path: Path) -> None:
    assert _pair(tmp_path, {"A": 5, "B": 2}, lead="A") == "A0 B0 A1 B1 A2 A3 A4"
    assert _pair(tmp_path, {"A": 1, "B": 4}, lead="A") == "A0 B0 B1 B2 B3"


def test_without_the_variable_a_block_takes_no_turns_and_a_bad_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turns, "_turns", None)
    monkeypatch.delenv(processes.TURNS, raising=False)
    assert turns.begin() is None and not turns.taking_turns()
    turns.swap()  # nothing to hand over: returns at once
    for bad in ("3", "3,4,middle,/tmp/x"):
        monkeypatch.setenv(processes.TURNS, bad)
        with pytest.raises(processes.WireError, match=f"TFVARBENCH_TURNS='{bad}': must be two file descriptors, first or second, and a file"):
            turns.begin()


def test_a_block_taking_turns_keeps_its_workers_on_its_own_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {1})
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(turns, "_turns", None)
    assert [settings.worker_core(index) for index in (0, 1)] == [0, 1]  # a pinned block alone: a core a worker
    monkeypatch.setattr(turns, "_turns", turns.Turns(TurnEnds(-1, -1)))
    assert [settings.worker_core(index) for index in (0, 1)] == [1, 1]  # the other core runs another pair's blocks


def test_the_two_blocks_of_a_pair_time_a_case_with_the_iterations_the_first_calibrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "iterations-01.json"
    monkeypatch.delenv(processes.ITERATIONS, raising=False)
    monkeypatch.setattr(turns, "_turns", None)
    assert iterations.agree("assignment/assign/CPU:0/scalar/float32", 141) == 141 and not shared.exists()  # alone: its own count
    monkeypatch.setattr(turns, "_turns", turns.Turns(TurnEnds(-1, -1, shared=shared)))
    monkeypatch.setenv(processes.ITERATIONS, str(shared))  # as turns.begin() names the pair's file
    assert iterations.agree("assignment/assign/CPU:0/scalar/float32", 141) == 141  # the leader calibrated it first
    assert iterations.agree("assignment/assign/CPU:0/scalar/float32", 242) == 141  # the other block takes the leader's
    assert iterations.agree("assignment/assign/CPU:1/scalar/float32", 97) == 97
    # A worker the block started finds the pair's file through its environment.
    monkeypatch.setattr(turns, "_turns", None)
    monkeypatch.setenv(processes.ITERATIONS, str(shared))
    assert iterations.agree("assignment/assign/CPU:1/scalar/float32", 300) == 97
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iterations-01.json"]  # staged writes renamed into place


def test_a_later_block_of_a_run_skips_calibrating_what_an_earlier_one_calibrated_unless_taking_turns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "iterations.json"
    monkeypatch.setattr(turns, "_turns", None)
    monkeypatch.setenv(processes.ITERATIONS, str(shared))
    assert iterations.calibrated("assignment/assign/CPU:0/scalar/float32") is None  # the first block: nothing known yet
    assert iterations.agree("assignment/assign/CPU:0/scalar/float32", 141, 0.0052) == 141
    assert iterations.calibrated("assignment/assign/CPU:0/scalar/float32") == (141, 0.0052)  # a later block takes it, and its round, as they are
    assert iterations.calibrated("assignment/assign/CPU:1/scalar/float32") is None
    shared.write_text(json.dumps({**json.loads(shared.read_text()), "assignment/assign/CPU:1/scalar/float32": 97}))  # another process adds one
    assert iterations.calibrated("assignment/assign/CPU:1/scalar/float32") == (97, None)  # a count not yet known is read again
    # Taking turns, both blocks of a pair calibrate (so both warm up alike), and agree on the first one's count.
    monkeypatch.setattr(turns, "_turns", turns.Turns(TurnEnds(-1, -1, shared=shared)))
    assert iterations.calibrated("assignment/assign/CPU:0/scalar/float32") is None


def test_a_later_block_measures_a_sync_again_when_a_busy_moment_broke_its_share_of_the_round() -> None:
    from tfvarbench.measure.profiles import PROFILES
    from tfvarbench.measure.timing import later_plan

    quick = PROFILES["quick"]
    busy = iter([0.5e-3, 0.45e-3, 1e-5])
    plan = later_plan((141, 0.005), quick, 0.4e-3, lambda: next(busy))  # 8% of the round: measured twice more, the lowest kept
    assert (plan.iterations, plan.round_s, plan.sync_s, plan.calibration_calls) == (141, 0.005, 0.4e-3, 0) and next(busy) == 1e-5
    quiet = iter([2e-5, 1e-5])
    plan = later_plan((141, 0.005), quick, 0.4e-3, lambda: next(quiet))  # the measurement again is quiet: no third
    assert plan.sync_s == 2e-5 and plan.sync_fraction < 0.01 and next(quiet) == 1e-5
    assert later_plan((141, None), quick, 3e-5, None).round_s == quick.round_s  # a plain clock waits for nothing

"""`tfvarbench ab`: the order of a job's blocks, the verdict from pairs of blocks on simulated series (seeded), and the command as a user runs it."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from tfvarbench.analysis.pairs import disturbed, pair_runs, round_paired
from tfvarbench.analysis.regress import compare_runs, judge_cases
from tfvarbench.cli import _build
from tfvarbench.analysis.verdict import JOB_ALPHA, case_alpha
from tfvarbench.cli.ab import _design
from tfvarbench.cli.blockpairs import order, side_core
from tfvarbench.runs import Run

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = ROOT / "tests" / "plugins"


def test_abba_lets_each_side_lead_every_other_pair() -> None:
    assert order(4, "abba", 0) == [("baseline", "current"), ("current", "baseline")] * 2


def test_in_a_duet_each_side_takes_each_core_every_other_pair_whoever_leads() -> None:
    for how in ("abba", "random"):
        for pair, (lead, follow) in enumerate(order(6, how, 1), start=1):
            assert {side_core(lead, pair, [0, 1]), side_core(follow, pair, [0, 1])} == {0, 1}
        assert [side_core("baseline", pair, [2, 5]) for pair in range(1, 5)] == [5, 2, 5, 2]
        assert [side_core("current", pair, [2, 5]) for pair in range(1, 5)] == [2, 5, 2, 5]


def test_a_random_order_is_seeded_and_every_pair_holds_both_sides() -> None:
    first, again, other = order(40, "random", 3), order(40, "random", 3), order(40, "random", 4)
    assert first == again and first != other
    assert all(sorted(pair) == ["baseline", "current"] for pair in first)
    assert 10 < sum(pair[0] == "baseline" for pair in first) < 30


def job(rng: random.Random, cases: int, pairs: int, pair_spread: float, drift: float, shifts: dict[int, float] | None = None):
    """One simulated ab job of alternating blocks (A B | B A | ...): every case's block medians drift by `drift` over
    the job, vary by `pair_spread` block to block, and case i's current side moves by shifts[i]."""
    shifts = shifts or {}
    blocks = 2 * pairs
    sides = {}
    for index in range(cases):
        base, before, after = 1e-5 * (1 + index % 7), [], []
        for pair, (lead, _) in enumerate(order(pairs, "abba", 0)):
            for slot, side in enumerate((lead, "current" if lead == "baseline" else "baseline")):
                moved = drift * (2 * pair + slot) / (blocks - 1) + rng.gauss(0, pair_spread / math.sqrt(2))
                shift = shifts.get(index, 0.0) if side == "current" else 0.0
                (after if side == "current" else before).append([base * math.exp(moved) * (1 + shift)])
        sides[f"family/case{index}/scalar/float32/CPU:{index % 2}"] = (before, after)
    return judge_cases(sides, threshold=0.05, alpha=case_alpha(JOB_ALPHA, cases), paired=True)[0]


def flagged(verdicts) -> list[int]:
    return sorted(int(name.split("/")[1][4:]) for name, v in verdicts.items() if v.verdict in ("slower", "faster"))


def test_a_drift_of_8_percent_over_the_job_is_seen_through() -> None:
    rng = random.Random(19)
    for _ in range(20):
        verdicts = job(rng, cases=60, pairs=5, pair_spread=0.01, drift=0.08)
        assert flagged(verdicts) == []
        assert max(v.detectable for v in verdicts.values()) < 0.05


def test_a_5_percent_slowdown_with_1_percent_pair_spread_is_flagged_and_nothing_else() -> None:
    rng = random.Random(5)
    slowed = {index: 0.05 for index in range(0, 60, 8)}
    for _ in range(20):
        verdicts = job(rng, cases=60, pairs=5, pair_spread=0.01, drift=0.08, shifts=slowed)
        assert flagged(verdicts) == sorted(slowed)
        assert all(verdicts[name].verdict == "slower" for name in verdicts if int(name.split("/")[1][4:]) in slowed)


def test_no_change_is_flagged_in_no_more_jobs_than_the_job_wide_alpha_allows() -> None:
    # JOB_ALPHA 0.02: about 2 jobs in 100 may hold one false alarm; per case, compare's 0.001 would flag one in most jobs.
    rng = random.Random(0)
    for spread in (0.005, 0.01, 0.03, 0.08):
        with_alarms = sum(bool(flagged(job(rng, cases=40, pairs=4, pair_spread=spread, drift=0.05))) for _ in range(100))
        assert with_alarms <= 5, spread


def _turns_job(rng: random.Random, pairs: int, rounds: int, shift: float, turns: bool = True) -> tuple[list[Run], list[Run]]:
    """Blocks that took turns round by round on a machine whose speed changes from round to round by up to 2x (as here):
    a round of a case sees the speed its other side's round saw 9 times in 10, plus 1% of its own noise; case 0 is `shift` slower."""
    sides: tuple[list[Run], list[Run]] = ([], [])
    speed = lambda: rng.choice((1.0, 1.6, 2.0))  # noqa: E731
    for pair in range(pairs):
        shared = [[speed() for _ in range(rounds)] for _ in range(30)]
        for name, runs in zip(("baseline", "current"), sides):
            cases = []
            for index in range(30):
                moved = 1 + shift if name == "current" and index == 0 else 1.0
                speeds = [same if rng.random() < 0.9 else speed() for same in shared[index]]
                data = [2e-5 * each * moved * math.exp(rng.gauss(0, 0.01)) for each in speeds]
                cases.append({"family": "assignment", "case": f"case{index}", "size": "scalar", "dtype": "float32", "device": "CPU:0",
                              "mode": "eager", "data": data, "median_s": sorted(data)[rounds // 2], "blocks": 1})
            lead = "first" if (pair % 2 == 0) == (name == "baseline") else "second"
            settings = {"pinned_to_core": 0, "turns": turns, "turn": lead, "pair": f"iterations-{pair + 1:02d}"}
            machine = {"tfvarbench": {"settings": settings}}
            runs.append(Run(Path(f"{name}-{pair}.json"), str(pair), "host", f"2026-12-02T00:0{pair}:00", machine, {}, cases))
    return sides


def test_blocks_that_took_turns_are_compared_round_by_round_so_the_machines_speed_cancels() -> None:
    rng = random.Random(7)
    baseline, current = _turns_job(rng, pairs=6, rounds=10, shift=0.05)  # six: the signed-rank test reaches 5% from five pairs
    paired, dropped = round_paired(baseline, current)
    assert len(paired) == 30 and dropped == []
    before, after = paired["assignment/case0/scalar/float32/CPU:0"]
    assert all(0.035 < math.log(b[0] / a[0]) < 0.065 for a, b in zip(before, after))  # each pair sees the 5% despite 2x swings
    pairs = [(index, index) for index in range(6)]
    rows = {row.name: row for row in compare_runs(baseline, current, 0.05, case_alpha(JOB_ALPHA, 30), pairs=pairs).rows}
    assert rows["assignment/case0/scalar/float32/CPU:0"].verdict == "slower"
    assert [name for name, row in rows.items() if row.verdict != "unchanged"] == ["assignment/case0/scalar/float32/CPU:0"]
    # The same blocks judged by their medians (as if they had not taken turns) see the swings: every case's detectable change is larger.
    baseline, current = _turns_job(random.Random(7), pairs=6, rounds=10, shift=0.05, turns=False)
    assert round_paired(baseline, current) == ({}, [])
    medians = {row.name: row for row in compare_runs(baseline, current, 0.05, case_alpha(JOB_ALPHA, 30), pairs=pairs).rows}
    assert all(medians[name].detectable > 2 * rows[name].detectable for name in rows)


def test_what_going_first_does_is_taken_out_of_the_pairs_spread_and_a_disturbed_pair_is_left_out() -> None:
    # A/A, each block 1.5% faster when it goes second (as here, about 1%): the mean cancels it, the spread no longer holds it.
    baseline, current = _turns_job(random.Random(3), pairs=8, rounds=10, shift=0.0)
    for before, after in zip(baseline, current):
        second = after if before.machine["tfvarbench"]["settings"]["turn"] == "first" else before
        for case in second.cases:
            case["data"] = [value * 0.985 for value in case["data"]]
    paired, dropped = round_paired(baseline, current)
    assert dropped == []
    changes = [math.log(b[0] / a[0]) for a, b in zip(*paired["assignment/case5/scalar/float32/CPU:0"])]
    assert abs(statistics.mean(changes)) < 0.01 and statistics.stdev(changes) < 0.01  # +-1.5% alternating would spread 1.6%
    # One pair disturbed as a whole: its cases' changes scatter 10% instead of about 1%; it is left out, and named.
    for case in current[5].cases:
        case["data"] = [value * math.exp(random.Random(case["case"]).gauss(0, 0.1)) for value in case["data"]]
    assert round_paired(baseline, current)[1] == [5]
    comparison = compare_runs(baseline, current, 0.05, case_alpha(JOB_ALPHA, 30), pairs=[(index, index) for index in range(8)])
    assert comparison.notes == ["pair 6 left out: its cases' changes scattered over 3 times as widely as the other pairs' (disturbed as a whole)"]
    assert not comparison.regressions


def test_no_pair_is_left_out_when_a_change_moves_every_pair_or_too_few_would_stay() -> None:
    moved = {f"case{index}": [0.05 + 0.001 * (index % 3 - 1)] * 6 for index in range(30)}  # all cases 5% slower in every pair
    assert disturbed(moved) == []
    noisy = {f"case{index}": [0.001 * (index % 5)] * 4 + [0.2 * (index % 5 - 2)] for index in range(30)}
    assert disturbed(noisy) == [4]
    assert disturbed({name: values[1:] for name, values in noisy.items()}) == []  # four pairs: none is dropped


def test_compare_pairs_an_ab_jobs_blocks_by_the_pair_they_name_not_by_their_start_times() -> None:
    baseline, current = _turns_job(random.Random(2), pairs=4, rounds=10, shift=0.0)
    starts = ["00:00:03", "00:00:01", "00:01:04", "00:01:02", "00:00:02", "00:00:04", "00:01:01", "00:01:03"]
    runs = [dataclasses.replace(run, datetime=f"2026-12-02T{started}") for run, started in zip([*baseline, *current], starts)]
    baseline, current = runs[:4], runs[4:]  # two pairs at once: by start time, B2 C1 C3 ... would pair blocks of different pairs
    assert pair_runs(baseline, current[::-1]) == [(0, 3), (1, 2), (2, 1), (3, 0)]
    for run in current:
        del run.machine["tfvarbench"]["settings"]["pair"]  # runs that name no pair are paired by start time, as before:
    assert pair_runs(baseline, current) == [(1, 0), (0, 1), (3, 2), (2, 3)]  # here blocks of different pairs


def test_a_case_whose_blocks_timed_different_rounds_is_judged_by_its_medians() -> None:
    baseline, current = _turns_job(random.Random(1), pairs=2, rounds=10, shift=0.0)
    current[1].cases[3]["data"] = current[1].cases[3]["data"][:9]
    paired, _ = round_paired(baseline, current)
    assert len(paired) == 29 and "assignment/case3/scalar/float32/CPU:0" not in paired


@pytest.mark.parametrize(
    ("pytest_args", "ignored"),
    [([], True), (["-k", "assign"], True), (["-k", "multiworker and scalar"], False), (["benchmarks/bench_multiworker.py"], False)],
)
def test_a_job_leaves_out_the_multiworker_family_unless_asked(tmp_path: Path, pytest_args: list[str], ignored: bool, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--with-multiworker"]):
        args = _build().parse_args(["ab", "--out", str(tmp_path / f"ab{len(extra)}"), *extra, "--", *pytest_args])
        left_out = list(_design(args).pytest_args[-2:]) == ["--ignore", "benchmarks/bench_multiworker.py"]
        assert left_out == (ignored and not extra), (pytest_args, extra)
        assert ("ab leaves out the multiworker family" in capsys.readouterr().out) == left_out


def _ab(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 540) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tfvarbench", "ab", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]), **(env or {})},
    )


def _current_with(plugin: str, side: str = "current", **env: str) -> list[str]:
    """--current-env (or --baseline-env) options that load one of tests/plugins into that side's blocks, as a user would."""
    settings = {"PYTHONPATH": str(PLUGINS), "PYTEST_PLUGINS": f"strictwarnings,{plugin}", **env}
    return [arg for name, value in settings.items() for arg in (f"--{side}-env", f"{name}={value}")]


@pytest.mark.slow
def test_ab_times_two_sides_in_one_job_and_saves_what_compare_and_report_read(tmp_path: Path) -> None:
    out = tmp_path / "ab"
    # Both sides wrapped by the plugin a user would load through each side's environment; only the current side spins (50%).
    done = _ab(tmp_path, "--pairs", "4", *_current_with("slowdown", "baseline", TFVARBENCH_SLOW_OP="assign_add:0"),
               *_current_with("slowdown", TFVARBENCH_SLOW_OP="assign_add:0.5"), "--rounds", "12", "--out", str(out),
               "--", "-k", "assign_add_no_read and scalar", "--logical-cpus", "2")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ab leaves out the multiworker family" in done.stdout
    assert "pair 1 of 4: baseline then current taking turns on core" in done.stdout and "pair 2 of 4: current then baseline" in done.stdout
    for side in ("baseline", "current"):
        assert sorted(path.name for path in (out / side).iterdir()) == [f"block-0{n}.json" for n in range(1, 5)]
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["paired"] and len(comparison["rows"]) == 2
    assert all(row["verdict"] == "slower" and 1.3 < row["ratio"] < 1.7 for row in comparison["rows"]), comparison["rows"]
    assert {row["name"].split("/")[-1] for row in comparison["rows"]} == {"CPU:0", "CPU:1"}
    slowed = json.loads((out / "current" / "block-01.json").read_text())
    assert all((bench["extra_info"]["checked"]["values"] > 0 and bench["extra_info"]["checked"]["calls"] == bench["extra_info"]["calls"]) for bench in slowed["benchmarks"])
    assert {bench["stats"]["rounds"] for bench in slowed["benchmarks"]} == {12}  # --rounds: each block's timed passes
    # What the job saved is what the other commands read: compare pairs the blocks itself, report pools them.
    again = subprocess.run([sys.executable, "-m", "tfvarbench", "compare", str(out / "baseline"), str(out / "current"),
                            "--threshold", "0.02", "--json", str(tmp_path / "again.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == done.returncode, again.stderr
    assert json.loads((tmp_path / "again.json").read_text())["rows"] == comparison["rows"]
    report = subprocess.run([sys.executable, "-m", "tfvarbench", "report", str(out / "current"), "--out", str(tmp_path / "report")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "index.html").is_file()


@pytest.mark.slow
def test_a_side_whose_block_fails_stops_the_job_in_one_line_and_keeps_the_other_sides_blocks(tmp_path: Path) -> None:
    out = tmp_path / "ab"
    done = _ab(tmp_path, "--pairs", "2", *_current_with("breakcase", TFVARBENCH_BREAK="assign_add_no_read:1"), "--out", str(out),
               "--", "-k", "assign_add_no_read and scalar", "--devices", "CPU:0")
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("tfvarbench ab: current block 1 failed (exit 1")
    assert "block-01.json" in [path.name for path in (out / "baseline").iterdir()]  # (pair 2's too, when it ran at once on another core)
    assert not (out / "comparison.json").exists()


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--pairs", "1"], "--pairs 1: must be at least 2"),
        (["--", "-k", "x", "--blocks", "2"], "--blocks: ab sets it on each block itself"),
        (["--", "--benchmark-json=x.json"], "--benchmark-json: ab sets it on each block itself"),
        (["--baseline-env", "NOEQUALS"], "--baseline-env 'NOEQUALS': must be NAME=VALUE"),
        (["--current-python", "/nonexistent/python"], "--current-python /nonexistent/python: not an executable file"),
        (["--baseline-dir", "/"], "--baseline-dir /: holds no benchmarks/ folder"),
        (["--threshold", "0"], "--threshold 0.0: must be a fraction"),
        (["--rounds", "1"], "--rounds 1: must be at least 2"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], problem: str) -> None:
    done = _ab(tmp_path, "--out", str(tmp_path / "ab"), *args)
    assert done.returncode == 2 and problem in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "ab").exists() or not any((tmp_path / "ab").iterdir())


def test_an_out_folder_that_holds_something_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "notes.txt").write_text("mine")
    done = _ab(tmp_path, "--out", str(tmp_path / "ab"))
    assert done.returncode == 2 and "already holds files" in done.stderr
    assert [path.name for path in (tmp_path / "ab").iterdir()] == ["notes.txt"]


def test_a_pair_whose_second_block_cannot_start_leaves_no_pipe_open_and_the_first_block_is_stopped(tmp_path: Path) -> None:
    from tfvarbench.cli.blockpairs import Design, Side, _wave
    from tfvarbench.cli.usage import BadInput

    class Waiting(Side):  # a block that takes its time, as a real one importing TensorFlow does
        def command(self, pytest_args: tuple[str, ...], out: Path) -> list[str]:
            return [self.python, "-c", "import time; time.sleep(600)"]

    (tmp_path / "logs").mkdir()
    pair = [(Waiting("baseline", sys.executable, tmp_path), 1, None), (Waiting("current", "/no/such/python", tmp_path), 1, None)]
    design = Design(pairs=2, budget=400, how="turns", order="abba", seed=0, pytest_args=())
    before, running = set(os.listdir("/proc/self/fd")), []
    with pytest.raises(BadInput, match=r"^current block 1 could not start \(/no/such/python\): No such file or directory$"):
        _wave(pair, design, tmp_path, running, turns=True)
    assert set(os.listdir("/proc/self/fd")) == before  # the pair's two pipes closed here, though only one block took its ends
    assert len(running) == 1 and running[0].poll() is None  # ab's own finally stops it, as here
    running[0].stop(grace=5)
    assert running[0].poll() is not None

"""The benchmark suite end to end, in a fresh interpreter: every case verified, usage errors, saved runs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_every_case_runs_once_and_verifies_on_two_devices(run_pytest, tmp_path: Path) -> None:
    result = run_pytest("benchmarks", "--logical-cpus", "2", "--benchmark-disable", "-q", "--results", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 210  # assignment, gradient, function, mirrored, multiworker, reference, sparse (21 a device) and optimizer (8 a device) families (paramserver: --profile full)
    assert "no GPU visible to TensorFlow: ran on CPU:0, CPU:1 only" in result.stdout
    assert not list(tmp_path.iterdir()), "a correctness run saves nothing"
    import psutil

    leftovers = [p for p in psutil.process_iter(["cmdline"]) if "tfvarbench.measure.worker" in " ".join(p.info["cmdline"] or [])]
    assert leftovers == [], "no worker process outlives the run"


def test_a_run_over_two_thread_counts_saves_each_case_at_each_count(run_pytest, tmp_path: Path) -> None:
    result = run_pytest("benchmarks", "-k", "optimizer and assign_add", "--threads", "1,2", "--blocks", "1", "-q", "--results", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "block 1 of 1, in a fresh process with 2 threads" in result.stdout
    (saved,) = tmp_path.glob("*/*.json")
    run = json.loads(saved.read_text())
    assert sorted(bench["extra_info"]["threads"] for bench in run["benchmarks"]) == [1, 2]
    assert run["machine_info"]["tfvarbench"]["settings"]["threads"] == [1, 2]


def test_a_missing_device_is_one_usage_line_naming_it_and_those_present(run_pytest) -> None:
    result = run_pytest("benchmarks", "--devices", "GPU:0", "--logical-cpus", "2")
    assert result.returncode == 4
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines == ["ERROR: --devices: GPU:0 is not present on this machine; available: CPU:0, CPU:1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--devices", "TPU"], "ERROR: 'TPU' is not a device name (expected e.g. CPU:0 or GPU:1)"),
        (["--logical-cpus", "0"], "ERROR: --logical-cpus must be at least 1, got 0"),
        (["--devices", "gpu"], "ERROR: --devices gpu selects none of: CPU:0"),
        (["--blocks", "0"], "ERROR: --blocks 0: must be at least 1"),
        (["--threads", "0"], "ERROR: --threads 0: must be at least 1"),
    ],
)
def test_bad_options_are_one_usage_line(run_pytest, args: list[str], message: str) -> None:
    result = run_pytest("benchmarks", *args)
    assert result.returncode == 4
    assert [line for line in (result.stdout + result.stderr).splitlines() if line.strip()] == [message]


def test_a_timed_run_saves_json_that_pytest_benchmark_reads_and_writes_tables(run_pytest, tmp_path: Path) -> None:
    result = run_pytest(
        "benchmarks/bench_assign.py", "--logical-cpus", "2", "-k", "assign_add_no_read and not 1Mi", "-q", "--results", str(tmp_path),
        "--blocks", "2",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    saved = list(tmp_path.glob("*/*.json"))
    assert len(saved) == 1
    run = json.loads(saved[0].read_text())
    assert len(run["benchmarks"]) == 8  # 2 sizes x 2 devices x 2 blocks
    # every case's first block ran before any case's second block
    assert [bench["extra_info"]["block"] for bench in run["benchmarks"]] == [1] * 4 + [2] * 4
    from tfvarbench.runs import load_run

    cases = load_run(saved[0]).cases
    assert len(cases) == 4 and all(case["blocks"] == 2 and len(case["block_medians_s"]) == 2 for case in cases)
    assert all("block" not in case["name"] for case in cases)
    for bench in run["benchmarks"]:
        info = bench["extra_info"]
        assert (info["checked"]["values"] > 0 and info["checked"]["calls"] == info["calls"]) and info["mode"] == "eager" and info["op"] == "assign_add"
        assert info["calls"] > bench["stats"]["rounds"] * bench["stats"]["iterations"]
        assert len(bench["stats"]["data"]) == bench["stats"]["rounds"]
        assert info["gbps"] == pytest.approx(info["bytes"] / bench["stats"]["median"] / 1e9)
    # the first block calibrates each case, the second times it with the same iterations and calibrates nothing:
    # one call first, then a warm-up round and the timed rounds, each of these after its untimed settle calls
    by_block = {(b["extra_info"]["block"], b["extra_info"]["size"], b["extra_info"]["device"]): b for b in run["benchmarks"]}
    for (block, size, device), bench in by_block.items():
        stats, info = bench["stats"], bench["extra_info"]
        assert stats["iterations"] == by_block[(1, size, device)]["stats"]["iterations"]
        uncalibrated = 1 + (stats["rounds"] + 1) * stats["iterations"] + stats["rounds"] * info["settle_calls"]
        assert info["calls"] == uncalibrated if block == 2 else info["calls"] > uncalibrated
    assert [d["name"] for d in run["machine_info"]["tfvarbench"]["devices"]] == ["CPU:0", "CPU:1"]
    report = tmp_path / "reports" / saved[0].stem
    assert {"CPU_0.md", "CPU_1.md", "comparison.md", "results.csv", "index.html"} <= {p.name for p in report.iterdir()}
    # what to use here in at most 12 lines, separator included, ending where the run and its report are;
    # the tables stay in the files
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "tfvarbench: what to use on this machine" in line)
    ours = lines[start : next(i for i in range(start + 1, len(lines)) if re.match(r"^(=+ )?\d+ passed", lines[i]))]
    assert len(ours) <= 12 and ours[-2] == f"saved run: {saved[0]}", ours
    assert ours[-1].startswith(f"report: {report / 'index.html'} (summary.md and ")
    assert "CPU:1 / CPU:0" not in result.stdout
    # progress, as a CI log gets it (output to a pipe): plain lines, no carriage return or colour codes
    assert "tfvarbench: block 1 of 2: 0 of 4 cases done, estimating the time left" in lines
    span = r"(\d+ s|\d+ min \d\d s|\d+ h \d\d min)"  # progress.duration's words, whatever a block takes on a slow machine
    assert any(re.fullmatch(rf"tfvarbench: block 1 of 2 took {span}, about {span} left", line) for line in lines)
    assert not any(c in result.stdout for c in "\r\x1b")
    # where the time went: every case's phases, every block's process, and the report's table of both
    assert all(bench["extra_info"]["phase_s"]["timing"] > 0 for bench in run["benchmarks"])
    spans = run["machine_info"]["tfvarbench"]["time_spent"]["blocks"]
    assert [span["block"] for span in spans] == [1, 2] and all(span["wall_s"] >= span["startup_s"] + span["tests_s"] for span in spans)
    assert "| assignment | scalar |" in (report / "time.md").read_text()

    compare = subprocess.run(
        [sys.executable, "-m", "pytest_benchmark", "compare", str(saved[0])], capture_output=True, text=True, cwd=ROOT
    )
    assert compare.returncode == 0, compare.stderr
    assert "assign_add_no_read-1Ki-float32-CPU:1" in compare.stdout


def _broken_run(
    tmp_path: Path, *args: str, select: str = "benchmarks/bench_assign.py", keyword: str = "assign_add_no_read and scalar", **env: str
) -> subprocess.CompletedProcess[str]:
    """Two blocks of one small case, with tests/plugins/breakcase.py breaking what `env` says."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-o", f"cache_dir={tmp_path / 'cache'}", "-p", "breakcase", select,
         "-k", keyword, "--blocks", "2", "-q", "--results", str(tmp_path), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests" / "plugins"), **env},
    )


def test_a_case_failing_in_one_blocks_process_fails_the_run(tmp_path: Path) -> None:
    env_run = _broken_run(tmp_path, TFVARBENCH_BREAK="assign_add_no_read:2")
    out = env_run.stdout
    assert env_run.returncode == 1, out[-3000:] + env_run.stderr[-3000:]
    assert "block 1 of 2, in a fresh process" in out and "block 2 of 2, in a fresh process" in out
    # verification runs in the measured_case fixture, so a failed check is an error at setup
    failed = sorted(line.split()[1] for line in out.splitlines() if line.startswith(("FAILED", "ERROR")))
    assert failed == ["benchmarks/bench_assign.py::test_assignment[assign_add_no_read-scalar-float32-CPU:0-block2]"]
    assert "1 passed" in out and "1 error" in out and "VerificationError: v on CPU:0 (scalar, float32)" in out
    assert not list(tmp_path.glob("*/*.json")) or all(
        "block2" not in bench["name"] or bench["extra_info"].get("verified") is None
        for path in tmp_path.glob("*/*.json") for bench in json.loads(path.read_text())["benchmarks"]
    )


def test_a_block_whose_process_dies_fails_the_run_and_saves_nothing(tmp_path: Path) -> None:
    result = _broken_run(tmp_path, TFVARBENCH_CRASH_BLOCK="2")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "tfvarbench: nothing saved: block 2 exited with status 3 after 0 tests; its log ends:" in result.stdout
    assert not list(tmp_path.glob("*/*.json")), "a run missing a block is not saved"


def test_stopping_at_the_first_failure_runs_no_further_block_and_saves_nothing(tmp_path: Path) -> None:
    result = _broken_run(tmp_path, "-x", TFVARBENCH_BREAK="assign_add_no_read:1")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "block 2 of 2" not in result.stdout
    assert "tfvarbench: nothing saved: the run stopped in block 1 of 2 (-x or --maxfail)" in result.stdout
    assert not list(tmp_path.glob("*/*.json"))


def test_a_selection_of_one_block_starts_only_that_blocks_process(tmp_path: Path) -> None:
    one = "benchmarks/bench_assign.py::test_assignment[assign_add_no_read-scalar-float32-CPU:0-block2]"
    result = _broken_run(tmp_path, select=one)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "block 2 of 2, in a fresh process" in result.stdout and "block 1 of 2" not in result.stdout
    assert "1 passed" in result.stdout
    again = _broken_run(tmp_path, "--lf")  # the cache is on in the blocks' processes too
    assert again.returncode == 0 and "2 passed" in again.stdout, again.stdout[-3000:] + again.stderr[-3000:]


def test_test_ids_of_two_blocks_given_on_the_command_line_run_each_in_its_blocks_process(run_pytest, tmp_path: Path) -> None:
    # Each block's process makes only its own block's tests: given the other block's id, it found no such test and exited 4.
    ids = [f"benchmarks/bench_assign.py::test_assignment[assign_add_no_read-scalar-float32-CPU:0-block{block}]" for block in (1, 2)]
    result = run_pytest(*ids, "--blocks", "2", "-q", "--results", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout
    (saved,) = tmp_path.glob("*/*.json")
    assert sorted(bench["extra_info"]["block"] for bench in json.loads(saved.read_text())["benchmarks"]) == [1, 2]


def test_options_that_need_one_process_are_one_usage_line(tmp_path: Path) -> None:
    result = _broken_run(tmp_path, "--pdb")
    assert result.returncode == 4
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines == ["ERROR: --pdb needs one process, and --blocks 2 runs each block in its own: use --blocks 1"]


def test_sigterm_to_a_blocked_run_stops_its_block_process_and_workers(tmp_path: Path) -> None:
    import signal
    import time

    import psutil

    def command(process: psutil.Process) -> str:
        try:
            return " ".join(process.cmdline())
        except psutil.Error:  # short-lived helpers (uname, lscpu) come and go
            return ""

    parent = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "benchmarks/bench_multiworker.py", "--blocks", "2", "-q", "--results", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    workers: list = []
    while time.monotonic() < deadline and not workers:  # wait until block 1 has started its worker group
        time.sleep(0.5)
        children = psutil.Process(parent.pid).children(recursive=True)
        workers = [p for p in children if "tfvarbench.measure.worker" in command(p)]
    assert workers, "block 1 never started its workers"
    everything = psutil.Process(parent.pid).children(recursive=True)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=60) != 0
    # The parent exits only after its block's process stopped, which stops its workers first; the
    # short wait only lets the kernel finish reaping (untouched, the workers would run ~20 s more).
    gone, alive = psutil.wait_procs(everything, timeout=3)
    assert alive == [], f"left running: {[command(p)[:120] for p in alive]}"
    assert not list(tmp_path.glob("*/*.json")), "an interrupted run saves nothing"


def test_a_case_this_machine_cannot_run_in_a_blocked_run_is_said_once_with_its_reason(tmp_path: Path) -> None:
    # one device: the 2-replica case is not run (deselected, not a skip a block), and the end of the run says why once
    result = _broken_run(tmp_path, "-ra", select="benchmarks/bench_mirrored.py", keyword="assign_add_sum and scalar")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert not [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    not_run = [line for line in result.stdout.splitlines() if " not run: " in line]
    assert not_run == ["1 case not run: 2 replicas on CPUs need 2 logical CPUs, 1 selected: run with --logical-cpus 2"], not_run
    assert "2 passed" in result.stdout and "skipped" not in result.stdout


@pytest.mark.parametrize("save", [[], ["--benchmark-save", "broken"]], ids=["autosave", "benchmark-save"])
def test_a_failed_case_is_not_saved_while_the_others_are(tmp_path: Path, save: list[str]) -> None:
    # one process: assign_add_no_read is broken (its verification fails), assign_add_sub is not
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "breakcase", "benchmarks/bench_assign.py",
         "-k", "(assign_add_no_read or assign_sub_no_read) and scalar", "--blocks", "1", "-q", "--results", str(tmp_path),
         "--benchmark-storage", f"file://{tmp_path}", *save],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests" / "plugins"), "TFVARBENCH_BREAK": "assign_add_no_read:1"},
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout and "1 error" in result.stdout
    saved = list(tmp_path.glob("*/*.json"))
    assert len(saved) == 1, result.stdout[-3000:]
    names = [bench["name"] for bench in json.loads(saved[0].read_text())["benchmarks"]]
    assert names == ["test_assignment[assign_sub_no_read-scalar-float32-CPU:0-block1]"]


def test_a_case_failing_in_one_block_is_absent_from_the_merged_run(tmp_path: Path) -> None:
    result = _broken_run(tmp_path, TFVARBENCH_BREAK="assign_add_no_read:2")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    saved = list(tmp_path.glob("*/*.json"))
    assert len(saved) == 1, result.stdout[-3000:]
    names = [bench["name"] for bench in json.loads(saved[0].read_text())["benchmarks"]]
    assert names == ["test_assignment[assign_add_no_read-scalar-float32-CPU:0-block1]"]


@pytest.mark.parametrize("planted", [0.0, 0.15])
def test_every_block_checks_its_figures_against_a_plain_loop_and_a_planted_difference_reads_off(run_pytest, plugins_env, tmp_path: Path, planted: float) -> None:
    env = plugins_env("guardplant", TFVARBENCH_GUARD_PLANT=str(planted))
    result = run_pytest("benchmarks", "--logical-cpus", "2", "-k", "test_assignment and assign_no_read and scalar", "--results", str(tmp_path), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (saved,) = tmp_path.glob("*/*.json")
    entries = json.loads(saved.read_text())["machine_info"]["tfvarbench"]["guard"]
    # Every block, every device: ten passes of each series, the guard's own variable checked.
    assert sorted((entry["block"], entry["device"]) for entry in entries) == [(b, d) for b in (1, 2, 3) for d in ("CPU:0", "CPU:1")]
    assert all(entry["error"] is None and len(entry["case_s"]) == len(entry["plain_s"]) == 10 for entry in entries)
    from tfvarbench.analysis.guard import check_runs
    from tfvarbench.runs import load_run

    found = check_runs([load_run(saved)])
    if planted:
        assert [f.verdict for f in found] == ["off", "off"], found
        # about what was planted: CI read 1.22 (1.15-1.26) for a 15% plant once, this machine's noise over 30 paired passes
        assert all(f.ratio == pytest.approx(1 + planted, abs=0.10) for f in found), found
        assert "figures off: on CPU:0 the reference op read" in result.stdout
    else:
        assert all(f.verdict != "off" for f in found), found
        assert "figures off" not in result.stdout
    assert "Every block also times eager scalar" in (tmp_path / "reports").glob("*/summary.md").__next__().read_text()


def test_a_device_slowed_on_purpose_gets_its_own_columns_and_the_other_tables_tie(run_pytest, plugins_env, tmp_path: Path) -> None:
    env = plugins_env("slowdown", TFVARBENCH_SLOW_DEVICE="CPU:1:0.3")  # every eager variable method on CPU:1 30% slower
    result = run_pytest("benchmarks", "--logical-cpus", "2", "-k", "(test_assignment and assign_add and not 1Mi) or (test_function and call_tensor_argument)",
                        "--results", str(tmp_path), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (saved,) = tmp_path.glob("*/*.json")
    from tfvarbench.analysis.ties import difference
    from tfvarbench.render.report import build_report
    from tfvarbench.runs import labelled_cases, load_run

    run = load_run(saved)
    answer = build_report([run], plots=False).answer
    add = next(t for t in answer.tables if t.job.key == "add")
    assert [g.devices for g in add.groups] == [("CPU:0",), ("CPU:1",)]
    call = next(t for t in answer.tables if t.job.key == "traced_call")  # a traced call makes no eager method call: nothing slowed
    assert [g.devices for g in call.groups] == [("CPU:0", "CPU:1")]
    cases = labelled_cases([run])
    for case in ("assign_add", "assign_add_no_read"):
        for size in ("scalar", "1Ki"):
            a, b = (next(c for c in cases if (c["case"], c["size"], c["device"]) == (case, size, device)) for device in ("CPU:0", "CPU:1"))
            found = difference(a, b)
            assert found.verdict == "slower" and 1.15 < found.ratio < 1.5, (case, size, found)

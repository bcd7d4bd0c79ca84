"""Faults a user meets in a run of the suite: a block's process killed, a results folder that cannot be written, Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # short-lived helpers (uname, lscpu) come and go
        return ""


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """A run of the suite in its own session, as a terminal starts it (so signals reach its whole group)."""
    with (tmp_path / "out.txt").open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "-q", "--results", str(tmp_path / "results")],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )


def _wait_for(what: str, found, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} never happened")


def test_a_block_killed_while_timing_saves_nothing_and_says_which(tmp_path: Path) -> None:
    parent = _start(tmp_path, "benchmarks/bench_assign.py", "-k", "assign_add_no_read and not 1Mi", "--logical-cpus", "2", "--blocks", "2")

    def block_one() -> psutil.Process | None:
        return next((p for p in psutil.Process(parent.pid).children() if "--tfvarbench-block 1" in _command(p)), None)

    block = _wait_for("block 1's process", block_one)
    folder = Path(block.cmdline()[block.cmdline().index("--tfvarbench-out") + 1])
    reports = folder / "block-1.reports"
    # Its first case has been timed (the fixture times it, then the setup report is written); it
    # is timing the next one of its four.
    _wait_for("block 1's first case", lambda: reports.exists() and reports.read_text())
    block.kill()
    assert parent.wait(timeout=120) != 0
    out = (tmp_path / "out.txt").read_text()
    assert "tfvarbench: nothing saved: block 1 was killed by SIGKILL after " in out, out[-3000:]
    assert "block 2 of 2" not in out
    assert not list(tmp_path.glob("results/**/*.json")), "a run missing a block is not saved"


def test_a_block_that_hangs_past_its_bound_is_stopped_and_named_and_nothing_is_saved(run_pytest, plugins_env, tmp_path: Path) -> None:
    result = run_pytest("benchmarks/bench_assign.py", "-k", "assign_add_no_read and scalar", "--devices", "CPU:0",
                        "--blocks", "2", "--block-timeout", "90", "--results", str(tmp_path / "results"),
                        env=plugins_env("breakcase", TFVARBENCH_HANG_BLOCK="2"))
    out = result.stdout + result.stderr
    assert result.returncode == 1, out[-3000:]
    assert "tfvarbench: nothing saved: block 2 still running after 90 s (--block-timeout), stopped; its log ends:" in out, out[-3000:]
    assert "hanging" in out  # the tail of that block's own log
    assert not list(tmp_path.glob("results/**/*.json")), "a run missing a block is not saved"
    assert [p for p in psutil.process_iter(["cmdline"]) if "--tfvarbench-block 2" in " ".join(p.info["cmdline"] or [])] == []


@pytest.mark.parametrize("blocks", ["2", "1"])
def test_a_results_folder_that_cannot_be_written_is_one_line_before_anything_runs(run_pytest, tmp_path: Path, blocks: str) -> None:
    # A folder under a regular file: mkdir fails even for root, which a read-only mode would not stop.
    (tmp_path / "file.txt").write_text("not a folder")
    results = tmp_path / "file.txt" / "sub"
    result = run_pytest("benchmarks/bench_assign.py", "-k", "assign_add_no_read and scalar", "--blocks", blocks, "--results", str(results))
    assert result.returncode == 4
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines == [f"ERROR: --results {results}: cannot save the run there: {tmp_path / 'file.txt'} is a file, so nothing can be made under it"]
    assert [path.name for path in tmp_path.iterdir()] == ["file.txt"], "nothing half-written"


@pytest.mark.parametrize(("module", "process"), [
    ("benchmarks/bench_multiworker.py", "tfvarbench.measure.worker"),  # a worker group
    ("benchmarks/bench_paramserver.py", "tfvarbench.measure.coordinator"),  # a parameter-server cluster (its last process)
])
def test_ctrl_c_during_block_one_leaves_no_process_behind(tmp_path: Path, module: str, process: str) -> None:
    parent = _start(tmp_path, module, "--blocks", "2")

    def workers() -> list[psutil.Process]:
        return [p for p in psutil.Process(parent.pid).children(recursive=True) if process in _command(p)]

    _wait_for("block 1's worker group", workers)
    everything = psutil.Process(parent.pid).children(recursive=True)
    os.killpg(parent.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the foreground process group
    assert parent.wait(timeout=90) != 0
    gone, alive = psutil.wait_procs(everything, timeout=3)
    assert alive == [], f"left running: {[_command(p)[:120] for p in alive]}"
    assert not list(tmp_path.glob("results/**/*.json")), "an interrupted run saves nothing"

"""Faults of an `ab` job and of a disk, tried on purpose on the real commands: Ctrl-C at any moment, a side that cannot import
TensorFlow, a side that cannot start, a disk that fills or turns read-only while a run or a comparison is written.

Each ends in one line naming the side, the block or the file; what was saved before stays readable; nothing is left
half-written (no temporary file) and no child runs on.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from tfvarbench.runs import load_run

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
SELECTION = ["-k", "assign_add_no_read and scalar", "--devices", "CPU:0"]


def _start_ab(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """`tfvarbench ab` in a session of its own, as a terminal starts it (so Ctrl-C reaches it as a terminal's would)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")])}
    with (tmp_path / "stdout.txt").open("w") as out, (tmp_path / "stderr.txt").open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "tfvarbench", "ab", *args], cwd=ROOT, env=env, stdout=out, stderr=err, text=True,
                                start_new_session=True)


def _wait_for(what: str, found: Callable[[], object], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not found():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never happened")
        time.sleep(0.1)


def _children_naming(folder: Path) -> list[psutil.Process]:
    """Every process whose command line names `folder` (the blocks of a job write there)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if str(folder) in " ".join(process.info["cmdline"] or []) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            pass
    return found


def _kept_whole(out: Path) -> list[Path]:
    """The blocks saved in the job's folder, each of which must load, and no temporary file beside them."""
    assert [path for path in out.rglob(".*") if path.is_file()] == [], "a temporary file was left behind"
    saved = sorted(out.glob("*/block-*.json"))
    for path in saved:
        load_run(path)
    return saved


@pytest.mark.parametrize("moment", ["blocks starting", "a pair saved"])
def test_ctrl_c_at_any_moment_of_an_ab_job_stops_every_block_and_keeps_what_was_saved(tmp_path: Path, moment: str) -> None:
    out = tmp_path / "ab"
    job = _start_ab(tmp_path, "--pairs", "6", "--out", str(out), "--", *SELECTION)
    if moment == "blocks starting":
        _wait_for("the first block's log", lambda: any((out / "logs").glob("*.log")) if (out / "logs").is_dir() else False)
    else:
        _wait_for("a saved block", lambda: any(out.glob("*/block-*.json")))
    blocks = _children_naming(out)
    os.killpg(job.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the foreground process group, which holds ab but not its blocks
    assert job.wait(timeout=120) == 130
    assert (tmp_path / "stderr.txt").read_text().splitlines() == [f"tfvarbench ab: interrupted; the blocks saved so far are in {out}"]
    gone, alive = psutil.wait_procs(blocks, timeout=10)
    assert alive == [] and _children_naming(out) == []
    _kept_whole(out)
    assert not (out / "comparison.json").exists()


def test_a_side_that_cannot_import_tensorflow_stops_the_job_in_one_line_naming_it(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / "tensorflow"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text('raise ImportError("this TensorFlow is broken")\n')
    out = tmp_path / "ab"
    job = _start_ab(tmp_path, "--pairs", "2", "--design", "alternate", "--current-env", f"PYTHONPATH={broken.parent}{os.pathsep}{ROOT / 'tests' / 'plugins'}", "--out", str(out),
                    "--", *SELECTION)
    assert job.wait(timeout=300) == 2
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tfvarbench ab: current block 1 failed (exit "), lines
    assert "this TensorFlow is broken" in lines[0]
    assert [path.name for path in _kept_whole(out)] == ["block-01.json"]  # the baseline's block, which ran first, stays
    assert _children_naming(out) == []


def test_a_side_whose_interpreter_is_gone_when_its_block_starts_is_one_line_naming_the_block(tmp_path: Path) -> None:
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)  # there when ab checks its options, gone by the time the current side's first block starts
    out = tmp_path / "ab"
    job = _start_ab(tmp_path, "--pairs", "2", "--design", "alternate", "--current-python", str(python), "--out", str(out), "--", *SELECTION)
    _wait_for("the baseline's first block", lambda: (out / "logs" / "baseline-01.log").exists())
    python.unlink()
    assert job.wait(timeout=300) == 2
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert lines == [f"tfvarbench ab: current block 1 could not start ({python}): No such file or directory"]
    assert [path.name for path in _kept_whole(out)] == ["block-01.json"]
    assert _children_naming(out) == []


@contextmanager
def _small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A filesystem of `size` mounted at `folder` (tmpfs: root only, as in CI); skipped where mounting is not allowed."""
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_run_whose_disk_fills_saves_nothing_half_written_and_says_which_file(run_pytest, tmp_path: Path) -> None:
    with _small_disk(tmp_path / "disk", "24k") as disk:
        result = run_pytest("benchmarks/bench_assign.py", *SELECTION, "--blocks", "1", "--results", str(disk))
        left = sorted(path.name for path in disk.rglob("*"))
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "No space left on device" in out and str(disk) in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert not [name for name in left if name.startswith(".")], left  # no temporary file or staging folder


def test_a_comparison_whose_disk_is_full_or_read_only_is_one_line_naming_the_file(example_run: Path, tmp_path: Path, resave) -> None:
    later = resave(example_run, tmp_path / "later.json")
    command = [sys.executable, "-m", "tfvarbench", "compare", str(example_run), str(later)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks")}
    with _small_disk(tmp_path / "disk", "8k") as disk:
        target = disk / "comparison.json"
        full = subprocess.run([*command, "--json", str(target)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        left_full = sorted(path.name for path in disk.iterdir())
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        read_only = subprocess.run([*command, "--markdown", str(disk / "comparison.md")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert full.returncode == 2 and full.stderr == f"tfvarbench compare: {target}: No space left on device\n", full.stderr
    assert left_full == []
    assert read_only.returncode == 2 and read_only.stderr == f"tfvarbench compare: --markdown {disk / 'comparison.md'}: cannot write in {disk}: Read-only file system\n"


def test_an_ab_job_whose_disk_fills_stops_in_one_line_naming_the_block_and_keeps_the_blocks_saved(tmp_path: Path) -> None:
    with _small_disk(tmp_path / "disk", "64m") as disk:
        out = disk / "ab"
        job = _start_ab(tmp_path, "--pairs", "4", "--design", "alternate", "--out", str(out), "--", *SELECTION)
        _wait_for("a saved block", lambda: any(out.glob("*/block-*.json")))
        with (disk / "filler").open("wb") as filler:  # every byte left, taken
            try:
                while True:
                    filler.write(b"x" * 65536)
                    filler.flush()
            except OSError:
                pass
        code = job.wait(timeout=300)
        (disk / "filler").unlink()
        saved = _kept_whole(out)
        assert _children_naming(out) == []
    lines = (tmp_path / "stderr.txt").read_text().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("tfvarbench ab: "), lines
    assert lines[0].startswith("tfvarbench ab: current block 1 failed (exit 1; its log: ")  # the block timing when the disk filled
    assert lines[0].endswith(f"): no output (no space left on the disk of {out})") or "No space left on device" in lines[0], lines
    assert saved

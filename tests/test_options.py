"""pytest-benchmark's own output options in a run of the suite, as a user gives them."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tfvarbench.measure.blocks import child_command, write_json

ROOT = Path(__file__).resolve().parent.parent


def test_a_blocks_process_is_not_given_the_users_json_file(tmp_path: Path) -> None:
    args = ["benchmarks", "--benchmark-json", "run.json", "-q", "--benchmark-json=other.json", "-k", "x"]
    command = child_command(args, 2, tmp_path)
    assert command[3:7] == ["benchmarks", "-q", "-k", "x"]
    assert command[-2:] == ["--benchmark-json", str(tmp_path / "block-2.json")]
    assert "run.json" not in command and "--benchmark-json=other.json" not in command


def test_a_blocks_process_is_given_only_its_own_blocks_test_ids(tmp_path: Path) -> None:
    ids = [f"benchmarks/bench_assign.py::test_assignment[assign-scalar-float32-CPU:0-block{b}{t}]" for b in (1, 2) for t in ("", "-threads1")]
    command = child_command([*ids, "benchmarks/bench_stack.py", "-k", "x"], 2, tmp_path)
    assert [arg for arg in command if "::" in arg] == [ids[2], ids[3]]
    assert "benchmarks/bench_stack.py" in command and "-k" in command


def test_the_merged_run_replaces_the_users_json_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    handle = target.open("wb")
    write_json(handle, {"benchmarks": [1, 2]})
    assert handle.closed and json.loads(target.read_text()) == {"benchmarks": [1, 2]}
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]


def test_the_merged_run_is_written_whole_where_a_path_points(tmp_path: Path) -> None:
    # pytest-benchmark 5.3 hands --benchmark-json over as a Path, not an open file.
    target = tmp_path / "run.json"
    target.write_text("an earlier run")
    write_json(target, {"benchmarks": [1, 2]})
    write_json(tmp_path / "new.json", {"benchmarks": []})
    assert json.loads(target.read_text()) == {"benchmarks": [1, 2]}
    assert json.loads((tmp_path / "new.json").read_text()) == {"benchmarks": []}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["new.json", "run.json"]


@pytest.mark.slow
@pytest.mark.parametrize(("blocks", "expected"), [(2, 4), (1, 2)])
def test_benchmark_json_holds_every_blocks_cases(run_pytest, tmp_path: Path, blocks: int, expected: int) -> None:
    """...and a dependency that warns in every case (tests/plugins/depwarning.py) costs the run nothing."""
    out = Path(os.path.relpath(tmp_path / "run.json", ROOT))  # relative, as a user types it
    result = run_pytest(
        "-p", "depwarning", "benchmarks/bench_assign.py", "-k", "assign_add_no_read and scalar", "--logical-cpus", "2", "--blocks", str(blocks),
        "--benchmark-json", str(out), "-q", "--results", str(tmp_path / "results"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads((tmp_path / "run.json").read_text())
    # 2 devices per block; every block's cases, each block once
    assert len(run["benchmarks"]) == expected
    assert sorted(bench["extra_info"]["block"] for bench in run["benchmarks"]) == sorted([b for b in range(1, blocks + 1)] * 2)
    assert all((bench["extra_info"]["checked"]["values"] > 0 and bench["extra_info"]["checked"]["calls"] == bench["extra_info"]["calls"]) for bench in run["benchmarks"])
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")], "no temporary file is left"
    assert "DeprecationWarning: depwarning: this dependency's API is deprecated" in result.stdout, result.stdout[-3000:]


# What each pytest-benchmark option does in a run of blocks (--blocks 2) and in one block (README:
# "pytest-benchmark's options"). "saved": where the run must be saved, relative to the test's folder
# (None: nothing saved); "usage": the one line a refused option gets; "out": what the terminal shows.
TABLE = "Name (time in us)"
TIMER_LINE = (
    "ERROR: --benchmark-timer time.process_time: tfvarbench times with its own clock (perf_counter after the device's"
    " queued work is done), which a round needs on a GPU: leave --benchmark-timer out"
)
COMPARE = "needs one process, and --blocks 2 runs each block in its own: use tfvarbench compare, or --blocks 1"
OPTIONS = {
    "json": (["--benchmark-json", "{tmp}/run.json"], {"saved": "run.json"}),
    "save": (["--benchmark-save", "mine"], {"saved": "results/*/0001_mine.json"}),
    "autosave": (["--benchmark-autosave"], {"saved": "results/*/0001_*.json"}),
    "storage": (["--benchmark-storage", "file://{tmp}/store"], {"saved": "store/*/0001_*.json"}),
    "save-data": (["--benchmark-save", "mine", "--benchmark-save-data"], {"saved": "results/*/0001_mine.json"}),
    "columns": (["--benchmark-columns", "min,rounds"], {"out": "Min  ", "not_out": "Median"}),
    "sort": (["--benchmark-sort", "name"], {"out": TABLE}),
    "group-by": (["--benchmark-group-by", "func"], {"out": "benchmark 'test_assignment'"}),
    "name": (["--benchmark-name", "long"], {"out": "benchmarks/bench_assign.py::test_assignment["}),
    "min-rounds": (["--benchmark-min-rounds", "20"], {"rounds": 20}),
    "max-time": (["--benchmark-max-time", "0.05"], {"saved": "results/*/0001_*.json"}),
    "min-time": (["--benchmark-min-time", "0.02"], {"saved": "results/*/0001_*.json"}),
    "warmup": (["--benchmark-warmup", "off"], {"saved": "results/*/0001_*.json"}),
    "disable-gc": (["--benchmark-disable-gc"], {"saved": "results/*/0001_*.json"}),
    "timer": (["--benchmark-timer", "time.process_time"], {"usage": TIMER_LINE}),
    "only": (["--benchmark-only"], {"saved": "results/*/0001_*.json"}),
    "skip": (["--benchmark-skip"], {"saved": None, "out": "skipped"}),
    "disable": (["--benchmark-disable"], {"saved": None, "out": "passed"}),
    "cprofile": (["--benchmark-cprofile", "tottime"], {"saved": "results/*/0001_*.json", "out": "cProfile (time in s)"}),
    "compare": (["--benchmark-compare"], {"blocks": {"usage": f"ERROR: --benchmark-compare {COMPARE}"}, "one": {"first": True, "out": "(NOW)"}}),
    "compare-fail": (
        ["--benchmark-compare", "--benchmark-compare-fail", "min:1000%"],
        {"blocks": {"usage": f"ERROR: --benchmark-compare {COMPARE}"}, "one": {"first": True, "out": "(NOW)"}},
    ),
}


def _histogram_expected() -> dict:
    try:
        import pytest_benchmark.histogram  # noqa: F401
    except ImportError:
        return {"usage": "ERROR: --benchmark-histogram needs pygal and pygaljs: pip install 'pytest-benchmark[histogram]'"}
    return {"saved": "hist-*.svg"}


OPTIONS["histogram"] = (["--benchmark-histogram", "{tmp}/hist"], _histogram_expected())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blocks", "one"])
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_each_benchmark_option_does_what_the_readme_says(run_pytest, tmp_path: Path, option: str, mode: str) -> None:
    args, expected = OPTIONS[option]
    expected = expected.get(mode, expected)
    # pytest-benchmark compares only with runs saved under the current folder: run from the test's
    cwd = tmp_path if expected.get("first") else ROOT
    common = [str(ROOT / "benchmarks" / "bench_assign.py"), "-k", "assign_add_no_read and scalar", "--devices", "CPU:0", "-q", "--results", str(tmp_path / "results")]
    if expected.get("first"):  # a run to compare with, saved where the compared run looks
        assert run_pytest(*common, "--blocks", "1", cwd=cwd).returncode == 0
    result = run_pytest(*common, "--blocks", "2" if mode == "blocks" else "1", *[arg.format(tmp=tmp_path) for arg in args], cwd=cwd)
    out = result.stdout + result.stderr
    if "usage" in expected:
        assert result.returncode == 4 and [line for line in out.splitlines() if line.strip()] == [expected["usage"]]
        assert not (tmp_path / "results").exists(), "refused before anything ran or was saved"
        return
    assert result.returncode == 0, out[-3000:]
    if "out" in expected:
        assert expected["out"] in result.stdout
    assert expected.get("not_out", "\0") not in result.stdout
    saved = [path for path in tmp_path.glob("**/*.json")]
    if expected.get("saved", "") is None:
        assert saved == [], "a run that timed nothing saves nothing"
        return
    pattern = expected.get("saved", "results/*/0002_*.json" if expected.get("first") else "results/*/0001_*.json")
    files = list(tmp_path.glob(pattern))
    assert len(files) == 1, (pattern, saved)
    if not pattern.endswith(".json"):
        return
    run = json.loads(files[0].read_text())
    # every block's case, each with all its rounds whatever was asked (a tfvarbench run always keeps them)
    assert sorted(bench["extra_info"]["block"] for bench in run["benchmarks"]) == ([1, 2] if mode == "blocks" else [1])
    for bench in run["benchmarks"]:
        assert (bench["extra_info"]["checked"]["values"] > 0 and bench["extra_info"]["checked"]["calls"] == bench["extra_info"]["calls"]) and len(bench["stats"]["data"]) == bench["stats"]["rounds"]
        assert bench["stats"]["rounds"] == expected.get("rounds", bench["stats"]["rounds"])
    assert not [path for path in tmp_path.glob("**/.*.tmp")] + [path for path in tmp_path.glob("**/.tfvarbench-probe-*")]

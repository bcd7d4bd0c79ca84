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


def test_the_merged_run_replaces_the_users_json_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    handle = target.open("wb")
    write_json(handle, {"benchmarks": [1, 2]})
    assert handle.closed and json.loads(target.read_text()) == {"benchmarks": [1, 2]}
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.slow
@pytest.mark.parametrize(("blocks", "expected"), [(2, 4), (1, 2)])
def test_benchmark_json_holds_every_blocks_cases(run_pytest, tmp_path: Path, blocks: int, expected: int) -> None:
    out = Path(os.path.relpath(tmp_path / "run.json", ROOT))  # relative, as a user types it
    result = run_pytest(
        "benchmarks/bench_assign.py", "-k", "assign_add_no_read and scalar", "--logical-cpus", "2", "--blocks", str(blocks),
        "--benchmark-json", str(out), "-q", "--results", str(tmp_path / "results"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = json.loads((tmp_path / "run.json").read_text())
    # 2 devices per block; every block's cases, each block once
    assert len(run["benchmarks"]) == expected
    assert sorted(bench["extra_info"]["block"] for bench in run["benchmarks"]) == sorted([b for b in range(1, blocks + 1)] * 2)
    assert all(bench["extra_info"]["verified"] for bench in run["benchmarks"])
    assert not [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")], "no temporary file is left"

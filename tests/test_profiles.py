"""The profiles' grids: what `full` leaves out to keep to its time, that it says so, and that `full+` runs the rest."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from tfvarbench.measure import PROFILES

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
FAMILIES = (
    "bench_assign", "bench_function", "bench_gradient", "bench_mirrored", "bench_multiworker", "bench_optimizer", "bench_paramserver",
    "bench_reference", "bench_sparse", "bench_stack",
)


def _family(module: str):
    spec = importlib.util.spec_from_file_location(f"profile_{module}", BENCHMARKS / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded  # a dataclass in the module (bench_optimizer's Rule) looks its module up there
    spec.loader.exec_module(loaded)
    return loaded.family


@pytest.fixture(scope="module")
def families() -> dict:
    return {module: _family(module) for module in FAMILIES}


def _grid(family, profile: str) -> set[tuple[str, str, str]]:
    return {(case.name, size, dtype) for case, size, dtype in family.grid(PROFILES[profile])}


def test_full_plus_is_the_whole_grid_and_full_leaves_out_only_what_it_names(families: dict) -> None:
    full, whole = PROFILES["full"], PROFILES["full+"]
    assert (whole.sizes, whole.dtypes, whole.blocks, whole.case_s, whole.round_s) == (full.sizes, full.dtypes, full.blocks, full.case_s, full.round_s)
    assert whole.leaves_out == () and whole.left_out() is None
    for family in families.values():
        kept, everything = _grid(family, "full"), _grid(family, "full+")
        assert kept <= everything
        for name, size, dtype in everything - kept:
            assert any(omission.covers(family.name, size, dtype, name) for omission in full.leaves_out), (family.name, name, size, dtype)


def test_full_keeps_every_variant_at_every_size_in_float32_and_three_sizes_of_the_other_dtypes_for_assignment(families: dict) -> None:
    for module in ("bench_assign", "bench_gradient", "bench_mirrored", "bench_function"):
        kept, everything = _grid(families[module], "full"), _grid(families[module], "full+")
        assert {entry for entry in everything if entry[2] == "float32"} <= kept, module
    assign = _grid(families["bench_assign"], "full")
    assert {size for _, size, dtype in assign if dtype != "float32"} == {"scalar", "1Ki", "1Mi"}  # a cost model needs three
    assert {dtype for _, _, dtype in assign} == {"float32", "float16", "float64", "int32"}
    assert {dtype for _, _, dtype in _grid(families["bench_gradient"], "full")} == {"float32"}
    assert not any(size == "16Mi" for _, size, _ in _grid(families["bench_multiworker"], "full"))


def test_what_names_the_full_profile_runs_in_full_plus_too_and_not_in_quick(families: dict) -> None:
    assert PROFILES["full+"].among(("full",)) and PROFILES["full"].among(("full",)) and not PROFILES["quick"].among(("full",))
    assert not PROFILES["full"].among(("full+",))  # full+ runs more than full, not the other way round
    sparse = families["bench_sparse"]
    only_full = {case.name for case in sparse.cases if case.profiles == ("full",)}
    assert only_full and only_full <= {name for name, _, _ in _grid(sparse, "full+")}
    assert not only_full & {name for name, _, _ in _grid(sparse, "quick")}


def test_the_workers_run_the_multiworker_familys_grid_and_nothing_no_test_reads(families: dict) -> None:
    # The workers load bench_multiworker.py: float32 only, where the mirrored family also has float64.
    assert {dtype for _, _, dtype in _grid(families["bench_multiworker"], "full+")} == {"float32"}
    assert {dtype for _, _, dtype in _grid(families["bench_mirrored"], "full+")} == {"float32", "float64"}


def test_full_times_optimizers_over_one_variable_and_adams_half_floats_at_1mi(families: dict) -> None:
    kept, everything = _grid(families["bench_optimizer"], "full"), _grid(families["bench_optimizer"], "full+")
    assert not any(name.endswith("_100") for name, _, _ in kept) and any(name.endswith("_100") for name, _, _ in everything)
    assert {entry for entry in everything if entry[2] == "float32" and not entry[0].endswith("_100")} <= kept  # every rule, way and mode
    halves = {(name, size) for name, size, dtype in kept if dtype in ("float16", "bfloat16")}
    assert halves and all(name.startswith("adam_") and size == "1Mi" for name, size in halves)
    adam = {name for name, _, _ in kept if name.startswith(("adam_keras3", "adam_legacy", "adam_fused"))}
    assert len(adam) == 9 and {name for name, _ in halves} == adam  # each Adam way, in each mode


def test_full_says_what_it_leaves_out_and_how_to_run_it() -> None:
    assert PROFILES["full"].left_out() == (
        "--profile full leaves out every family but assignment, optimizer in float16, float64, int32; assignment at 64Ki, 16Mi in float16, float64,"
        " int32; multiworker at 16Mi; optimizer over 100 variables; optimizer rules but Adam in float16, bfloat16; optimizer at 1Ki in float16,"
        " bfloat16: --profile full+ runs them too"
    )


@pytest.mark.slow
def test_a_full_run_names_what_it_leaves_out_and_a_blocks_process_makes_only_its_block(run_pytest, tmp_path: Path) -> None:
    header = run_pytest("benchmarks/bench_stack.py", "--profile", "full", "--collect-only", "--blocks", "3")
    assert "tfvarbench: --profile full leaves out " in header.stdout and len(re.findall(r"-block\d\]", header.stdout)) == 6  # 2 variants x 3 blocks
    child = run_pytest(
        "benchmarks/bench_stack.py", "--collect-only", "-q", "--blocks", "3", "--tfvarbench-block", "2", "--tfvarbench-out", str(tmp_path)
    )
    assert child.returncode == 0, child.stdout[-2000:]
    ids = re.findall(r"\[.*?\]", child.stdout)
    assert ids and all(test_id.endswith("-block2]") for test_id in ids) and "deselected" not in child.stdout

"""The sparse family: k rows of a table, checked row by row; its grid per profile; and what the readers make of rows touched."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from tfvarbench.measure import PROFILES, Family, Setup, Unsupported, VerificationError
from tfvarbench.measure.cases import rows_touched
from tfvarbench.measure.run import run_case
from tfvarbench.measure.setup import index_dtype
from tfvarbench.analysis.answer import answer
from tfvarbench.analysis.crossovers import row_crossovers
from tfvarbench.render.glance import markdown, short
from tfvarbench.analysis.model import fits_of

QUICK, FULL, WHOLE = PROFILES["quick"], PROFILES["full"], PROFILES["full+"]
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _sparse() -> Any:
    spec = importlib.util.spec_from_file_location("bench_sparse", BENCHMARKS / "bench_sparse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SPARSE = _sparse()


def case(name: str):
    return next(c for c in SPARSE.family.cases if c.name == name)


def test_rows_touched_are_a_count_or_a_share_of_the_table() -> None:
    assert [rows_touched(label, 16384) for label in ("1", "1%", "10%")] == [1, 163, 1638]
    assert rows_touched("1%", 50) == 1 and rows_touched("5", 3) == 3


def test_a_variant_on_rows_is_one_case_per_count_and_the_quick_profile_times_a_subset() -> None:
    family = Family("test", min_size=1 << 20)

    @family.case("scatter_add", "v", rows=("1", "10%"), profiles=("full",))
    @family.case("scatter_add", "v", rows=("1%",))
    def add(s: Setup):
        raise AssertionError("not built")

    assert [(c.name, c.rows, c.profiles) for c in family.cases] == [
        ("add_1pct", "1%", None), ("add_1row", "1", ("full",)), ("add_10pct", "10%", ("full",))
    ]
    assert [(c.name, size) for c, size, _ in family.grid(QUICK)] == [("add_1pct", "1Mi")]  # 1Mi and up only
    assert len(family.grid(WHOLE)) == 3 * 2 * 4  # counts x sizes 1Mi, 16Mi x dtypes
    assert len(family.grid(FULL)) == 3 * 2  # full keeps to its time: float32 only outside the assignment family
    with pytest.raises(ValueError, match="two variants are named add_1pct"):
        family.case("scatter_add", "again", rows=("1%",))(add)


def test_the_sparse_grid_quick_and_full() -> None:
    quick = SPARSE.family.grid(QUICK)
    assert len(quick) == 21 and {size for _, size, _ in quick} == {"1Mi"} and {dtype for *_, dtype in quick} == {"float32"}
    assert {c.name for c, *_ in quick} >= {"scatter_add_1row", "scatter_add_1pct", "scatter_add_10pct", "dense_assign_add_10pct",
                                           "embedding_densified_function_1pct", "scatter_update_repeated_10pct"}
    whole = SPARSE.family.grid(WHOLE)
    assert len(whole) == 61 * 2 * 2  # every way at every count; tables of 1Mi and 16Mi; float32 and float64
    full = SPARSE.family.grid(FULL)
    assert set(full) == {entry for entry in whole if entry[2] == "float32"}  # full leaves float64 to full+


def test_row_indices_are_int64_on_a_gpu_where_int32_would_live_in_host_memory() -> None:
    assert index_dtype("GPU:0") == "int64" and index_dtype("GPU:1") == "int64" and index_dtype("CPU:0") == "int32"


@pytest.mark.parametrize("name", ["scatter_add_1pct", "scatter_update_repeated_10pct", "scatter_add_repeated_10pct", "slice_assign_rows_1pct",
                                  "embedding_keras_function_1pct", "embedding_fused_1pct"])
def test_sparse_cases_verify_and_record_the_rows_they_touch(once, name: str) -> None:
    record = run_case(once(), case(name), "CPU:0", "1Mi", "float32", QUICK)
    assert (record["rows"], record["table"], record["index_dtype"] if "slice" not in name else "int32") == (
        {"1pct": 163, "10pct": 1638}[name.rsplit("_", 1)[1]], "16384x64", "int32"
    )
    assert record["bytes"] == record["rows"] * 64 * 4 and record["elements"] == 1 << 20


def test_xla_has_no_kernel_for_the_fused_sparse_apply_and_the_case_is_skipped(once) -> None:
    with pytest.raises(Unsupported, match=r"embedding step \[xla\]: XLA cannot compile it on CPU:0"):
        run_case(once(), next(c for c in SPARSE.family.cases if c.name == "embedding_fused_xla_1pct"), "CPU:0", "1Mi", "float32", QUICK)


def _adds_one_row(s: Setup, row_written, every_call: bool = True):
    v = s.table(0, 64)
    rows = np.array([5, 900])
    update = tf.IndexedSlices(s.tensor(1, shape=(2, 64)), s.indices(row_written))
    s.expect(v, s.changes(rows, s.adds(0, 1)))
    calls = iter(range(1 << 30))
    return lambda: v.scatter_add(update) if every_call or next(calls) == 0 else None


def test_an_update_to_a_wrong_row_fails_naming_the_row(once) -> None:
    family = Family("test")
    family.case("scatter_add", "row 901 instead of 900", rows=("1%",))(lambda s: _adds_one_row(s, np.array([5, 901])))
    with pytest.raises(VerificationError, match=r"holds 0\.0 at row 900, column 0, expected 2\.0 \(128 of 1048576 elements differ\)"):
        run_case(once(), family.cases[0], "CPU:0", "1Mi", "float32", QUICK)


def test_a_skipped_update_fails(once) -> None:
    family = Family("test")
    family.case("scatter_add", "only the first call adds", rows=("1%",))(lambda s: _adds_one_row(s, np.array([5, 900]), every_call=False))
    with pytest.raises(VerificationError, match=r"holds 1\.0 at row 5, column 0, expected 2\.0"):
        run_case(once(), family.cases[0], "CPU:0", "1Mi", "float32", QUICK)


def _case(case: str, op: str, variant: str, rows: int, median_s: float, device: str = "CPU:0") -> dict[str, Any]:
    return {"family": "sparse", "case": case, "op": op, "variant": variant, "mode": "eager", "dtype": "float32", "size": "1Mi",
            "device": device, "device_label": device, "device_kind": "CPU", "rows": rows, "bytes": rows * 256, "median_s": median_s,
            "data": rounds(median_s)}


def rounds(median_s: float) -> list[float]:
    """Ten rounds 1% apart around a median, as one block's passes time them (the tie rule pairs cases by them)."""
    return [median_s * (1 + 0.01 * (k - 5) / 5) for k in range(10)]


def test_rows_touched_rank_apart_and_the_dense_way_crosses_the_sparse_one_in_rows() -> None:
    sparse, dense = "v.scatter_add(IndexedSlices(x, rows))", "dense: v.assign_add(table of zeros but the k rows)"
    # scatter_add: 10 µs + 1 µs a row; the dense add: 1 ms whatever the rows. They cross at 990 rows.
    cases = [_case(f"scatter_add_{k}", "scatter_add", sparse, k, 10e-6 + k * 1e-6) for k in (1, 163, 1638)]
    cases += [_case(f"dense_assign_add_{k}", "assign_add", dense, k, 1e-3) for k in (1, 163, 1638)]
    fits = fits_of(cases)
    [found] = row_crossovers(fits)
    assert (found.faster, found.low_rows, found.high_rows) == ("against", 1, 1638) and found.at_rows == pytest.approx(990, rel=0.02)
    [add] = [t for t in answer(cases, row_crossovers=[found]).tables if t.job.key == "add_rows"]
    assert (add.table, add.sizes) == ("1Mi", ("1 row", "163 rows", "1638 rows"))
    [group] = add.groups
    fastest = {column: next(r.identity[0] for r in group.rows if r.cells[column].fastest) for column in add.sizes}
    assert fastest == {"1 row": "scatter_add", "163 rows": "scatter_add", "1638 rows": "assign_add"}
    assert add.dense == (found,) and not add.overtakes  # the dense pair is said once, in rows
    words = markdown(answer(cases, row_crossovers=[found]))
    assert "## Add to some rows of a table (1Mi table, rows touched a call)" in words
    assert re.search(r"\| way +\| 1 row +\| 163 rows +\| 1638 rows +\|", words)
    assert f"`assign_add: {dense}` is faster than `scatter_add: {sparse}` from about 990 rows a call on" in words


def test_repeated_rows_that_cost_nothing_are_not_called_a_trap() -> None:
    unique, repeated = "v.scatter_add(IndexedSlices(x, rows))", "v.scatter_add(IndexedSlices(x, rows)), rows repeated"
    cases = [_case("scatter_add_10pct", "scatter_add", unique, 1638, 2e-3), _case("scatter_add_repeated_10pct", "scatter_add", repeated, 1638, 1e-3)]
    assert answer(cases).traps == ()  # the idiom faster than its fix: no trap
    assert "rows repeated` instead of" not in markdown(answer(cases))
    assert not [line for line in short(answer(cases)) if "trap" in line]
    slower = answer([cases[0], {**cases[1], "median_s": 3e-3, "data": rounds(3e-3)}])
    assert f"trap: scatter_add: {repeated}, up to 1.50× slower than scatter_add: {unique} (1638 rows of 1Mi; CPU:0)" in short(slower)


def test_a_densify_trap_is_named_per_mode_and_count_of_rows() -> None:
    sparse, dense = "tape + v.scatter_sub(IndexedSlices(lr * g.values, g.indices))", "tape + v.assign_sub(lr * tf.convert_to_tensor(g)) (densified)"
    cases = [{**_case(f"embedding_{way}_1pct", "embedding step", variant, 163, median_s), "mode": mode}
             for mode in ("eager", "function") for way, variant, median_s in (("sparse", sparse, 1e-4), ("densified", dense, 2e-3))]
    traps = answer(cases).traps
    assert [(t.key, t.slow.endswith(f"[{mode}]"), t.rows, t.ratio) for t, mode in zip(traps, ("eager", "function"))] == [
        ("densify", True, 163, pytest.approx(20)), ("densify", True, 163, pytest.approx(20))]
    assert f"`embedding step: {dense} [eager]` instead of `embedding step: {sparse} [eager]`" in markdown(answer(cases))

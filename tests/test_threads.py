"""--threads as an axis: the counts it accepts, the block processes a run over several starts, and records that keep counts apart."""
from __future__ import annotations

from pathlib import Path

import pytest

from tfvarbench.measure.blocks import block_name, child_command
from tfvarbench.plugin.options import thread_counts
from tfvarbench.runs import case_name, identity_of, variant_label


def test_a_list_of_counts_is_read_in_order_without_repeats() -> None:
    assert thread_counts("1,2") == [1, 2]
    assert thread_counts("2,1,2") == [2, 1]
    assert thread_counts("4") == [4]
    assert thread_counts(None) == [None]


@pytest.mark.parametrize(("spec", "message"), [("0", "--threads 0: must be at least 1"), ("1,x", "--threads 1,x: 'x' is not a whole number"),
                                               ("1,-2", "--threads -2: must be at least 1")])
def test_a_bad_count_is_named(spec: str, message: str) -> None:
    with pytest.raises(pytest.UsageError, match=f"^{message}$"):
        thread_counts(spec)


def test_each_count_of_a_block_has_its_own_process_and_files(tmp_path: Path) -> None:
    command = child_command(["benchmarks", "--threads", "1,2"], 2, tmp_path, threads=1)
    assert command[command.index("--tfvarbench-threads") + 1] == "1"
    assert command[command.index("--benchmark-json") + 1] == str(tmp_path / "block-2-threads1.json")
    assert "--tfvarbench-threads" not in child_command(["benchmarks"], 2, tmp_path)
    assert block_name(3) == "block-3"


def test_the_same_case_at_two_thread_counts_is_two_cases() -> None:
    one = {"family": "optimizer", "case": "assign_add", "size": "1Ki", "dtype": "float32", "device": "CPU:0", "variant": "v.assign_add(x)", "threads": 1}
    two = {**one, "threads": 2}
    assert identity_of(one) != identity_of(two)
    assert (variant_label(one), variant_label(two)) == ("v.assign_add(x) [1 thread]", "v.assign_add(x) [2 threads]")
    assert case_name(two) == "optimizer/assign_add/1Ki/float32/CPU:0/2t"
    default = {key: value for key, value in one.items() if key != "threads"}
    assert variant_label(default) == "v.assign_add(x)" and case_name(default).endswith("CPU:0")

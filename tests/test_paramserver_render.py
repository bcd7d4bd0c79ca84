"""Parameter-server cases as readers see them: named /Nps/Nw, ranked per cluster size against the local update, held to loopback."""
from __future__ import annotations

from typing import Any

import pytest

from tfvarbench.analysis.answer import answer
from tfvarbench.render.findings import bandwidth_table
from tfvarbench.render.glance import chart_name, markdown
from tfvarbench.runs import SIZES, case_name, variant_label

WHOLE, SHARDED, LOCAL = "remote, whole variable", "remote, FixedShardsPartitioner(2)", "local: the coordinator's CPU"


def case(name: str, variant: str, size: str, median_s: float, ps: int, workers: int, **extra: Any) -> dict[str, Any]:
    nbytes = 4 * SIZES[size]
    remote = variant.startswith("remote")
    return {
        "family": "paramserver", "case": name, "op": extra.pop("op", "assign_add"), "variant": variant,
        "mode": extra.pop("mode", "paramserver" if remote else "function"), "dtype": "float32", "size": size,
        "device": "CPU:0", "device_label": "CPU:0", "device_kind": "CPU", "host": "vm", "median_s": median_s,
        "data": [median_s * (1 + 0.01 * (k - 5) / 5) for k in range(10)],  # one block's passes, 1% apart: the tie rule pairs them
        "bytes": nbytes, "gbps": nbytes / median_s / 1e9, "ps": ps, "workers": workers, "rel_iqr": 0.01,
        "updates_per_call": workers, **({"bandwidth_limit": "loopback"} if remote else {}), **extra,
    }


def cluster_cases(ps: int, workers: int) -> list[dict[str, Any]]:
    """Whole wins at 1Ki, sharding at 1Mi; the local update is ten times faster than either."""
    return [
        case("assign_add_whole", WHOLE, "1Ki", 2e-3, ps, workers), case("assign_add_fixed_shards", SHARDED, "1Ki", 3e-3, ps, workers),
        case("assign_add_whole", WHOLE, "1Mi", 8e-3, ps, workers), case("assign_add_fixed_shards", SHARDED, "1Mi", 5e-3, ps, workers),
        case("assign_add_local", LOCAL, "1Ki", 2e-4, ps, workers), case("assign_add_local", LOCAL, "1Mi", 5e-4 * ps, ps, workers),
    ]


def test_a_case_is_named_with_its_parameter_servers_and_workers() -> None:
    record = case("assign_add_whole", WHOLE, "1Mi", 1e-3, 1, 2)
    assert case_name(record) == "paramserver/assign_add_whole/1Mi/float32/CPU:0/1ps/2w"
    assert variant_label(record) == "remote, whole variable [1 ps, 2 workers]"


def test_each_cluster_size_is_a_table_of_its_own_with_its_own_local_update_as_baseline() -> None:
    result = answer(cluster_cases(1, 1) + cluster_cases(2, 1))
    tables = [table for table in result.tables if table.job.key == "remote_add"]
    assert [(table.ps, table.workers, table.sizes) for table in tables] == [(1, 1, ("1Ki", "1Mi")), (2, 1, ("1Ki", "1Mi"))]
    assert len({chart_name(table) for table in tables}) == 2 and chart_name(tables[1]) == "glance-remote_add-float32-2ps-1w.png"
    (group,) = tables[1].groups
    by_variant = {row.label.split(": ", 1)[1]: row for row in group.rows}
    assert set(by_variant) == {WHOLE, SHARDED} and by_variant[WHOLE].common  # the local update is not a way
    assert by_variant[SHARDED].cells["1Mi"].fastest and by_variant[WHOLE].cells["1Mi"].factor == 8e-3 / 5e-3
    assert by_variant[WHOLE].cells["1Ki"].fastest
    assert group.baseline.label == f"assign_add: {LOCAL}" and group.baseline.cells["1Mi"].median_s == 1e-3  # the 2ps cluster's, not 0.5 ms
    (overtake,) = tables[1].overtakes  # sharding pays from 1Mi on
    assert (overtake.faster, overtake.slower, overtake.before, overtake.after) == (f"assign_add: {SHARDED}", f"assign_add: {WHOLE}", "1Ki", "1Mi")
    words = markdown(result)
    assert "## Add to a variable on parameter servers (2 ps, 1 worker)" in words
    assert f"on CPU:0, `assign_add: {SHARDED}` overtakes `assign_add: {WHOLE}` between 1Ki and 1Mi" in words


def test_remote_updates_are_held_to_loopback_counting_one_update_per_worker_and_row_updates_to_nothing() -> None:
    loopback = case("loopback_copy", "TCP on 127.0.0.1", "1Mi", 1e-3, 1, 2, op="loopback copy", mode="reference")  # 4.19 GB/s
    remote = case("assign_add_whole", WHOLE, "1Mi", 4e-3, 1, 2)  # two updates of 4 MiB in 4 ms: 2.10 GB/s
    rows = case("rows_whole", "scatter_add of 8 rows of 64, remote, whole table", "1Mi", 1e-3, 1, 2, op="sparse row update",
                bandwidth_limit="none: the update moves its rows, not the table")
    section = bandwidth_table([loopback, remote, rows])[0]
    by_op = {row[1]: row for row in section.rows}
    assert "loopback copy" not in by_op  # the limit itself is not a row
    assert by_op["assign_add"][6:8] == ("2.1", "50% of loopback")
    assert by_op["sparse row update"][7:] == ("–", "the update moves its rows, not the table")
    assert "loopback, vm 4.00 MiB: 4.19 GB/s" in section.text


def test_an_adam_step_is_a_job_of_its_own_and_never_ranked_against_sgd() -> None:
    adam = "Keras 3 Adam, tape + apply_gradients, "
    sgd = "SGD, tape + assign_sub(lr * g), "
    records = [
        case("adam_whole", adam + WHOLE, "1Mi", 9e-3, 1, 1, op="Adam step", mode="paramserver"),
        case("adam_fixed_shards", adam + SHARDED, "1Mi", 8e-3, 1, 1, op="Adam step", mode="paramserver"),
        case("adam_local", adam + LOCAL, "1Mi", 3e-3, 1, 1, op="Adam step", mode="function"),
        case("sgd_whole", sgd + WHOLE, "1Mi", 6e-3, 1, 1, op="gradient step", mode="paramserver"),
        case("sgd_local", sgd + LOCAL, "1Mi", 1e-3, 1, 1, op="gradient step", mode="function"),
    ]
    tables = {table.job.key: table for table in answer(records).tables}
    (adam_group,) = tables["remote_adam_step"].groups
    assert {row.label for row in adam_group.rows} == {f"Adam step: {adam}{WHOLE}", f"Adam step: {adam}{SHARDED}"}
    assert adam_group.baseline.label == f"Adam step: {adam}{LOCAL}" and adam_group.baseline.cells["1Mi"].median_s == 3e-3
    (sgd_group,) = tables["remote_gradient_step"].groups
    assert {row.label for row in sgd_group.rows} == {f"gradient step: {sgd}{WHOLE}"}
    assert "## Apply an Adam step to variables on parameter servers (its slots there too) (1 ps, 1 worker)" in markdown(answer(records))

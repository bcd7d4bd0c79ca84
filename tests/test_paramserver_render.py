"""Parameter-server cases as readers see them: named /Nps/Nw, ranked per cluster size against the local update, held to loopback."""
from __future__ import annotations

from typing import Any

from tfvarbench.render.advice import markdown
from tfvarbench.render.findings import bandwidth_table
from tfvarbench.render.recommend import recommend
from tfvarbench.runs import SIZES, case_name, variant_label

WHOLE, SHARDED, LOCAL = "remote, whole variable", "remote, FixedShardsPartitioner(2)", "local: the coordinator's CPU"


def case(name: str, variant: str, size: str, median_s: float, ps: int, workers: int, **extra: Any) -> dict[str, Any]:
    nbytes = 4 * SIZES[size]
    remote = variant.startswith("remote")
    return {
        "family": "paramserver", "case": name, "op": extra.pop("op", "assign_add"), "variant": variant,
        "mode": extra.pop("mode", "paramserver" if remote else "function"), "dtype": "float32", "size": size,
        "device": "CPU:0", "device_label": "CPU:0", "device_kind": "CPU", "host": "vm", "median_s": median_s,
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


def test_each_cluster_size_is_ranked_on_its_own_with_its_own_local_update_as_baseline() -> None:
    cases = cluster_cases(1, 1) + cluster_cases(2, 1)
    device = recommend(cases).devices[0]
    advice = next(job for job in device.jobs if job.job.key == "remote_add")
    assert sorted((r.ps, r.workers, r.size) for r in advice.rankings) == [(1, 1, "1Ki"), (1, 1, "1Mi"), (2, 1, "1Ki"), (2, 1, "1Mi")]
    big = next(r for r in advice.rankings if (r.ps, r.size) == (2, "1Mi"))
    assert [way.variant for way in big.ways] == [SHARDED, WHOLE]
    assert big.common.variant == WHOLE and big.speedup == 8e-3 / 5e-3
    assert big.baseline.variant == LOCAL and big.baseline.median_s == 1e-3  # the 2ps cluster's own, not the 1ps one's 0.5 ms
    words = markdown(recommend(cases))
    assert "(2 ps, 1 workers) the fastest way changes with size: `assign_add: remote, whole variable` at 1Ki, from 1Mi on, `assign_add: remote, FixedShardsPartitioner(2)`" in words


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

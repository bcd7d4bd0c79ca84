"""What to use on this machine, from real saved runs: tables of ways by sizes, ties within noise, devices merged, traps, crossovers."""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tfvarbench.render.answer import answer
from tfvarbench.render.findings import DeviceCrossover
from tfvarbench.render.glance import markdown, short
from tfvarbench.render.tables import labelled_cases
from tfvarbench.render.ties import noise, tied
from tfvarbench.render.units import format_bytes, format_ratio, format_seconds
from tfvarbench.runs import load_run

ROOT = Path(__file__).resolve().parent.parent
# A fixed run (the example run the rendering was written against), so these figure-dependent checks do not move
# when results/examples is regenerated: all the families of that round, three blocks.
QUICK = ROOT / "tests" / "data" / "quick-2cpu-previous.json"
NO_BLOCKS = ROOT / "tests" / "data" / "run-2cpu.json"  # no blocks: noise is the relative IQR


def cases_of(path: Path) -> list[dict[str, Any]]:
    return labelled_cases([load_run(path)])


def find(cases: list[dict[str, Any]], device: str, case: str, size: str, **extra: Any) -> dict[str, Any]:
    return next(c for c in cases if (c["device_label"], c["case"], c["size"]) == (device, case, size)
                and all(c.get(k) == v for k, v in extra.items()))


def table(result, key: str, **extra: Any):
    return next(t for t in result.tables if t.job.key == key and all(getattr(t, k) == v for k, v in extra.items()))


def row(group, case: str):
    return next(r for r in group.rows if any(cell.case == case for cell in r.cells.values()))


def group_of(t, device: str):
    return next(g for g in t.groups if device in g.devices)


def test_noise_is_the_block_spread_when_there_are_blocks_else_the_relative_iqr() -> None:
    blocked = find(cases_of(QUICK), "CPU:0", "assign_no_read", "1Ki")
    spread = blocked["block_medians_s"]
    assert noise(blocked) == pytest.approx((max(spread) - min(spread)) / blocked["median_s"])
    plain = find(cases_of(NO_BLOCKS), "CPU:0", "assign_no_read", "1Ki")
    assert "block_medians_s" not in plain and noise(plain) == plain["rel_iqr"]


def test_the_tie_rule_has_a_five_percent_floor_and_widens_with_noise() -> None:
    assert tied(1.0, 0.0, 1.049, 0.0) and not tied(1.0, 0.0, 1.051, 0.0) and tied(1.051, 0.0, 1.0, 0.0) is False
    assert tied(1.0, 0.3, 1.4, 0.3)  # sqrt(0.3² + 0.3²) = 0.42 > 0.4
    assert not tied(1.0, 0.3, 1.45, 0.3)


def test_a_table_has_a_row_per_way_and_a_cell_per_size_with_its_factor_to_the_fastest() -> None:
    cases = cases_of(QUICK)
    add = table(answer(cases), "add")
    assert add.sizes == ("scalar", "1Ki", "1Mi")
    mine = group_of(add, "CPU:0")
    for size in add.sizes:
        column = [r.cells[size] for r in mine.rows if size in r.cells]
        fastest = min(column, key=lambda c: c.median_s)
        assert [c.fastest for c in column].count(True) == 1 and fastest.fastest
        for cell in column:
            assert cell.median_s == find(cases, "CPU:0", cell.case, size)["median_s"]
            assert cell.factor == pytest.approx(cell.median_s / fastest.median_s)
    assert [r.common for r in mine.rows].count(True) == 1 and row(mine, "assign_add").common


def test_ways_within_noise_are_tied_not_ranked() -> None:
    cases = cases_of(QUICK)
    mine = group_of(table(answer(cases), "add"), "CPU:0")
    no_read, default = find(cases, "CPU:0", "assign_add_no_read", "1Mi"), find(cases, "CPU:0", "assign_add", "1Mi")
    assert abs(default["median_s"] / no_read["median_s"] - 1) <= math.hypot(noise(no_read), noise(default))
    assert row(mine, "assign_add").cells["1Mi"].tied and not row(mine, "assign_add").cells["1Mi"].fastest
    scalar = row(mine, "assign_add").cells["scalar"]  # far apart at the scalar size: a win, with its factor
    expected = find(cases, "CPU:0", "assign_add", "scalar")["median_s"] / find(cases, "CPU:0", "assign_add_no_read", "scalar")["median_s"]
    assert not scalar.tied and scalar.factor == pytest.approx(expected)
    words = markdown(answer(cases))
    assert f"{format_seconds(default['median_s'])} {format_ratio(default['median_s'] / no_read['median_s'])} tie" in words


def test_devices_are_one_column_group_exactly_when_every_figure_ties() -> None:
    cases = cases_of(QUICK)
    result = answer(cases)
    for t in result.tables:
        for group in t.groups:
            for device in group.devices[1:]:  # every member ties with the group's first device everywhere
                for r in group.rows:
                    for size in r.cells:
                        a = find(cases, group.devices[0], r.cells[size].case, size, replicas=None if t.replicas is None else t.replicas,
                                 workers=t.workers)
                        b = find(cases, device, a["case"], size, family=a["family"], replicas=a.get("replicas"), workers=t.workers)
                        assert tied(a["median_s"], noise(a), b["median_s"], noise(b))
    call = table(result, "traced_call")
    assert [g.devices for g in call.groups] == [("CPU:0", "CPU:1")]
    assert "CPU:0, CPU:1: tied (figures of CPU:0)." in markdown(result)
    write = table(result, "write")  # slice assign differs between the two at 1Ki: two column groups
    assert [g.devices for g in write.groups] == [("CPU:0",), ("CPU:1",)]
    a, b = find(cases, "CPU:0", "slice_assign", "1Ki"), find(cases, "CPU:1", "slice_assign", "1Ki")
    assert not tied(a["median_s"], noise(a), b["median_s"], noise(b))


def test_rebind_name_is_a_baseline_never_a_way_to_write() -> None:
    cases = cases_of(QUICK)
    write = table(answer(cases), "write")
    for group in write.groups:
        assert all(r.identity[0] != "rebind name" for r in group.rows)
        for size, cell in group.baseline.cells.items():
            assert cell.median_s == find(cases, group.devices[0], "rebind_name", size)["median_s"]
    assert "| rebind name: v = tf.constant(x) (baseline)" in markdown(answer(cases))


def test_the_python_float_retrace_trap_and_its_cost_from_the_data() -> None:
    cases = cases_of(QUICK)
    floats, tensor = find(cases, "CPU:0", "call_python_scalar", "scalar"), find(cases, "CPU:0", "call_tensor_argument", "scalar")
    trap = next(t for t in answer(cases).traps if t.key == "python_float_retrace" and "CPU:0" in t.devices)
    assert trap.ratio == pytest.approx(floats["median_s"] / tensor["median_s"]) and trap.ratio > 10 and not trap.tied
    assert (trap.trace_count, trap.calls) == (floats["trace_count"], floats["calls"])
    line = next(line for line in markdown(answer(cases)).splitlines() if line.startswith("- `call: Python float argument, new value each call`"))
    assert f"{floats['trace_count']} traces in {floats['calls']} calls" in line and f"scalar {format_ratio(trap.ratio)}" in line


@pytest.mark.parametrize("path", [QUICK, NO_BLOCKS])
def test_host_round_trip_and_read_value_traps(path: Path) -> None:
    cases = cases_of(path)
    traps = answer(cases).traps
    for key, slow_case, fast_case in (("host_round_trip", "host_round_trip", "assign_add"), ("read_value", "assign", "assign_no_read"),
                                      ("read_value", "assign_add", "assign_add_no_read")):
        slow, fast = find(cases, "CPU:1", slow_case, "scalar"), find(cases, "CPU:1", fast_case, "scalar")
        trap = next(t for t in traps if t.key == key and t.size == "scalar" and "CPU:1" in t.devices and t.slow.startswith(slow["op"] + ":"))
        if trap.devices[0] == "CPU:1":  # a merged trap shows its first device's figures
            assert trap.ratio == pytest.approx(slow["median_s"] / fast["median_s"])
        assert trap.tied == tied(fast["median_s"], noise(fast), slow["median_s"], noise(slow)) or trap.devices[0] != "CPU:1"
    assert "`assign: read_value=True` instead of `assign: read_value=False`" in markdown(answer(cases))


def test_a_trap_inside_noise_is_reported_as_tied() -> None:
    cases = cases_of(QUICK)
    trap = next(t for t in answer(cases).traps if t.key == "read_value" and t.slow.startswith("assign_add") and t.size == "1Mi"
                and t.devices == ("CPU:0",))
    assert trap.tied
    assert f"CPU:0: 1Mi tied, {format_ratio(trap.ratio)}" in markdown(answer(cases))


def test_mirrored_updates_are_a_table_per_replica_count() -> None:
    cases = cases_of(QUICK)
    tables = [t for t in answer(cases).tables if t.job.key == "mirrored"]
    assert {(t.replicas, t.workers) for t in tables} == {(1, None), (2, None), (2, 2)}
    two = group_of(table(answer(cases), "mirrored", replicas=2, workers=None), "CPU:0")
    sum2 = find(cases, "CPU:0", "assign_add_sum", "1Mi", replicas=2, family="mirrored")
    assert row(two, "assign_add_sum").common and row(two, "assign_add_sum").cells["1Mi"].median_s == sum2["median_s"]
    assert "## Update a mirrored variable across replicas (2 workers, 2 replicas)" in markdown(answer(cases))


def gpu_run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CPU:1's cases copied as GPU:0: every time t becomes t/3 + 20 µs (slower when tiny, faster when large)."""
    def scaled(t: float) -> float:
        return t / 3 + 20e-6
    gpu = []
    for case in cases:
        if case["device_label"] == "CPU:1":
            copy = {**case, "device": "GPU:0", "device_label": "GPU:0", "device_kind": "GPU", "median_s": scaled(case["median_s"]),
                    "data": [scaled(t) for t in case["data"]]}
            if case.get("block_medians_s"):
                copy["block_medians_s"] = [scaled(t) for t in case["block_medians_s"]]
            gpu.append(copy)
    return cases + gpu


def test_a_device_crossover_inside_the_range_is_listed_with_its_job_and_none_outside_it() -> None:
    cases = gpu_run(cases_of(QUICK))
    inside = DeviceCrossover("update step", "tape + assign_sub(lr * g)", "xla", "float32", "CPU:0", "GPU:0", 18_000.0, "GPU:0")
    throughout = DeviceCrossover("assign", "read_value=False", "eager", "float32", "CPU:0", "GPU:0", None, "CPU:0")
    result = answer(cases, crossovers=[inside, throughout])
    step = table(result, "gradient_step")
    assert [g.devices[0] for g in step.groups][-1] == "GPU:0"  # CPUs first
    assert [(o.faster, o.slower, o.at_bytes) for o in step.overtakes if not o.before] == [("GPU:0", "CPU:0", 18_000.0)]
    assert not table(result, "write").overtakes  # faster throughout is no crossover
    assert f"`update step: tape + assign_sub(lr * g) [xla]`: GPU:0 overtakes CPU:0 (cost model: from {format_bytes(18_000)} on)" in markdown(result)


def test_a_way_that_overtakes_another_between_two_sizes_is_listed() -> None:
    cases = [dict(c) for c in cases_of(QUICK) if c["device_label"] == "CPU:0"]
    # Make the host round trip beat assign_add(read_value=False) at 1Mi only: a crossing between 1Ki and 1Mi.
    fast = find(cases, "CPU:0", "assign_add_no_read", "1Mi")
    trip = find(cases, "CPU:0", "host_round_trip", "1Mi")
    trip.update(median_s=fast["median_s"] / 2, block_medians_s=[fast["median_s"] / 2] * 3)
    found = table(answer(cases), "add").overtakes
    assert ("host round trip: v.assign(v.numpy() + x)", "assign_add: read_value=False", "1Ki", "1Mi") in {
        (o.faster, o.slower, o.before, o.after) for o in found}
    assert not table(answer(cases_of(QUICK)), "write").overtakes


def test_every_number_in_the_words_comes_from_the_data() -> None:
    cases = cases_of(QUICK)
    words = markdown(answer(cases))
    medians = {format_seconds(c["median_s"]) for c in cases}
    times = re.findall(r"(\d+(?:\.\d+)?) (ns|µs|ms|s)\b", words)
    assert times and all(f"{n} {u}" in medians for n, u in times), [f"{n} {u}" for n, u in times if f"{n} {u}" not in medians]
    ratios = {format_ratio(a["median_s"] / b["median_s"]) for a, b in itertools.product(cases, repeat=2)}
    shown = re.findall(r"(\d+(?:\.\d+)?)×", words)
    assert shown and all(f"{r}×" in ratios for r in shown)
    traces = {(str(c.get("trace_count")), str(c.get("calls"))) for c in cases}
    assert all(pair in traces for pair in re.findall(r"(\d+) traces in (\d+) calls", words))
    assert "max(5%," in words


def test_short_says_traps_then_jobs_one_line_each_within_the_limit() -> None:
    cases = cases_of(QUICK)
    result = answer(cases)
    everything = short(result, max_lines=100)
    assert all(line.startswith("trap: ") for line in everything[:5]) and not any(line.startswith("trap: ") for line in everything[5:])
    assert len({line.split(":")[0] for line in everything[5:]}) == len(everything[5:])  # one line per job
    # A job whose fastest way and common idiom are a trap's pair is said once, by the trap.
    assert not any(line.startswith("add to it:") for line in everything)
    floats, tensor = find(cases, "CPU:0", "call_python_scalar", "scalar"), find(cases, "CPU:0", "call_tensor_argument", "scalar")
    assert (f"trap: call: Python float argument, new value each call, up to {format_ratio(floats['median_s'] / tensor['median_s'])} "
            "slower than call: tensor argument (scalar; CPU:0, CPU:1)") in everything
    lines = short(result, max_lines=6)
    assert len(lines) == 6 and lines[:5] == everything[:5] and lines[5] == f"... {len(everything) - 5} more in the report (What to use on this machine)"


def test_a_run_over_thread_counts_has_a_table_and_traps_per_count() -> None:
    # The same cases at 1 and at 2 threads, `assign` (read_value=True) three times slower at 2: never ranked or paired across counts.
    base = [c for c in cases_of(QUICK) if c["family"] == "assignment" and not c.get("replicas")]
    cases = [{**c, "threads": 1} for c in base] + [{**c, "threads": 2, "median_s": c["median_s"] * (3 if c["case"] == "assign" else 1),
                                                     "block_medians_s": None} for c in base]
    result = answer(cases)
    assert {t.threads for t in result.tables if t.job.key == "write"} == {1, 2}
    one, two = (group_of(table(result, "write", threads=n), "CPU:0") for n in (1, 2))
    assert row(two, "assign").cells["1Ki"].median_s == pytest.approx(3 * row(one, "assign").cells["1Ki"].median_s)
    trap = {t.threads: t for t in result.traps if t.key == "read_value" and t.slow.startswith("assign:") and t.size == "1Ki" and "CPU:0" in t.devices}
    slow, fast = find(cases, "CPU:0", "assign", "1Ki", threads=2), find(cases, "CPU:0", "assign_no_read", "1Ki", threads=2)
    assert set(trap) == {1, 2} and trap[2].ratio == pytest.approx(slow["median_s"] / fast["median_s"])
    text = markdown(result)
    assert "## Write new values (1 thread)" in text and "## Write new values (2 threads)" in text and "1Ki at 2 threads" in text

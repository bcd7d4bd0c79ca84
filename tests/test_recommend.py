"""What to use on this machine, from real saved runs: rankings, ties within noise, traps, crossovers, and words that match the data."""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tfvarbench.render.advice import markdown, short
from tfvarbench.render.recommend import Crossover, noise, recommend, tied
from tfvarbench.render.units import format_bytes, format_ratio, format_seconds
from tfvarbench.runs import load_run
from tfvarbench.render.tables import labelled_cases

ROOT = Path(__file__).resolve().parent.parent
QUICK = ROOT / "results" / "examples" / "quick-2cpu.json"  # all families, three blocks
NO_BLOCKS = ROOT / "tests" / "data" / "run-2cpu.json"  # no blocks: noise is the relative IQR


def cases_of(path: Path) -> list[dict[str, Any]]:
    return labelled_cases([load_run(path)])


def find(cases: list[dict[str, Any]], device: str, case: str, size: str, **extra: Any) -> dict[str, Any]:
    return next(c for c in cases if (c["device_label"], c["case"], c["size"]) == (device, case, size)
                and all(c.get(k) == v for k, v in extra.items()))


def job(recs, device: str, key: str):
    return next(j for d in recs.devices if d.device == device for j in d.jobs if j.job.key == key)


def ranking(advice, size: str, **extra: Any):
    return next(r for r in advice.rankings if r.size == size and all(getattr(r, k) == v for k, v in extra.items()))


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


def test_two_logical_cpus_of_the_same_cores_are_tied() -> None:
    cases = cases_of(NO_BLOCKS)
    recs = recommend(cases)
    rank = ranking(job(recs, "CPU:0", "write"), "1Mi")
    best = find(cases, "CPU:0", rank.best.case, "1Mi")
    other = find(cases, "CPU:1", rank.best.case, "1Mi")
    edge = next(e for e in job(recs, "CPU:0", "write").versus if e.size == "1Mi" and e.other == "CPU:1")
    ratio = other["median_s"] / best["median_s"]
    assert edge.ratio == pytest.approx(ratio)
    assert abs(ratio - 1) <= max(0.05, math.hypot(best["rel_iqr"], other["rel_iqr"]))
    assert edge.tied
    words = markdown(recs)
    assert f"1Mi tied ({format_ratio(ratio)}: {format_seconds(other['median_s'])} vs {format_seconds(best['median_s'])})" in words


def test_ways_within_noise_are_tied_not_ranked() -> None:
    cases = cases_of(QUICK)
    rank = ranking(job(recommend(cases), "CPU:0", "add"), "1Mi")
    no_read, default = find(cases, "CPU:0", "assign_add_no_read", "1Mi"), find(cases, "CPU:0", "assign_add", "1Mi")
    assert abs(default["median_s"] / no_read["median_s"] - 1) <= math.hypot(noise(no_read), noise(default))
    assert rank.common.case == "assign_add" and rank.common.tied_with_best and rank.speedup_tied
    assert sorted(w.case for w in rank.tied_best) == ["assign_add", "assign_add_no_read"]
    # At the scalar size the same two are far apart: a win, with its speedup.
    scalar = ranking(job(recommend(cases), "CPU:0", "add"), "scalar")
    expected = find(cases, "CPU:0", "assign_add", "scalar")["median_s"] / find(cases, "CPU:0", "assign_add_no_read", "scalar")["median_s"]
    assert not scalar.speedup_tied and scalar.speedup == pytest.approx(expected)


def test_rebind_name_is_a_baseline_never_a_way_to_write() -> None:
    cases = cases_of(QUICK)
    advice = job(recommend(cases), "CPU:0", "write")
    for rank in advice.rankings:
        assert all(way.op != "rebind name" for way in rank.ways)
        assert rank.baseline.median_s == find(cases, "CPU:0", "rebind_name", rank.size)["median_s"]
    assert f"`rebind name: v = tf.constant(x)` {format_seconds(rank.baseline.median_s)} is the baseline, not a write" in markdown(recommend(cases))


def test_the_python_float_retrace_trap_and_its_cost_from_the_data() -> None:
    cases = cases_of(QUICK)
    floats, tensor = find(cases, "CPU:0", "call_python_scalar", "scalar"), find(cases, "CPU:0", "call_tensor_argument", "scalar")
    device = next(d for d in recommend(cases).devices if d.device == "CPU:0")
    trap = next(t for t in device.traps if t.key == "python_float_retrace")
    assert trap.ratio == pytest.approx(floats["median_s"] / tensor["median_s"]) and trap.ratio > 10 and not trap.tied
    assert (trap.slow.trace_count, trap.slow.calls) == (floats["trace_count"], floats["calls"])
    line = (f"a tf.function called with a new Python float each call retraces ({floats['trace_count']} traces in {floats['calls']} calls): "
            f"{format_ratio(trap.ratio)} slower than a tensor argument ({format_seconds(floats['median_s'])} vs {format_seconds(tensor['median_s'])}, scalar)")
    assert line in markdown(recommend(cases))
    call = ranking(job(recommend(cases), "CPU:0", "traced_call"), "scalar")
    assert call.common.case == "call_python_scalar" and call.speedup == pytest.approx(trap.ratio)


@pytest.mark.parametrize("path", [QUICK, NO_BLOCKS])
def test_host_round_trip_and_read_value_traps(path: Path) -> None:
    cases = cases_of(path)
    device = next(d for d in recommend(cases).devices if d.device == "CPU:1")
    words = markdown(recommend(cases))
    for key, slow_case, fast_case in (("host_round_trip", "host_round_trip", "assign_add"), ("read_value", "assign", "assign_no_read"),
                                      ("read_value", "assign_add", "assign_add_no_read")):
        slow, fast = find(cases, "CPU:1", slow_case, "scalar"), find(cases, "CPU:1", fast_case, "scalar")
        trap = next(t for t in device.traps if t.key == key and t.size == "scalar" and t.slow.case == slow_case)
        ratio = slow["median_s"] / fast["median_s"]
        assert trap.ratio == pytest.approx(ratio) and trap.fast.case == fast_case
        assert trap.tied == tied(fast["median_s"], noise(fast), slow["median_s"], noise(slow))
        assert f"{format_ratio(ratio)} slower than" in words
    assert "`assign(x, read_value=True)` (the default) when the value is not used" in words


def test_a_trap_inside_noise_is_reported_as_tied() -> None:
    cases = cases_of(QUICK)
    device = next(d for d in recommend(cases).devices if d.device == "CPU:0")
    trap = next(t for t in device.traps if t.key == "read_value" and t.slow.case == "assign_add" and t.size == "1Mi")
    assert trap.tied
    expected = f"tied within noise here ({format_ratio(trap.ratio)}, {format_seconds(trap.slow.median_s)} vs {format_seconds(trap.fast.median_s)}, 1Mi)"
    assert expected in markdown(recommend(cases))


def test_mirrored_updates_are_ranked_per_replica_count() -> None:
    cases = cases_of(QUICK)
    advice = job(recommend(cases), "CPU:0", "mirrored")
    assert {(r.replicas, r.workers) for r in advice.rankings} == {(1, None), (2, None), (2, 2)}
    two = ranking(advice, "1Mi", replicas=2, workers=None)
    sum2 = find(cases, "CPU:0", "assign_add_sum", "1Mi", replicas=2, family="mirrored")
    assert two.common.case == "assign_add_sum" and two.common.median_s == sum2["median_s"]
    assert all(w.family == "mirrored" for w in two.ways)


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


def test_a_device_crossover_is_reported_from_the_crossover_input() -> None:
    cases = gpu_run(cases_of(QUICK))
    crossover = Crossover("update step", "tape + assign_sub(lr * g)", "xla", "float32", "CPU:0", "GPU:0", 18_000.0, "GPU:0")
    recs = recommend(cases, [crossover])
    assert [d.device for d in recs.devices] == ["CPU:0", "CPU:1", "GPU:0"]
    step = job(recs, "CPU:0", "gradient_step")
    assert step.crossovers == (crossover,)
    assert job(recs, "CPU:1", "gradient_step").crossovers == ()  # not one of its devices
    big = next(e for e in step.versus if e.other == "GPU:0" and e.size == "1Mi")
    cpu = find(cases, "CPU:0", "step_xla", "1Mi")
    gpu = find(cases, "GPU:0", "step_xla", "1Mi")
    assert big.ratio == pytest.approx(gpu["median_s"] / cpu["median_s"]) and big.ratio < 1 and not big.tied
    words = markdown(recs)
    assert f"GPU:0 is faster from {format_bytes(18_000)} on (cost model)" in words
    assert f"1Mi faster ({format_ratio(big.ratio)}: {format_seconds(gpu['median_s'])} vs {format_seconds(cpu['median_s'])})" in words
    # The tiny write: 36 µs on the CPU becomes 12 + 20 µs on the "GPU", within the cases' noise or not, as the rule says.
    small = next(e for e in job(recs, "CPU:0", "write").versus if e.other == "GPU:0" and e.size == "scalar")
    a, b = find(cases, "CPU:0", "assign_no_read", "scalar"), find(cases, "GPU:0", "assign_no_read", "scalar")
    assert small.tied == tied(a["median_s"], noise(a), b["median_s"], noise(b))
    tied_everywhere = Crossover("assign", "read_value=False", "eager", "float32", "CPU:0", "GPU:0", None, None)
    assert "GPU:0 and CPU:0 tied within noise throughout (cost model)" in markdown(recommend(cases, [tied_everywhere]))


def test_every_number_in_the_words_comes_from_the_data() -> None:
    cases = cases_of(QUICK)
    crossover = Crossover("assign_add", "read_value=True", "eager", "float32", "CPU:0", "CPU:1", 65_536.0, "CPU:1")
    words = markdown(recommend(cases, [crossover]))
    medians = {format_seconds(c["median_s"]) for c in cases}
    times = re.findall(r"(\d+(?:\.\d+)?) (ns|µs|ms|s)\b", words)
    assert times and all(f"{n} {u}" in medians for n, u in times), [f"{n} {u}" for n, u in times if f"{n} {u}" not in medians]
    ratios = {format_ratio(a["median_s"] / b["median_s"]) for a, b in itertools.product(cases, repeat=2)}
    shown = re.findall(r"(\d+(?:\.\d+)?)×", words)
    assert shown and all(f"{r}×" in ratios for r in shown)
    traces = {(str(c.get("trace_count")), str(c.get("calls"))) for c in cases}
    assert all(pair in traces for pair in re.findall(r"(\d+) traces in (\d+) calls", words))
    assert f"from {format_bytes(65_536)} on" in words and "max(5%," in words


def test_short_gives_a_few_lines_per_device_within_the_limit() -> None:
    cases = cases_of(QUICK)
    recs = recommend(cases)
    lines = short(recs, max_lines=12)
    assert len(lines) <= 12
    assert sum(line.startswith("CPU:0") for line in lines) == 6 and sum(line.startswith("CPU:1") for line in lines) == 6
    everything = sum(line.startswith("CPU:0") for line in short(recs, max_lines=1000))
    assert lines[:5] == short(recs, max_lines=1000)[:5]  # the share keeps the device's first lines
    assert lines[5] == f"CPU:0: {everything - 5} more lines in the report (What to use on this machine)"
    floats, tensor = find(cases, "CPU:0", "call_python_scalar", "scalar"), find(cases, "CPU:0", "call_tensor_argument", "scalar")
    full = short(recs, max_lines=40)
    assert (f"CPU:0 trap (scalar): call: Python float argument, new value each call is "
            f"{format_ratio(floats['median_s'] / tensor['median_s'])} slower than call: tensor argument") in full
    assert not any("more lines" in line for line in full)

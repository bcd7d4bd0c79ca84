"""Where a run's time went: the phases a case counts, what a saved run keeps of them, and the report's table."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfvarbench.measure.phases import PHASES, Phases, shares
from tfvarbench.render.spent import block_rows, phase_rows, sections
from tfvarbench.runs import RunError, load_run, pool



def test_phases_add_up_every_span_spent_in_them_even_one_that_raised(clock) -> None:
    phases = Phases(clock)
    with phases.phase("build"):
        clock.now += 2.0
    with pytest.raises(RuntimeError), phases.phase("first_call"):
        clock.now += 0.5
        raise RuntimeError("no kernel")
    with phases.phase("build"):
        clock.now += 1.0
    phases.add("timing", 4.25)
    assert phases.rounded() == {"build": 3.0, "first_call": 0.5, "calibrate": 0.0, "timing": 4.25, "verify": 0.0, "memory": 0.0}
    with pytest.raises(ValueError, match="unknown phase 'saving'"), phases.phase("saving"):
        pass


def test_the_passes_are_shared_by_what_each_case_timed() -> None:
    assert shares(10.0, [1.0, 3.0]) == [2.5, 7.5]
    assert shares(3.0, [0.0, 0.0, 0.0]) == [1.0, 1.0, 1.0]
    assert shares(1.0, []) == []


def _with_time(run: dict, blocks: int = 2) -> dict:
    """The saved run's cases with phases counted (block b: b seconds of timing), and its blocks' spans."""
    for bench in run["benchmarks"]:
        block = bench["extra_info"].get("block", 1)
        bench["extra_info"]["phase_s"] = dict.fromkeys(PHASES, 0.0) | {"build": 0.5, "timing": float(block)}
    spans = [{"block": b, "wall_s": 30.0, "startup_s": 5.0, "tests_s": 20.0, "workers_s": 0.0, "save_s": 1.0, "exit_s": 4.0} for b in range(1, blocks + 1)]
    run["machine_info"]["tfvarbench"]["time_spent"] = {"blocks": spans}
    return run


def test_a_run_that_counted_its_time_gets_a_table_per_family_and_size_and_per_block(saved_run: Path, deal_blocks, tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_with_time(deal_blocks(json.loads(saved_run.read_text()), 2))))
    run = load_run(path)
    assert all(case["phase_s"]["timing"] == 3.0 and case["phase_s"]["build"] == 1.0 for case in run.cases)  # blocks 1 + 2
    rows = phase_rows(run.cases)
    total = rows[-1]
    assert total[:3] == ("all", "", str(len(run.cases)))
    assert total[-2:] == (f"{len(run.cases) * 4.0:.0f} s" if len(run.cases) * 4 >= 10 else f"{len(run.cases) * 4.0:.1f} s", "75%")
    families = ("assignment", "function", "gradient", "reference")
    assert [row[:2] for row in rows[:-1]] == [(family, size) for family in families for size in ("scalar", "1Ki", "1Mi")]
    assert block_rows(run) == [("1", "30 s", "5.0 s", "20 s", "0 s", "1.0 s", "4.0 s"), ("2", "30 s", "5.0 s", "20 s", "0 s", "1.0 s", "4.0 s")]
    found = sections([run])
    assert [s.title for s in found] == [f"Where the time went: {run.run_id}", "Per family and size", "Per block"]
    assert found[0].text == f"2 blocks took 60 s in all, of which timing the cases took {len(run.cases) * 3.0:.0f} s ({len(run.cases) * 3 / 60:.0%})."


def test_a_run_saved_before_time_was_counted_loads_and_gets_no_section(saved_run: Path) -> None:
    run = load_run(saved_run)
    assert not any("phase_s" in case for case in run.cases)
    assert sections([run]) == []


def test_negative_seconds_are_damage(saved_run: Path, tmp_path: Path) -> None:
    data = _with_time(json.loads(saved_run.read_text()), 1)
    data["machine_info"]["tfvarbench"]["time_spent"]["blocks"][0]["save_s"] = -1.0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RunError, match="save_s"):
        load_run(path)


def test_pooling_sums_what_the_repeats_spent() -> None:
    case = {"family": "f", "median_s": 1.0, "data": [1.0, 1.0], "first_call_s": None}
    pooled = pool([{**case, "phase_s": {"timing": 1.0, "build": 0.25}}, {**case, "phase_s": {"timing": 2.0, "build": 0.5}}, case])
    assert pooled["phase_s"] == {"timing": 3.0, "build": 0.75}

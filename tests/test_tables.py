"""Tables rendered from a saved run (plain JSON), and loading errors named per file."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tfvarbench.runs import RunError, load_run, load_runs, write_folder
from tfvarbench.render.document import markdown
from tfvarbench.render.tables import comparison_table, device_table, results_csv
from tfvarbench.runs import labelled_cases
from tfvarbench.render.units import column_unit, format_in, format_ratio, format_seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.07e-6, "4.07 µs"), (1.772e-4, "177 µs"), (0.00123, "1.23 ms"), (2.5, "2.50 s"), (8e-10, "0.800 ns"), (None, "–")],
)
def test_format_seconds_picks_a_readable_unit(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def test_load_run_flattens_cases_with_their_statistics(saved_run: Path) -> None:
    run = load_run(saved_run)
    raw_count = len(json.loads(saved_run.read_text())["benchmarks"])
    assert run.run_id == "run-2cpu" and len(run.cases) == raw_count
    case = next(c for c in run.cases if (c["case"], c["size"], c["device"]) == ("assign_add", "1Mi", "CPU:0"))
    raw = next(b for b in json.loads(saved_run.read_text())["benchmarks"] if b["extra_info"] == {k: case[k] for k in b["extra_info"]})
    assert case["median_s"] == raw["stats"]["median"]
    assert case["rel_iqr"] == pytest.approx(raw["stats"]["iqr"] / raw["stats"]["median"])
    assert case["data"] == raw["stats"]["data"]


def test_device_table_has_a_row_per_variant_and_a_column_per_size(saved_run: Path) -> None:
    cases = labelled_cases([load_run(saved_run)])
    table = markdown(device_table(cases, "CPU:1"))
    section = table.split("## assignment, float32")[1].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == ["op", "variant", "mode", "scalar", "1Ki", "1Mi"]
    one = next(c for c in cases if (c["device"], c["case"], c["size"]) == ("CPU:1", "assign_add", "1Mi"))
    assert f"{format_seconds(one['median_s'])} ±{100 * one['rel_iqr']:.1f}%" in next(l for l in lines if "assign_add" in l)
    assert len(lines) == 2 + 9  # header, rule, nine assignment variants
    assert "## assignment, float32" in table


def test_comparison_gives_each_device_and_its_ratio_to_the_first_cpu(saved_run: Path) -> None:
    cases = labelled_cases([load_run(saved_run)])
    table = markdown(comparison_table(cases))
    assert "CPU:1 / CPU:0" in table
    c0 = next(c for c in cases if (c["device"], c["case"], c["size"]) == ("CPU:0", "rebind_name", "scalar"))
    c1 = next(c for c in cases if (c["device"], c["case"], c["size"]) == ("CPU:1", "rebind_name", "scalar"))
    row = next(line for line in table.splitlines() if "rebind name" in line and "| scalar" in line)
    assert f"{format_ratio(c1['median_s'] / c0['median_s'])}" in row


def test_csv_has_one_row_per_case_and_device(saved_run: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(results_csv(labelled_cases([load_run(saved_run)])))))
    assert len(rows) == len(json.loads(saved_run.read_text())["benchmarks"])
    assert {row["device_label"] for row in rows} == {"CPU:0", "CPU:1"}
    assert all(float(row["median_s"]) > 0 for row in rows)


def test_a_failed_write_leaves_the_previous_directory_untouched(tmp_path: Path) -> None:
    target = tmp_path / "report"
    write_folder(target, {"comparison.md": "earlier"}, kind="report")
    (target / "kept.md").write_text("saved by the user")
    with pytest.raises(TypeError):  # the second file cannot be written: the first was already staged
        write_folder(target, {"comparison.md": "new", "half.md": 0}, kind="report")  # type: ignore[dict-item]
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    assert sorted(p.name for p in target.iterdir()) == [".tfvarbench-report", "comparison.md", "kept.md"]
    assert (target / "kept.md").read_text() == "saved by the user" and (target / "comparison.md").read_text() == "earlier"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ('{"hello": 1}', "not a saved pytest-benchmark run"),
        ('{"machine_info": {}, "benchmarks": []}', "no measured tfvarbench cases"),
    ],
)
def test_bad_runs_are_named_with_their_problem(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RunError) as error:
        load_run(path)
    assert str(error.value).startswith(f"{path}: ") and problem in str(error.value)
    assert "\n" not in str(error.value)


def test_load_runs_expands_directories_and_skips_reports(saved_run: Path, tmp_path: Path) -> None:
    (tmp_path / "reports" / "x").mkdir(parents=True)
    (tmp_path / "reports" / "x" / "junk.json").write_text("{}")
    (tmp_path / "a.json").write_text(saved_run.read_text())
    assert [run.run_id for run in load_runs([tmp_path])] == ["a"]


def test_the_device_table_says_how_much_of_the_cheapest_case_the_timing_loop_is() -> None:
    from tfvarbench.render.tables import harness_note

    cases = [
        {"op": "assign", "variant": "read_value=False", "size": "scalar", "mode": "eager", "median_s": 20e-6, "harness_s": 50e-9},
        {"op": "assign_add", "variant": "", "size": "1Mi", "mode": "eager", "median_s": 200e-6, "harness_s": 60e-9},
        {"op": "host copy", "variant": "", "size": "1Ki", "mode": "reference", "median_s": 1e-6, "harness_s": 60e-9},
    ]
    assert harness_note(cases) == (
        "The timing loop itself (an empty body, timed the same way) costs 60.0 ns a call: "
        "0.3% of the cheapest case here (assign, read_value=False, scalar: 20.0 µs)."
    )
    assert harness_note([{**case, "harness_s": None} for case in cases]) == ""  # runs saved before it was recorded


def _column(table: str, header: str) -> list[str]:
    """The cells of one column of the first Markdown table in `table`."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    names = [cell.strip() for cell in lines[0].split("|")[1:-1]]
    return [line.split("|")[1:-1][names.index(header)].strip() for line in lines[2:]]


def test_every_time_column_has_one_unit_and_rounds_at_unit_boundaries(example_run: Path) -> None:
    cases = labelled_cases([load_run(example_run)])
    comparison = markdown(comparison_table(cases))
    for device in ("CPU:0", "CPU:1"):
        cells = _column(comparison, f"{device} median")
        units = {cell.split(" ")[1] for cell in cells if cell != "–"}
        assert len(units) == 1, units
        medians = [c["median_s"] for c in cases if c["device_label"] == device]
        assert units == {column_unit(medians)[0]} and format_in(max(medians), column_unit(medians)[0]) in cells
    gradient = markdown(device_table(cases, "CPU:0")).split("## gradient, float32")[1].split("\n## ")[0]
    for size in ("scalar", "1Ki", "1Mi"):
        assert len({cell.split(" ")[1] for cell in _column(gradient, size) if cell != "–"}) == 1
    # 0.9996 ms in a column of milliseconds prints 1.00 ms, never 1000 µs or 0.9996 ms
    assert format_in(0.9996e-3, column_unit([0.9996e-3, 2e-3])[0]) == "1.00 ms"


def test_a_figure_whose_spread_makes_it_unreliable_is_marked_and_the_rule_stated(saved_run: Path) -> None:
    """Rounds within 1% of their median: a reliable figure; rounds scattered over a factor of two: marked ?."""
    from tfvarbench.analysis.reliable import UNRELIABLE, reach
    from tfvarbench.render.tables import UNRELIABLE_WORDS

    cases = [c for c in labelled_cases([load_run(saved_run)]) if c["device"] == "CPU:0" and c["case"] == "assign_add"]
    steady, noisy = cases[0], cases[1]
    steady.update(median_s=1e-4, data=[1e-4 * (1 + k / 1000) for k in range(-10, 11)])
    noisy.update(median_s=1e-4, data=[1e-4 * 2 ** (k / 10) for k in range(-10, 11)])
    assert reach(steady) < 0.02 and reach(noisy) > UNRELIABLE
    sections = device_table(cases, "CPU:0")
    cells = {(row[3:], mark[3:]) for section in sections[1:] for row, mark in zip(section.rows, section.marks)}
    marked = [(cell, mark) for cells_, marks in cells for cell, mark in zip(cells_, marks) if cell != "–"]
    assert ("unreliable" in dict(marked).values()) and any(mark == "" for _, mark in marked)
    assert all(cell.endswith(" ?") == (mark == "unreliable") for cell, mark in marked)
    assert f"{100 * UNRELIABLE:.0f}%" in UNRELIABLE_WORDS and UNRELIABLE_WORDS in sections[0].text

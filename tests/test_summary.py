"""The report answers "what should I use here?": the summary comes first, ties are ties, plots keep a sensible range."""
from __future__ import annotations

from pathlib import Path

import pytest

from tfvarbench.plugin.summary import SUMMARY_LINES, closing_lines
from tfvarbench.render import glance
from tfvarbench.render.findings import fastest_table
from tfvarbench.render.plots import MIN_SPAN, spread, y_range
from tfvarbench.analysis.crossovers import crossovers_of
from tfvarbench.analysis.ties import Judge
from tfvarbench.analysis.model import fits_of
from tfvarbench.render.report import build_report
from tfvarbench.runs import labelled_cases, load_run, variant_label


@pytest.fixture(scope="module")
def report():
    """The README's run as a report, without plots (they are checked in tests/test_page.py)."""
    return build_report([load_run(Path(__file__).resolve().parent / "data" / "quick-2cpu-previous.json")], plots=False)


def test_the_summary_is_the_first_page_and_its_own_file(report) -> None:
    assert list(report.pages)[0] == "summary.md"
    assert report.files["summary.md"] == glance.markdown(report.answer)
    assert report.files["summary.md"].startswith("# What to use on this machine\n")
    page = report.files["index.html"]
    assert page.index('<section id="summary">') < page.index('<section id="CPU_0">') < page.index('<section id="comparison">')
    assert page.index('<section id="cost-model">') < page.index('<section id="bandwidth">') < page.index('<section id="plots">')


def test_two_logical_cpus_of_one_machine_never_cross_and_a_crossover_needs_both_directions(report) -> None:
    cases = labelled_cases([load_run(Path(__file__).resolve().parent / "data" / "quick-2cpu-previous.json")])
    found = crossovers_of(fits_of(cases), cases)
    keys = [(x.op, x.variant, x.mode, x.dtype, x.first, x.second) for x in found]
    assert len(keys) == len(set(keys)) and found  # a way two families measure is said once
    # Two logical CPUs of the same cores never cross; where one is faster throughout, the way brings a host value to the
    # device (CPU:0 is the host: a constant made for CPU:1 is copied there, 2.3 times the cost of `tf.constant` here).
    assert all(x.at_bytes is None for x in found)
    assert all(x.faster in (None, "CPU:0") and x.op in ("rebind name", "host round trip", "slice assign") for x in found if x.faster), found
    assert not [o for t in report.answer.tables for o in t.overtakes if not o.before]
    # The same run with CPU:1 twice as slow at 1Mi: CPU:0 faster there, tied below, so faster throughout, never crossing.
    slowed = [{**c, "block_medians_s": [m * 2 for m in c["block_medians_s"]], "median_s": c["median_s"] * 2}
              if c["device_label"] == "CPU:1" and c["size"] == "1Mi" else c for c in cases]
    x = next(x for x in crossovers_of(fits_of(slowed), slowed) if (x.op, x.variant, x.mode) == ("assign_add", "read_value=False", "eager"))
    assert (x.faster, x.at_bytes) == ("CPU:0", None)


def test_a_fastest_device_is_named_only_beyond_noise_and_five_percent(report) -> None:
    cases = labelled_cases([load_run(Path(__file__).resolve().parent / "data" / "quick-2cpu-previous.json")])
    rows = fastest_table(cases)[0].rows
    judge, ties = Judge(cases), 0
    for row in rows:
        fastest, margin = row[6], row[8]
        pair = [c for c in cases if (c["family"], c["op"], variant_label(c), c.get("mode", ""), c["dtype"], c["size"]) == row[:6]]
        if len(pair) != 2:
            continue
        a, b = sorted(pair, key=lambda c: c["median_s"])
        assert fastest.startswith("tie: ") == judge.tied(a, b), row
        assert margin.startswith("within noise") == fastest.startswith("tie: ")
        if not fastest.startswith("tie: "):  # a win is never a one-percent luck of two processes
            assert float(margin.split("×")[0]) > 1.05, row
        ties += fastest.startswith("tie: ")
    assert ties > 40


def test_the_end_of_a_run_prints_at_most_twelve_lines_then_where_the_report_is(report, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "run"
    room = SUMMARY_LINES - 2  # the separator and the no-GPU note
    lines = closing_lines(report, tmp_path / "run.json", out, room)
    said = glance.short(report.answer, 100)
    assert len(lines) == min(room, len(said) + 2) and SUMMARY_LINES == 12
    assert lines[:-2] == glance.short(report.answer, room - 2)
    assert lines[-2] == f"saved run: {tmp_path / 'run.json'}" and lines[-1].startswith(f"report: {out / 'index.html'} (summary.md and ")
    traps = sum(line.startswith("trap: ") for line in said)
    assert traps and all(line.startswith("trap: ") for line in lines[:traps]) and not lines[traps].startswith("trap: ")
    assert len(closing_lines(report, tmp_path / "run.json", out, 6)) == 6  # a smaller room: fewer lines, the last says how many more
    assert closing_lines(report, tmp_path / "run.json", out, 6)[3].startswith("... ")
    assert not any(line.startswith("|") for line in lines)  # no table


@pytest.mark.parametrize(("low", "high"), [(36.1e-6, 37.3e-6), (20e-6, 210e-6), (3e-6, 13e-3), (5e-6, 5e-6)])
def test_a_panel_spans_at_least_a_decade_around_its_data(low: float, high: float) -> None:
    bottom, top = y_range(low, high)
    assert bottom < low and top > high
    assert top / bottom >= MIN_SPAN * 0.999
    assert bottom * top == pytest.approx(low * high)  # centred on the data
    if high / low > MIN_SPAN:
        assert top / bottom == pytest.approx(high / low * 1.25**2)  # a wide panel only gets its margin


def test_whiskers_reach_the_lowest_and_highest_block_median() -> None:
    case = {"median_s": 10e-6, "block_medians_s": [9e-6, 10e-6, 12.5e-6]}
    assert spread(case) == pytest.approx((1e-6, 2.5e-6))
    assert spread({"median_s": 10e-6}) == (0.0, 0.0)

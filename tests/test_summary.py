"""The report answers "what should I use here?": the summary comes first, ties are ties, plots keep a sensible range."""
from __future__ import annotations

from pathlib import Path

import pytest

from tfvarbench.plugin.summary import SUMMARY_LINES, closing_lines
from tfvarbench.render import glance
from tfvarbench.render.findings import fastest_table
from tfvarbench.render.plots import MIN_SPAN, spread, y_range
from tfvarbench.render.ties import noise, tied
from tfvarbench.render.report import build_report, crossovers_of, fits_of
from tfvarbench.render.tables import labelled_cases
from tfvarbench.runs import load_run, variant_label


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


def test_crossovers_come_from_the_fits_and_noise_makes_a_tie(report) -> None:
    cases = labelled_cases([load_run(Path(__file__).resolve().parent / "data" / "quick-2cpu-previous.json")])
    found = crossovers_of(fits_of(cases), cases)
    keys = [(x.op, x.variant, x.mode, x.dtype, x.first, x.second) for x in found]
    assert len(keys) == len(set(keys))  # a way two families measure is said once
    by_way = {(x.op, x.variant): x for x in found}
    # Two logical CPUs of the same cores: assign is within noise at every size, so no device "wins".
    assert by_way[("assign", "read_value=False")].faster is None
    for x in found:
        if x.faster is not None:  # a winner is never within noise at every common size
            pairs = [(a, b) for a in cases for b in cases if a["device_label"] == x.first and b["device_label"] == x.second
                     and (a["op"], a["variant"], a["mode"], a["dtype"], a["size"], a["family"]) == (x.op, x.variant, x.mode, x.dtype, b["size"], b["family"])]
            assert not all(tied(a["median_s"], noise(a), b["median_s"], noise(b)) for a, b in pairs)
    listed = {(o.where, o.faster, o.at_bytes) for t in report.answer.tables for o in t.overtakes if not o.before}
    assert listed <= {(f"{x.op}: {x.variant}" + (f" [{x.mode}]" if x.op == "update step" else ""), x.faster, x.at_bytes) for x in found}
    assert listed  # CPU:1 overtakes CPU:0 inside the range for some way in this run


def test_a_fastest_device_within_noise_is_a_tie_never_a_one_percent_win(report) -> None:
    cases = labelled_cases([load_run(Path(__file__).resolve().parent / "data" / "quick-2cpu-previous.json")])
    rows = fastest_table(cases)[0].rows
    assert not any(row[-1].startswith("1.00×") for row in rows)
    for row in rows:
        fastest, margin = row[6], row[8]
        pair = [c for c in cases if (c["family"], c["op"], variant_label(c), c.get("mode", ""), c["dtype"], c["size"]) == row[:6]]
        if len(pair) != 2:
            continue
        a, b = sorted(pair, key=lambda c: c["median_s"])
        assert fastest.startswith("tie: ") == tied(a["median_s"], noise(a), b["median_s"], noise(b)), row
        assert margin.startswith("within noise") == fastest.startswith("tie: ")
    assert any(row[6].startswith("tie: ") for row in rows) and any(not row[6].startswith("tie: ") for row in rows)


def test_the_end_of_a_run_prints_at_most_twelve_lines_then_where_the_report_is(report, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "run"
    room = SUMMARY_LINES - 2  # the separator and the no-GPU note
    lines = closing_lines(report, tmp_path / "run.json", out, room)
    assert len(lines) == room and SUMMARY_LINES == 12
    assert lines[:-2] == glance.short(report.answer, room - 2)
    assert lines[-2] == f"saved run: {tmp_path / 'run.json'}" and lines[-1].startswith(f"report: {out / 'index.html'} (summary.md and ")
    assert all(line.startswith("trap: ") for line in lines[:5]) and not lines[5].startswith("trap: ")
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

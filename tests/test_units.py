"""Units for durations, ratios and bytes: rounding before the unit is chosen, one unit per column."""
from __future__ import annotations

from pathlib import Path

import pytest

from tfvarbench.render.units import column_unit, format_bytes, format_in, format_ratio, format_seconds, significant
from tfvarbench.runs import load_run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.9996e-3, "1.00 ms"),  # rounds up into the next unit
        (999.96e-6, "1.00 ms"),  # the old formatter printed "1000 µs"
        (0.99996, "1.00 s"),
        (999.6e-9, "1.00 µs"),
        (999.4e-6, "999 µs"),
        (4.07e-6, "4.07 µs"),
        (1.772e-4, "177 µs"),
        (0.00123, "1.23 ms"),
        (2.5, "2.50 s"),  # three significant figures, trailing zeros kept
        (8e-10, "0.800 ns"),
        (None, "–"),
    ],
)
def test_format_seconds_rounds_before_choosing_the_unit(seconds: float | None, text: str) -> None:
    assert format_seconds(seconds) == text


def test_a_value_just_under_a_unit_boundary_rounds_up_into_the_next_unit() -> None:
    assert format_seconds(999.96e-6) == "1.00 ms"  # the old formatter printed "1000 µs"
    assert format_seconds(0.9996e-3) == "1.00 ms"


@pytest.mark.parametrize(("value", "text"), [(1.0, "1.00"), (23.14, "23.1"), (218.4, "218"), (2437.2, "2437"), (0.0231, "0.0231"), (0.0, "0")])
def test_significant_keeps_three_figures_without_exponents(value: float, text: str) -> None:
    assert significant(value) == text


def test_a_column_takes_the_unit_of_its_smallest_value() -> None:
    column = [3.95e-6, 2.44e-3, None, 218e-6]
    assert column_unit(column) == ("µs", 1e-6)
    assert [format_in(value, "µs") for value in column] == ["3.95 µs", "2440 µs", "–", "218 µs"]
    assert column_unit([1.2e-3, 0.9996e-3]) == ("ms", 1e-3)  # 0.9996 ms rounds to 1.00 ms: still ms
    assert column_unit([None]) == ("s", 1.0)


def test_a_real_column_has_one_unit() -> None:
    cases = [c for c in load_run(ROOT / "results/examples/quick-2cpu.json").cases if c["device"] == "CPU:0" and c["family"] == "function"]
    unit, _ = column_unit(c["median_s"] for c in cases)
    cells = [format_in(c["median_s"], unit) for c in cases]
    assert unit == "µs" and all(cell.endswith(" µs") for cell in cells)
    smallest = min(cases, key=lambda c: c["median_s"])
    assert format_in(smallest["median_s"], unit) == format_seconds(smallest["median_s"])


@pytest.mark.parametrize(("ratio", "text"), [(26.46, "26.5×"), (1.5714, "1.57×"), (0.42, "0.420×"), (None, "–")])
def test_format_ratio(ratio: float | None, text: str) -> None:
    assert format_ratio(ratio) == text


@pytest.mark.parametrize(("count", "text"), [(100, "100 B"), (1023.9, "1.00 KiB"), (16384, "16.0 KiB"), (4 << 20, "4.00 MiB"), (None, "–")])
def test_format_bytes(count: float | None, text: str) -> None:
    assert format_bytes(count) == text

"""Durations, ratios and byte counts as people read them: one unit per column, rounded before the unit is chosen.

Fixes two faults of `tables.format_seconds`: it chose the unit before rounding, so 0.9996 ms
printed as "1000 µs" instead of "1.00 ms", and it chose a unit per cell, so one column could mix
µs and ms. Here a value is rounded to three significant figures first and the unit follows the
rounded value, and `column_unit` picks one unit for a whole column.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = [
    "UNITS",
    "column_unit",
    "format_bytes",
    "format_in",
    "format_ratio",
    "format_seconds",
    "significant",
    "unit_for",
]

# Largest first: a value takes the largest unit in which it is at least 1 (after rounding).
UNITS: tuple[tuple[str, float], ...] = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))
_SCALE = dict(UNITS)
_DIGITS = 3
MISSING = "–"


def _round(value: float, digits: int = _DIGITS) -> float:
    """`value` rounded to `digits` significant figures (0 stays 0)."""
    return float(f"{value:.{digits - 1}e}") if value else 0.0


def significant(value: float, digits: int = _DIGITS) -> str:
    """`value` with `digits` significant figures, trailing zeros kept (1.00, 23.1, 218); no exponent.

    Values of 10**digits and more print whole (2440, not 2.44e+03): in a column with one unit a
    large value keeps its magnitude visible by its length, and loses no precision.
    """
    rounded = _round(value, digits)
    if rounded == 0:
        return "0"
    exponent = math.floor(math.log10(abs(rounded)))
    decimals = max(0, digits - 1 - exponent)
    return f"{value:.{decimals}f}" if decimals == 0 else f"{rounded:.{decimals}f}"


def unit_for(seconds: float) -> tuple[str, float]:
    """The unit of one value: the largest in which it is at least 1 once rounded to 3 figures."""
    rounded = _round(abs(seconds))
    for unit, scale in UNITS:
        if rounded >= scale * (1 - 1e-12):
            return unit, scale
    return UNITS[-1]


def format_in(seconds: float | None, unit: str) -> str:
    """`seconds` in the given unit ("s", "ms", "µs", "ns"), three significant figures where sensible."""
    if seconds is None:
        return MISSING
    return f"{significant(seconds / _SCALE[unit])} {unit}"


def format_seconds(seconds: float | None) -> str:
    """One duration in its own unit: 812 ns, 23.1 µs, 1.00 ms (from 0.9996 ms), 2.50 s."""
    if seconds is None:
        return MISSING
    return format_in(seconds, unit_for(seconds)[0])


def column_unit(values: Iterable[float | None]) -> tuple[str, float]:
    """One unit for a table column: the unit of its smallest value.

    The smallest, not the median: in the smallest value's unit every cell is at least 1 and keeps
    three significant figures; larger cells just grow digits (2440 µs beside 23.1 µs), which shows
    their magnitude at a glance. Chosen from the median, the small cells would print as 0.0231 ms,
    which reads worse and hides the figures that matter. A column with no values gets seconds.
    """
    present = [abs(value) for value in values if value]
    if not present:
        return UNITS[0]
    return unit_for(min(present))


def format_ratio(ratio: float | None) -> str:
    """A ratio of two times, three significant figures: 1.57×, 26.5×, 0.420×."""
    return MISSING if ratio is None else f"{significant(ratio)}×"


def format_bytes(count: float | None) -> str:
    """A byte count in binary units, three significant figures: 512 B, 16.0 KiB, 4.00 MiB."""
    if count is None:
        return MISSING
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if _round(count / scale) >= 1:
            return f"{significant(count / scale)} {unit}"
    return f"{count:.0f} B"

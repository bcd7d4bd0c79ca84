"""Numbers as people read them: durations with a unit chosen at a glance, byte counts in KiB and MiB."""
from __future__ import annotations

__all__ = ["format_seconds", "size_text"]


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit a person reads at a glance: 812 ns, 12.3 µs, 4.56 ms, 1.20 s."""
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def size_text(nbytes: float) -> str:
    """A byte count as people read it: 4 KiB, 1.5 MiB, 100 B."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.3g} {unit}"
    return f"{nbytes:.0f} B"

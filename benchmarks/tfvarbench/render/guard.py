"""The run's figure check in words: how the reference op read among the cases against a plain loop of it (analysis/guard.py)."""
from __future__ import annotations

from collections.abc import Sequence

from ..analysis.guard import LIMIT, GuardCheck
from .units import format_ratio

__all__ = ["guard_lines", "guard_sentence"]


def _guard_figure(found: GuardCheck) -> str:
    interval = f" ({format_ratio(found.low)[:-1]}-{format_ratio(found.high)})" if found.low is not None and found.high is not None else ""
    return f"{found.device} {format_ratio(found.ratio)}{interval}" if found.ratio is not None else f"{found.device}: none timed"


def guard_sentence(checks: Sequence[GuardCheck]) -> str:
    """How the run's figures compare with a plain loop of the reference op, for "How to read these tables" ('' when not checked)."""
    if not checks:
        return ""
    said = ", ".join(_guard_figure(found) for found in checks)
    return (f" Every block also times eager scalar `assign_add(read_value=False)` as a case among the others and as a plain loop "
            f"in the same passes: its figure read {said} of the plain loop's (median of paired passes, 95% interval); more than "
            f"{100 * LIMIT:.0f}% apart beyond that interval would mean the tables do not show the ops' own cost.")


def guard_lines(checks: Sequence[GuardCheck]) -> list[str]:
    """End-of-run lines for a device whose figures are off from a plain loop, or whose check failed (none when they agree or cannot tell)."""
    lines = []
    for found in checks:
        if found.verdict == "off":
            lines.append(f"figures off: on {found.device} the reference op read {_guard_figure(found).split(' ', 1)[1]} its plain loop "
                         f"in the same passes, over {100 * LIMIT:.0f}%: these tables are not the ops' own cost (docs/timing.md)")
        elif found.verdict == "failed":
            lines.append(f"figure check failed on {found.device}: {found.error}")
    return lines

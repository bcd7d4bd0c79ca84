"""Whether a figure can be read as printed: how far the 95% interval of a case's median reaches from it, against UNRELIABLE.

The rule, in two sentences:
1. A case's median has a distribution-free 95% interval from the order statistics of its rounds
   (`guard.median_interval`); its reach is the farther of its two ends from the median, as a share of it.
2. A figure whose reach is more than UNRELIABLE (20%) is unreliable: the same case timed again could
   read a fifth higher or lower; with too few rounds for an interval it is unreliable too (a run saved
   without its rounds says nothing either way, and is not marked).

Pure: a case dict in (its pooled rounds in "data"), a share or a bool out.
"""
from __future__ import annotations

from typing import Any

from .guard import median_interval

__all__ = ["UNRELIABLE", "reach", "unreliable"]

UNRELIABLE = 0.20


def reach(case: dict[str, Any]) -> float | None:
    """How far the 95% interval of the case's median reaches from it, as a share of it (None: too few rounds)."""
    rounds, median = case.get("data") or [], case.get("median_s")
    interval = median_interval(rounds) if len(rounds) >= 2 and median else None
    if interval is None:
        return None
    return max(median / interval[0] - 1 if interval[0] > 0 else float("inf"), interval[1] / median - 1)


def unreliable(case: dict[str, Any]) -> bool:
    """Whether the case's figure is unreliable by the rule above."""
    if not case.get("data"):
        return False
    found = reach(case)
    return found is None or found > UNRELIABLE

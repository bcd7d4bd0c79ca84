"""The tie rule: when two medians differ by more than their own noise, and the suite's order of sizes.

Ties. A difference inside the cases' own noise is a tie, never a win. A case's noise is
  - the spread of its block medians, (max - min) / median, when the run had two or more blocks
    (each block is a fresh process, so this is how much the figure moves between processes);
  - otherwise its relative IQR across rounds (0 when unknown).
Two cases a (faster) and b are TIED when
    median_b / median_a - 1  <=  max(5%, sqrt(noise_a**2 + noise_b**2))
(noises of independent measurements combine in quadrature). The same rule separates ties from wins
between ways, merges devices whose figures are all tied, and decides whether a trap costs anything.
"""
from __future__ import annotations

import math
from typing import Any

from ..runs import SIZES

__all__ = ["TIE_FLOOR", "noise", "size_key", "tied"]

TIE_FLOOR = 0.05


def noise(case: dict[str, Any]) -> float:
    """The case's relative noise: block-median spread when it had blocks, else its relative IQR."""
    blocks = [m for m in case.get("block_medians_s") or [] if m]
    if len(blocks) >= 2 and case.get("median_s"):
        return (max(blocks) - min(blocks)) / case["median_s"]
    return float(case.get("rel_iqr") or 0.0)


def tied(fast_s: float, fast_noise: float, slow_s: float, slow_noise: float) -> bool:
    """Whether two medians are within max(5%, combined noise) of each other (see the module docstring)."""
    low, high = sorted((fast_s, slow_s))
    return high / low - 1 <= max(TIE_FLOOR, math.hypot(fast_noise, slow_noise))


def size_key(size: str) -> int:
    """Sizes in the suite's order (scalar first); an unknown label last."""
    return SIZES.get(size, max(SIZES.values()) + 1)

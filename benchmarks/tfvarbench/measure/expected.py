"""The value a variable holds after repeated additions, rounded as its dtype rounds each one (what Setup.expect compares with)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["repeated_add"]


def repeated_add(start: Any, step: Any, calls: int, dtype: str) -> np.ndarray:
    """The value `start` holds after `calls` additions of `step`, rounded as `dtype` rounds each one.

    float16 stops growing at 2048 when adding 1 (2049 is not representable), so the closed form
    start + calls*step is only used while every intermediate value is exact.
    """
    start, step = np.asarray(start, dtype), np.asarray(step, dtype)
    if np.issubdtype(start.dtype, np.integer):
        return (start.astype(np.int64) + calls * step.astype(np.int64)).astype(dtype)
    # Exact while every value is a multiple of the coarsest power of two dividing start and step
    # (0.5 for steps of 0.5) and stays within the mantissa: then no addition rounds.
    wide_start, wide_step = start.astype(np.float64), step.astype(np.float64)
    for power in range(0, 24):
        unit = 2.0**-power
        if np.all(np.mod(wide_start, unit) == 0) and np.all(np.mod(wide_step, unit) == 0):
            exact = unit * 2.0 ** (np.finfo(start.dtype).nmant + 1)
            if np.max(np.abs(wide_start) + calls * np.abs(wide_step)) <= exact:
                return (wide_start + calls * wide_step).astype(dtype)
            break
    value = start
    for _ in range(calls):  # slow path: stops at the first fixed point, where rounding swallows the step
        following = (value + step).astype(dtype)
        if np.array_equal(following, value):
            break
        value = following
    return value

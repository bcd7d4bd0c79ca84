"""NumPy references of update rules stepped n times: the state a variable and its slots must hold after n calls.

The harness calls a body n times, and n comes from calibration (thousands for a fast step), so a
reference must be cheap at any n. `Stepped` steps the rule on a few distinct values (a case tiles
them over its variables) and, once a step leaves every slot as it was and moves the variable by
exactly what the step before moved it, finishes the remaining steps binade by binade
(`constant_steps`), rounding as the variable's dtype rounds each addition: float16 stops growing
where float16 does, float32 where float32 does. `repeated_add` is the simplest such reference: a
constant added n times (what `Setup.adds` and most variants declare).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Stepped", "constant_steps", "repeated_add", "rounded", "tiled"]


def _dtype(name: str) -> Any:
    if name == "bfloat16":
        import ml_dtypes  # what TensorFlow's own bfloat16 arrays are; NumPy has none

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _mantissa_bits(dtype: str) -> int:
    return {"float16": 10, "bfloat16": 7, "float32": 23, "float64": 52}[dtype]


def rounded(value: Any, dtype: str) -> np.ndarray:
    """`value` as a variable of `dtype` stores it, back in float64."""
    return np.asarray(value, dtype=np.float64).astype(_dtype(dtype)).astype(np.float64)


def constant_steps(value: Any, increment: Any, steps: int, dtype: str) -> np.ndarray:
    """`value` after `steps` additions of `increment`, each result rounded to `dtype`; float64 out.

    Within a binade (magnitudes [2^e, 2^(e+1))) the spacing q is fixed, so every addition adds the
    same multiple of q, rint(increment/q)*q: the steps up to the binade's edge are one
    multiplication, the step across it one rounded addition. A step that rounds to nothing ends it
    (the fixed point float16 reaches when adding 1 to 2048). Cost: a few operations per binade crossed.
    """
    start = np.asarray(value, dtype=np.float64)
    out = start.ravel().copy()
    incs = np.broadcast_to(np.asarray(increment, dtype=np.float64), start.shape).ravel()
    bits = _mantissa_bits(dtype)
    tiny = float(2.0 ** -(14 if dtype == "float16" else 126 if dtype in ("float32", "bfloat16") else 1022))
    for i in range(out.size):
        v, u, left = float(out[i]), float(incs[i]), steps
        while left > 0 and u != 0:
            if abs(v) < 2 * tiny:  # near zero the spacing changes every step: step one at a time
                following = float(rounded(v + u, dtype))
                if following == v:
                    break
                v, left = following, left - 1
                continue
            e = math.floor(math.log2(abs(v)))
            q = 2.0 ** (e - bits)
            d = q * round(abs(u) / q)
            if d == 0:
                break  # every further addition rounds back to v
            if (u > 0) == (v > 0):  # magnitude grows: stay below 2^(e+1)
                k = min(left, max(0, math.ceil((2.0 ** (e + 1) - abs(v)) / d) - 1))
            else:  # magnitude shrinks: stay at or above 2^e
                k = min(left, max(0, math.floor((abs(v) - 2.0**e) / d)))
            v += math.copysign(k * d, u)
            left -= k
            if left > 0:  # the step across the binade's edge, rounded on its own
                following = float(rounded(v + u, dtype))
                if following == v:
                    break
                v, left = following, left - 1
        out[i] = v
    return out.reshape(start.shape)


class Stepped:
    """The states an update rule leaves after n steps: `after(name)` is a ready `after(n)` for Setup.expect.

    `step(state, t)` maps the state before step t (1-based; float64 arrays by name) to the slots'
    values after it and, under `moving` (the variable the rule moves), the amount it adds to the
    variable, all in float64; the variable and every slot are rounded to `dtype` after each step, as
    a variable and its slots of that dtype store them. Once a step leaves every slot exactly as it
    was and moves the variable by exactly the previous step's amount, the remaining steps are
    `constant_steps`. `shape` is what every state is tiled to.
    """

    def __init__(
        self, start: Mapping[str, Any], step: Callable[[dict[str, np.ndarray], int], dict[str, np.ndarray]], dtype: str,
        shape: Sequence[int], moving: str = "var",
    ) -> None:
        self.start = {name: rounded(value, dtype) for name, value in start.items()}
        self.step, self.dtype, self.shape, self.moving = step, dtype, tuple(shape), moving
        self._cache: dict[int, dict[str, np.ndarray]] = {}

    def state(self, calls: int) -> dict[str, np.ndarray]:
        """Every state after `calls` steps, on the few distinct values (not tiled)."""
        if calls not in self._cache:
            self._cache[calls] = self._run(calls)
        return self._cache[calls]

    def _run(self, calls: int) -> dict[str, np.ndarray]:
        state, moved = dict(self.start), None
        for t in range(1, calls + 1):
            raw = self.step(dict(state), t)
            increment = np.asarray(raw[self.moving], dtype=np.float64)
            raw[self.moving] = state[self.moving] + increment
            following = {name: rounded(value, self.dtype) for name, value in raw.items()}
            settled = moved is not None and np.array_equal(increment, moved) and all(
                np.array_equal(following[name], state[name]) for name in state if name != self.moving
            )
            state, moved = following, increment
            if settled:
                state[self.moving] = constant_steps(state[self.moving], increment, calls - t, self.dtype)
                break
        return state

    def after(
        self, name: str, transform: Callable[[np.ndarray], Any] | None = None, shape: Sequence[int] | None = None
    ) -> Callable[[int], np.ndarray]:
        """after(n) for one state, tiled to `shape` (default: the case's; optionally transformed: another slot convention)."""

        def after(calls: int) -> np.ndarray:
            value = self.state(calls)[name]
            value = transform(value) if transform else value
            return tiled(np.asarray(value).astype(_dtype(self.dtype)), self.shape if shape is None else tuple(shape))

        return after


def tiled(values: Any, shape: int | Sequence[int]) -> np.ndarray:
    """`values` repeated over `shape`, as np.resize repeats them, at a fraction of its cost.

    np.resize took 47 ms to fill 1Mi elements here, and an optimizer case's verification filled a
    dozen (np.tile: about 1 ms each).
    """
    flat = np.ravel(values)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = math.prod(shape)
    return np.tile(flat, -(-size // flat.size))[:size].reshape(shape)


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

"""Cost models from saved cases: time = fixed overhead + bytes / bandwidth, fitted robustly, and crossovers."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from ..runs.record import identity_of

__all__ = ["Crossover", "Fit", "crossover", "fit_cost", "fits_of", "host_copy_limits", "model_axis", "model_key", "reference_limits"]


@dataclass(frozen=True)
class Fit:
    """A fitted cost line for one op, mode and dtype on one device."""

    overhead_s: float
    seconds_per_byte: float
    residual: float  # median |relative residual| over the fitted points
    points: int
    min_bytes: int
    max_bytes: int

    @property
    def bandwidth_gbps(self) -> float:
        return math.inf if self.seconds_per_byte <= 0 else 1e-9 / self.seconds_per_byte

    @property
    def size_independent(self) -> bool:
        """Whether the per-byte term stays under 5% of the time even at the largest size fitted.

        Then the bandwidth is not a property of the op (assign can hand buffers over): no figure.
        """
        return self.seconds_per_byte * self.max_bytes < 0.05 * self.overhead_s

    def predict(self, nbytes: float | np.ndarray) -> float | np.ndarray:
        return self.overhead_s + self.seconds_per_byte * nbytes


def model_axis(case: dict[str, Any]) -> str:
    """The field a case's cost is fitted along: its size, or for a case on a table the rows it touches
    (its bytes are then those rows' bytes, and the table's size stays in the key)."""
    return "rows" if case.get("rows") else "size"


def model_key(case: dict[str, Any]) -> tuple:
    """The cases one fit covers: the same identity at every size (or count of rows), on one labelled device.

    A table case's name carries its count of rows (`scatter_add_1pct`), so along rows the name is left out too.
    """
    axis = model_axis(case)
    return (*identity_of(case, (axis, "device", "case") if axis == "rows" else (axis, "device")), case["device_label"])


def fit_cost(sizes_bytes: Sequence[float], seconds: Sequence[float]) -> Fit | None:
    """Fit time = overhead + bytes * seconds_per_byte to at least three sizes.

    Residuals are relative (a 10% miss at 1 µs counts as much as at 10 ms, since sizes span
    decades) and pass through a soft-L1 loss, so one disturbed point bends the line little.
    Both parameters are bounded at zero: a negative overhead or bandwidth has no physical meaning.
    """
    x = np.asarray(sizes_bytes, dtype=np.float64)
    y = np.asarray(seconds, dtype=np.float64)
    if len(np.unique(x)) < 3 or np.any(y <= 0):
        return None
    # Start from the smallest size's time as the overhead, and the largest's excess as the slope.
    start = [float(y[np.argmin(x)]), max(float((y.max() - y.min()) / max(x.max() - x.min(), 1.0)), 1e-15)]
    scale = np.array([max(start[0], 1e-9), max(start[1], 1e-15)])

    def residuals(params: np.ndarray) -> np.ndarray:
        overhead, per_byte = params * scale
        return (overhead + per_byte * x - y) / y

    solution = least_squares(residuals, np.array(start) / scale, bounds=(0, np.inf), loss="soft_l1", f_scale=0.05)
    overhead, per_byte = solution.x * scale
    relative = np.abs(residuals(solution.x))
    return Fit(float(overhead), float(per_byte), float(np.median(relative)), len(x), int(x.min()), int(x.max()))


@dataclass(frozen=True)
class Crossover:
    """Where two fitted devices trade places, within the sizes both were measured at.

    `kind` is "crossing" (the `faster` side wins from `at_bytes` on), "never" (the `faster`
    side wins throughout), "tied" (within 5% throughout: noise, not a fact) or "disjoint" (no
    common sizes). Sides are "first" and "second", as passed.
    """

    kind: str
    low_bytes: float
    high_bytes: float
    at_bytes: float | None = None
    faster: str | None = None


def crossover(first: Fit, second: Fit) -> Crossover:
    """Where `second` starts beating `first` (or the reverse), within both fits' measured range.

    Outside the range both were measured on, a crossover is an extrapolation, so it is reported
    as "never" with the side that is faster throughout.
    """
    low, high = max(first.min_bytes, second.min_bytes), min(first.max_bytes, second.max_bytes)
    if low > high:
        return Crossover("disjoint", low, high)
    # Lines within 5% of each other over the whole range: a "crossover" there is noise, not a fact.
    ends = np.array([low, high], dtype=np.float64)
    gap = np.abs(first.predict(ends) - second.predict(ends)) / np.minimum(first.predict(ends), second.predict(ends))
    if np.all(gap < 0.05):
        return Crossover("tied", low, high)
    slope = first.seconds_per_byte - second.seconds_per_byte
    if slope != 0:
        at = (second.overhead_s - first.overhead_s) / slope
        if low <= at <= high:
            return Crossover("crossing", low, high, at_bytes=at, faster="second" if slope > 0 else "first")
    mid = math.sqrt(max(low, 1) * high)
    return Crossover("never", low, high, faster="first" if first.predict(mid) <= second.predict(mid) else "second")


def host_copy_limits(cases: Sequence[dict[str, Any]]) -> dict[tuple[str, int], float]:
    """Per (host, bytes): the NumPy copy bandwidth (GB/s) measured there, the limit for CPU updates of that size.

    A copy of 4 MiB runs from cache and one of 64 MiB from memory, so each case is held to the copy
    of its own size, never to a figure measured at another.
    """
    return reference_limits(cases, "host copy")


def reference_limits(cases: Sequence[dict[str, Any]], op: str) -> dict[tuple[str, int], float]:
    """Per (host, bytes): the fastest bandwidth (GB/s) a reference case `op` ("host copy", "loopback copy") measured there."""
    limits: dict[tuple[str, int], float] = {}
    for case in cases:
        if case.get("mode") == "reference" and case.get("op") == op and case.get("median_s"):
            key = (case["host"], int(case["bytes"]))
            limits[key] = max(limits.get(key, 0.0), case["bytes"] / case["median_s"] / 1e9)
    return limits


def fits_of(cases: Sequence[dict[str, Any]]) -> dict[tuple, tuple[Fit, dict[str, Any]]]:
    """A cost model per op, mode, dtype and device that was measured at three sizes or more."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for case in cases:
        if case.get("mode") != "reference" and case.get("bytes"):
            groups.setdefault(model_key(case), []).append(case)
    fits = {}
    for key, members in groups.items():
        fit = fit_cost([c["bytes"] for c in members], [c["median_s"] for c in members])
        if fit is not None:
            fits[key] = (fit, members[0])
    return fits

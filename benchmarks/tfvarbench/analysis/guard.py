"""Whether a run's figures read what a plain loop reads: the guard's reference op, timed as a case and as a plain loop, judged per device.

The rule, in three sentences:
1. Each pass of a block gives one paired log ratio, the reference op's round among the cases over
   its plain stretch of the same pass (measure/guard.py), so the machine's speed cancels pass by pass.
2. Pooled over a device's blocks, their median is the guard's ratio, and the order statistics of
   the binomial give a distribution-free 95% interval for it.
3. The device's figures are "off" when that whole interval lies more than LIMIT (5%) from 1, "agree"
   when it lies within LIMIT, and are "unsure" otherwise (or with too few passes for an interval).

Pure: saved runs' guard entries (plain dicts) in, a `GuardCheck` per device out; no TensorFlow.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import binom

__all__ = ["CONFIDENCE", "LIMIT", "VERDICTS", "GuardCheck", "check", "check_runs", "median_interval"]

LIMIT = 0.05
CONFIDENCE = 0.95
VERDICTS = ("agree", "off", "unsure", "failed")


@dataclass(frozen=True)
class GuardCheck:
    """One device's reference op: its figure among the cases over its plain loop's, and how sure that is."""

    device: str
    ratio: float | None  # exp(median paired log ratio); None when nothing was timed
    low: float | None  # the 95% interval of that ratio (None: too few passes for one)
    high: float | None
    passes: int
    blocks: int
    case_s: float | None  # the op's median round among the cases, and in its plain stretches (seconds a call)
    plain_s: float | None
    verdict: str  # one of VERDICTS
    error: str | None = None  # why a block's guard failed


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """A distribution-free interval for the median of `values` (order statistics), at least `confidence`; None for too few values."""
    ordered, n = sorted(values), len(values)
    # The largest k with P(Binomial(n, 1/2) <= k - 1) <= (1 - confidence) / 2: [x_(k), x_(n+1-k)] covers the median.
    k = int(binom.ppf((1 - confidence) / 2, n, 0.5))
    while k >= 1 and binom.cdf(k - 1, n, 0.5) > (1 - confidence) / 2:
        k -= 1
    if k < 1:
        return None
    return ordered[k - 1], ordered[n - k]


def _median(values: Sequence[float]) -> float:
    ordered, n = sorted(values), len(values)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def check(entries: Iterable[dict[str, Any]], limit: float = LIMIT) -> list[GuardCheck]:
    """Every device's guard from a run's (or runs') entries, devices in the order first seen."""
    by_device: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_device.setdefault(entry["device"], []).append(entry)
    found = []
    for device, mine in by_device.items():
        logs = [math.log(a / b) for entry in mine for a, b in zip(entry.get("case_s") or [], entry.get("plain_s") or []) if a > 0 and b > 0]
        error = next((entry["error"] for entry in mine if entry.get("error")), None)
        case = [value for entry in mine for value in entry.get("case_s") or []]
        plain = [value for entry in mine for value in entry.get("plain_s") or []]
        ratio = math.exp(_median(logs)) if logs else None
        interval = median_interval(logs)
        low, high = (math.exp(interval[0]), math.exp(interval[1])) if interval else (None, None)
        if error is not None or ratio is None:
            verdict = "failed"
        elif low is None or high is None:
            verdict = "unsure"
        elif low > 1 + limit or high < 1 / (1 + limit):
            verdict = "off"
        elif low >= 1 / (1 + limit) and high <= 1 + limit:
            verdict = "agree"
        else:
            verdict = "unsure"
        found.append(GuardCheck(
            device, ratio, low, high, len(logs), len(mine), _median(case) if case else None, _median(plain) if plain else None, verdict,
            error if error is not None else (None if ratio is not None else "no rounds were timed"),
        ))
    return found


def check_runs(runs: Sequence[Any]) -> list[GuardCheck]:
    """Every device's guard over saved runs (runs.Run), devices named as the tables name them: host/device when hosts differ."""
    hosts = {run.host for run in runs}
    entries = [
        {**entry, "device": entry["device"] if len(hosts) == 1 else f"{run.host}/{entry['device']}"}
        for run in runs for entry in run.machine.get("tfvarbench", {}).get("guard") or []
    ]
    return check(entries)

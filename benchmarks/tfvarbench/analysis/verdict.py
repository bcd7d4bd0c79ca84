"""Whether one case got slower between two sets of block medians, and the smallest change that could be seen.

The rule, in three sentences:
1. A block is a fresh process and its median is one piece of evidence; a case's change is the mean of
   its current log block medians minus the mean of its baseline ones, and its spread sigma is the pooled
   standard deviation of those log medians (from baseline history when given, never below 1%).
2. The case is slower (faster) when a one-sided t-test on that change gives p < 0.001 (~170 cases a
   comparison: about one false alarm in ten A/A pairs, none on steady cases) and the change is at
   least half the threshold.
3. Its minimum detectable change is (t[1 - 0.001] + t[0.8]) * sigma * sqrt(1/n_baseline + 1/n_current),
   the change caught 80% of the time; when that is over the threshold an unflagged case is "noisy", not
   "unchanged", and blocks_needed says how many blocks a side would bring it under.

Pure: floats in, a `Verdict` out; no TensorFlow and nothing from the rest of tfvarbench.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from scipy.stats import t as student_t

__all__ = [
    "ALPHA",
    "FLOOR",
    "POWER",
    "Spread",
    "VERDICTS",
    "Verdict",
    "estimate_spread",
    "judge",
    "minimum_detectable",
]

# Per case and direction. A comparison holds ~170 cases; at 0.001 an A/A pair expects 0.17 false
# alarms before the half-threshold condition, which removes nearly all of those on steady cases.
ALPHA = 0.001
# The power at which the minimum detectable change is quoted: a change of that size is caught 4 times in 5.
POWER = 0.8
# Rounds within one process agree to ~1-2%, so no block median is trusted to a finer grain than 1%;
# the floor also keeps three identical block medians from claiming zero spread.
FLOOR = 0.01
# blocks_needed stops counting here (a case this noisy needs a quieter machine, not more blocks).
MAX_BLOCKS = 1_000_000

VERDICTS = ("slower", "faster", "noisy", "unchanged")


@dataclass(frozen=True)
class Spread:
    """A case's between-process spread: the standard deviation of its log block medians, and its degrees of freedom."""

    sigma: float
    df: int


@dataclass(frozen=True)
class Verdict:
    """One case judged. ratio and detectable are relative (1.10 is 10% slower; 0.06 is a 6% change)."""

    ratio: float  # exp(mean log current - mean log baseline): the geometric-mean ratio the test is about
    p_value: float  # one-sided, in the direction the case moved
    threshold: float
    detectable: float  # minimum detectable change (power POWER at ALPHA), as a fraction
    blocks_needed: int | None  # blocks a side that would bring detectable under threshold; None when it is
    verdict: str  # one of VERDICTS
    sigma: float  # the spread used, as a standard deviation of log block medians
    df: int
    baseline_blocks: int
    current_blocks: int


def _logs(blocks: Sequence[float], side: str) -> list[float]:
    values = [float(value) for value in blocks]
    if not values:
        raise ValueError(f"{side}: no block medians")
    if not all(value > 0 and math.isfinite(value) for value in values):
        raise ValueError(f"{side}: block medians must be positive finite times, got {values!r}")
    return [math.log(value) for value in values]


def _sum_of_squares(logs: Sequence[float]) -> float:
    mean = math.fsum(logs) / len(logs)
    return math.fsum((x - mean) ** 2 for x in logs)


def estimate_spread(runs_of_block_medians: Sequence[Sequence[float]]) -> Spread:
    """A case's spread from several runs' block medians (e.g. every saved baseline run of it).

    Deviations are taken around the mean over all runs, not each run's own mean, so a run whose
    blocks all moved together (a machine state that lasted the run) widens the spread, as it
    should: judge compares blocks of different runs.
    """
    logs = [x for run in runs_of_block_medians for x in _logs(run, "spread")]
    if len(logs) < 2:
        raise ValueError(f"spread: needs at least 2 block medians, got {len(logs)}")
    df = len(logs) - 1
    return Spread(sigma=math.sqrt(_sum_of_squares(logs) / df), df=df)


@lru_cache(maxsize=4096)
def _multiplier(df: int, alpha: float, power: float) -> float:
    """How many standard errors the minimum detectable change is: t[1 - alpha] + t[power] at df."""
    return float(student_t.ppf(1 - alpha, df) + student_t.ppf(power, df))


def minimum_detectable(sigma: float, df: int, n_baseline: int, n_current: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The change (fraction) that the one-sided test at alpha catches with the given power (a t approximation)."""
    multiplier = _multiplier(df, alpha, power)
    return math.expm1(multiplier * sigma * math.sqrt(1 / n_baseline + 1 / n_current))


def _blocks_needed(sigma: float, history_df: int, threshold: float, alpha: float, power: float) -> int:
    """The fewest blocks a side (as many on both) whose minimum detectable change is under threshold, at most MAX_BLOCKS."""
    low, high = 1, MAX_BLOCKS  # detectable shrinks as blocks grow: bisect for the first n that fits
    while high - low > 1:
        middle = (low + high) // 2
        if minimum_detectable(sigma, history_df + 2 * middle - 2, middle, middle, alpha, power) <= threshold:
            high = middle
        else:
            low = middle
    return high


def judge(
    baseline_blocks: Sequence[float],
    current_blocks: Sequence[float],
    threshold: float = 0.10,
    alpha: float = ALPHA,
    spread: Spread | None = None,
    power: float = POWER,
) -> Verdict:
    """Judge one case from its block medians (seconds) on each side; see the module docstring for the rule.

    Without `spread`, sigma comes from the two sides' own blocks (pooled around each side's mean,
    n_baseline + n_current - 2 degrees of freedom). With it, that estimate is pooled with the
    history's, degrees of freedom added, which is what makes one run a side enough on steady cases.
    """
    if not 0 < threshold < 10:
        raise ValueError(f"threshold: must be a fraction such as 0.1, got {threshold!r}")
    if not 0 < alpha < 0.5 or not 0.5 <= power < 1:
        raise ValueError(f"alpha and power: need 0 < alpha < 0.5 <= power < 1, got {alpha!r}, {power!r}")
    before, after = _logs(baseline_blocks, "baseline"), _logs(current_blocks, "current")
    n_b, n_c = len(before), len(after)
    squares, df = _sum_of_squares(before) + _sum_of_squares(after), n_b + n_c - 2
    history_df = 0
    if spread is not None:
        history_df = spread.df
        squares, df = squares + spread.df * spread.sigma**2, df + spread.df
    if df < 1:
        raise ValueError("blocks: one block a side has no spread to test against; give a spread from baseline history")
    sigma = max(math.sqrt(squares / df), FLOOR)
    change = math.fsum(after) / n_c - math.fsum(before) / n_b
    p_value = float(student_t.sf(abs(change) / (sigma * math.sqrt(1 / n_b + 1 / n_c)), df))
    detectable = minimum_detectable(sigma, df, n_b, n_c, alpha, power)
    limit = math.log1p(threshold)
    if p_value < alpha and abs(change) >= limit / 2:
        verdict = "slower" if change > 0 else "faster"
    else:
        verdict = "noisy" if detectable > threshold else "unchanged"
    blocks_needed = None if detectable <= threshold else _blocks_needed(sigma, history_df, threshold, alpha, power)
    return Verdict(
        ratio=math.exp(change),
        p_value=p_value,
        threshold=threshold,
        detectable=detectable,
        blocks_needed=blocks_needed,
        verdict=verdict,
        sigma=sigma,
        df=df,
        baseline_blocks=n_b,
        current_blocks=n_c,
    )

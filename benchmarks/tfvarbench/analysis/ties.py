"""Whether two cases differ: ways of a job, devices, an idiom and its fix, judged from paired evidence; and the suite's order of sizes.

The rule, in three sentences:
1. Two cases of one run are paired where they were timed together: round by round where a block
   timed both in the same passes (one log ratio per pass, their median the block's), otherwise block
   by block (the log ratio of their two block medians); cases of different runs are not paired.
2. The blocks' estimates give the ratio (their mean) and a 95% t-interval (their spread, moderated
   toward the typical spread of such pairs of its size in the same run, as the verdict moderates
   its cases', and never below FLOOR); a single block gives the median of its passes and the order
   statistics' interval (timed apart, Welch's on its two sets of log rounds); unpaired, Welch's
   interval on the two sets of log block medians.
3. One is slower than the other only when that whole interval lies more than TIE_FLOOR (5%) past 1;
   anything else, an interval too wide or none at all, is a tie: nothing is said that the data do
   not show.

Pure: case dicts in (runs/pool.py keeps each block's rounds and batch), a `Difference` out.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.stats import t as student_t

from ..runs import SIZES
from .guard import median_interval
from .spread import Spread, fit_prior, moderate

__all__ = ["CONFIDENCE", "FLOOR", "TIE_FLOOR", "Difference", "Judge", "difference", "size_key", "tied"]

TIE_FLOOR = 0.05
CONFIDENCE = 0.95
# No spread between blocks below this is believed: three blocks that agree to 0.1% by chance would
# otherwise call a 5.5% difference certain (as spread.FLOOR for the verdict).
FLOOR = 0.005


@dataclass(frozen=True)
class Difference:
    """b against a: the ratio of b's time to a's, its 95% interval (None: the evidence makes none), and what paired them."""

    ratio: float
    low: float | None
    high: float | None
    evidence: str  # "passes", "blocks", "rounds" (one block each, not in shared passes) or "unpaired" (different runs)
    units: int  # blocks (or passes, of a single block) the interval rests on
    floor: float = TIE_FLOOR

    @property
    def verdict(self) -> str:
        """'slower' (b slower than a beyond the floor and the noise), 'faster', or 'tied'."""
        if self.low is not None and self.low > 1 + self.floor:
            return "slower"
        if self.high is not None and self.high < 1 / (1 + self.floor):
            return "faster"
        return "tied"


def _blocks(case: dict[str, Any]) -> dict[int, tuple[int | None, list[float], float]]:
    """A case's blocks by number: (the batch that timed it, its rounds in pass order, its median)."""
    medians = case.get("block_medians_s") or [case["median_s"]]
    if case.get("block_rounds") and case.get("block_ids"):
        ids, rounds = case["block_ids"], case["block_rounds"]
    elif len(medians) == 1:  # one block, not pooled: its own rounds (a run of one process: timed in its passes, or alone)
        ids, rounds = [[case.get("block") or 1, case.get("batch", 0)]], [case.get("data") or []]
    else:  # blocks saved before their rounds were kept apart: paired by block number, block by block
        ids, rounds = [[index + 1, None] for index in range(len(medians))], [[] for _ in medians]
    return {int(block): (batch, list(data), median) for (block, batch), data, median in zip(ids, rounds, medians) if median}


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("run_id") == b.get("run_id") and not a.get("pooled_runs") and not b.get("pooled_runs")


def _t_interval(values: Sequence[float], prior: Spread | None) -> tuple[float, float]:
    mean = statistics.fmean(values)
    spread = moderate(Spread(statistics.stdev(values), len(values) - 1), prior) or Spread(0.0, len(values) - 1)
    df = spread.df if math.isfinite(spread.df) else 1e9
    half = float(student_t.ppf((1 + CONFIDENCE) / 2, df)) * max(spread.sigma, FLOOR) / math.sqrt(len(values))
    return mean - half, mean + half


def _estimates(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[float], list[float], str]:
    """Paired, per common block: log(b / a) (the median of its passes when both were timed in the same passes,
    else of its block medians); the last block's pass ratios; and what paired them ('' when nothing did)."""
    mine, theirs = _blocks(a), _blocks(b)
    common = sorted(set(mine) & set(theirs)) if _same_run(a, b) else []
    estimates: list[float] = []
    passes: list[float] = []
    kinds = set()
    for block in common:
        (batch_a, rounds_a, median_a), (batch_b, rounds_b, median_b) = mine[block], theirs[block]
        if batch_a is not None and batch_a == batch_b and len(rounds_a) == len(rounds_b) and rounds_a and min(rounds_a + rounds_b) > 0:
            passes = [math.log(y / x) for x, y in zip(rounds_a, rounds_b)]
            estimates.append(statistics.median(passes))
            kinds.add("passes")
        else:
            estimates.append(math.log(median_b / median_a))
            kinds.add("blocks")
    return estimates, passes, ("passes" if kinds == {"passes"} else "blocks") if kinds else ""


def _interval(found: tuple[float, float] | None) -> tuple[float | None, float | None]:
    return (math.exp(found[0]), math.exp(found[1])) if found else (None, None)


class Judge:
    """The rule with its priors: the typical spread of paired estimates in a set of cases, per size (`spread.fit_prior`).

    Two cases of one column (a run, size, dtype and device: the ways of a job at a size), next to
    each other by median, give a spread of their blocks' paired estimates whatever their true
    difference; fitted over all columns of a size, those say how far such estimates scatter, with
    far more degrees of freedom than one pair's three blocks (limma's empirical Bayes, as the verdict).
    """

    def __init__(self, cases: Sequence[dict[str, Any]] = ()) -> None:
        columns: dict[tuple, list[dict[str, Any]]] = {}
        for case in cases:
            if case.get("median_s") and not case.get("pooled_runs"):
                columns.setdefault((case.get("run_id"), case["size"], case["dtype"], case.get("device_label") or case["device"]), []).append(case)
        spreads: dict[str, list[Spread]] = {}
        for (_, size, *_), members in columns.items():
            ordered = sorted(members, key=lambda case: case["median_s"])
            for a, b in zip(ordered, ordered[1:]):
                estimates, _, _ = _estimates(a, b)
                if len(estimates) >= 2:
                    spreads.setdefault(size, []).append(Spread(statistics.stdev(estimates), len(estimates) - 1))
        self.priors = {size: fit_prior(found) for size, found in spreads.items()}

    def difference(self, a: dict[str, Any], b: dict[str, Any], floor: float = TIE_FLOOR) -> Difference:
        """How b's time compares with a's (see the module docstring for the rule)."""
        estimates, passes, evidence = _estimates(a, b)
        if len(estimates) >= 2:
            low, high = _interval(_t_interval(estimates, self.priors.get(a.get("size", ""))))
            return Difference(math.exp(statistics.fmean(estimates)), low, high, evidence, len(estimates), floor)
        if evidence == "passes":
            low, high = _interval(median_interval(passes))
            return Difference(math.exp(estimates[0]), low, high, evidence, len(passes), floor)
        if estimates:  # one block each, not timed in the same passes: its rounds as two samples
            block = next(iter(set(_blocks(a)) & set(_blocks(b))))
            return _welch([math.log(x) for x in _blocks(a)[block][1] if x > 0], [math.log(y) for y in _blocks(b)[block][1] if y > 0], floor, "rounds")
        return _welch([math.log(m) for _, _, m in _blocks(a).values()], [math.log(m) for _, _, m in _blocks(b).values()], floor, "unpaired")

    def tied(self, a: dict[str, Any], b: dict[str, Any], floor: float = TIE_FLOOR) -> bool:
        """Whether neither case is slower than the other beyond the floor and the noise of their paired evidence."""
        return self.difference(a, b, floor).verdict == "tied"


def _welch(logs_a: list[float], logs_b: list[float], floor: float, evidence: str) -> Difference:
    """Two independent samples of log times: their means' difference and Welch's 95% interval (None for fewer than two each)."""
    if not logs_a or not logs_b:
        return Difference(1.0, None, None, evidence, 0, floor)
    ratio = math.exp(statistics.median(logs_b) - statistics.median(logs_a))
    if len(logs_a) < 2 or len(logs_b) < 2:
        return Difference(ratio, None, None, evidence, 0, floor)
    va, vb = max(statistics.variance(logs_a), FLOOR**2) / len(logs_a), max(statistics.variance(logs_b), FLOOR**2) / len(logs_b)
    df = (va + vb) ** 2 / (va**2 / (len(logs_a) - 1) + vb**2 / (len(logs_b) - 1))  # Welch-Satterthwaite
    change = statistics.fmean(logs_b) - statistics.fmean(logs_a)
    half = float(student_t.ppf((1 + CONFIDENCE) / 2, df)) * math.sqrt(va + vb)
    low, high = _interval((change - half, change + half))
    return Difference(math.exp(change), low, high, evidence, len(logs_a) + len(logs_b), floor)


_ALONE = Judge()  # no priors: each pair by its own blocks


def difference(a: dict[str, Any], b: dict[str, Any], floor: float = TIE_FLOOR) -> Difference:
    """How b's time compares with a's, by the pair's own blocks alone (a Judge of the run's cases moderates them)."""
    return _ALONE.difference(a, b, floor)


def tied(a: dict[str, Any], b: dict[str, Any], floor: float = TIE_FLOOR) -> bool:
    """Whether neither case is slower than the other beyond the floor and the noise of their own paired evidence."""
    return difference(a, b, floor).verdict == "tied"


def size_key(size: str) -> int:
    """Sizes in the suite's order (scalar first); an unknown label last."""
    return SIZES.get(size, max(SIZES.values()) + 1)

"""Regression verdicts between two sets of saved runs: one judgement per case from its blocks' medians.

A block is a fresh process, so its median is the unit of evidence (see verdict.py for the rule, in
three sentences). The cases of a comparison are judged together: each one's spreads are moderated
toward those of its family's cases of its size, and the drift between the two sides is measured
over all cases of its size. Every row also says the smallest change the case could have detected
with these blocks and runs on this machine.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..runs import Run, RunError
from .pairs import DISTURBED, pair_runs, round_paired
from .sides import load_thresholds, machine_differences, side, threshold_for
from .spread import Spread, as_runs, between, fit_prior, logs, robust_drift, within
from .spread import paired as pair_spread
from .verdict import ALPHA, VERDICTS, Evidence, Verdict, evidence, judge

__all__ = [
    "Comparison",
    "Drift",
    "Row",
    "VERDICTS",
    "compare_runs",
    "judge_cases",
    "load_thresholds",
    "machine_differences",
]

# A size needs this many cases for its median change to say what typical is; smaller ones are pooled.
MIN_DRIFT_CASES = 8

Sides = dict[str, tuple[Sequence[Sequence[float]], Sequence[Sequence[float]]]]  # name -> (baseline runs, current runs) of block medians


@dataclass(frozen=True)
class Row:
    """One case in both baseline and current; times are medians of block medians."""

    name: str
    baseline_s: float
    current_s: float
    ratio: float
    p_value: float
    threshold: float
    verdict: str
    detectable: float  # the smallest change these blocks could have detected (a fraction)
    blocks_needed: int | None  # blocks a run that would bring `detectable` under the threshold (None: it is, or none would)
    baseline_blocks: int = 1
    current_blocks: int = 1
    spread: float = 0.0  # how far its blocks vary within a run (a standard deviation of logs)
    drift: float = 0.0  # what drift between runs adds to its change's standard error (likewise)
    paired: bool = False  # judged run against run next to it in time; blocks_needed then counts pairs of runs
    held_back: str | None = None  # what kept a change past its threshold at p < alpha from a flag (verdict.py)


@dataclass(frozen=True)
class Drift:
    """How the cases of one size moved together between the two sides."""

    size: str
    cases: int
    shift: float  # the median ratio of the size's cases (1.02: 2% slower together)
    omega: float  # how far they drifted apart beyond their blocks and runs (a standard deviation of logs)


@dataclass
class Comparison:
    """All rows, how each size moved, cases found on one side only, and notes (e.g. a TensorFlow version change)."""

    rows: list[Row]
    drifts: list[Drift] = field(default_factory=list)
    only_baseline: list[str] = field(default_factory=list)
    only_current: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    normalised: bool = False
    paired: bool = False  # the sides ran alternately: each current run judged against the baseline run next to it (pairs.py)
    took_turns: bool = False  # paired blocks that took turns (`tfvarbench ab`): their cases judged round by round

    @property
    def regressions(self) -> list[Row]:
        return [row for row in self.rows if row.verdict == "slower"]

    def detecting(self, change: float = 0.10) -> float:
        """The share of cases whose detectable change is at most `change`."""
        return sum(row.detectable <= change for row in self.rows) / len(self.rows) if self.rows else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "regressions": len(self.regressions),
            "normalised": self.normalised,
            "paired": self.paired,
            "took_turns": self.took_turns,
            "notes": self.notes,
            "share_detecting_10_percent": self.detecting(0.10),
            "median_detectable": statistics.median(row.detectable for row in self.rows) if self.rows else None,
            "drifts": [asdict(drift) for drift in self.drifts],
            "rows": [asdict(row) for row in self.sorted_rows()],
            "only_baseline": self.only_baseline,
            "only_current": self.only_current,
        }

    def sorted_rows(self) -> list[Row]:
        """Regressions first (worst first), then faster, then the rest."""
        order = {verdict: index for index, verdict in enumerate(VERDICTS)}
        return sorted(self.rows, key=lambda row: (order[row.verdict], -abs(row.ratio - 1)))


def noise_group(name: str) -> str:
    """The cases whose spreads are pooled into one prior: same family and size (on any device).

    Noise follows what a case does more than which case it is: on this machine a 1Mi eager update
    spreads several times as much as a scalar one, and replicated cases more than either.
    """
    family, _, size, *_ = name.split("/")
    return f"{family}/{size}"


# A noise group needs this many cases for its own prior; a smaller one takes its size's (or every case's).
MIN_PRIOR_CASES = 8


def _priors(spreads: dict[str, Spread | None]) -> dict[str, Spread | None]:
    """Each case's prior: fitted to its noise group's spreads, or its size's when the group is small, or every case's."""
    levels: list[dict[str, list[Spread]]] = [{}, {}]
    for name, spread in spreads.items():
        if spread is not None:
            levels[0].setdefault(noise_group(name), []).append(spread)
            levels[1].setdefault(name.split("/")[2], []).append(spread)
    fitted = [{key: fit_prior(members) for key, members in level.items() if len(members) >= MIN_PRIOR_CASES} for level in levels]
    everyone = fit_prior([spread for spread in spreads.values() if spread is not None])
    return {name: fitted[0].get(noise_group(name)) or fitted[1].get(name.split("/")[2]) or everyone for name in spreads}


def drifts(found: dict[str, Evidence], paired: bool = False) -> tuple[list[Drift], dict[str, float]]:
    """How each size's cases moved together, and each case's omega: how far the two sides drifted apart beyond its blocks and runs.

    Changes are taken from their size's median change before omega is estimated (spread.drift),
    so a size that moved as a whole (drift, or one cause common to all of it) does not read as
    scatter; each case is still judged on its own change, never on its change less the size's.
    Omega is what the drift between runs made minutes apart leaves in a case's change; the cases
    that really changed would swell it, so it is measured on the cases whose change it does not
    already explain (spread.robust_drift). Paired, a pair's two runs are next to each other in
    time and the pairs' own spread carries what drift there is: omega is 0 and the shift is only
    said. Sizes with fewer than MIN_DRIFT_CASES cases are pooled.
    """
    groups: dict[str, list[str]] = {}
    for name in found:
        groups.setdefault(name.split("/")[2], []).append(name)
    small = [name for members in groups.values() if len(members) < MIN_DRIFT_CASES for name in members]
    if small:
        groups = {group: members for group, members in groups.items() if len(members) >= MIN_DRIFT_CASES}
        groups["other sizes" if groups else "all sizes"] = small
    summary, omega = [], {}
    for group, members in groups.items():
        shift = statistics.median(found[name].change for name in members)
        spread = 0.0 if paired else robust_drift([found[name].change - shift for name in members], [found[name].variance() for name in members])
        summary.append(Drift(group, len(members), math.exp(shift), spread))
        omega.update(dict.fromkeys(members, spread))
    return summary, omega


def judge_cases(
    sides: Sides, threshold: float = 0.10, alpha: float = ALPHA, thresholds: dict[str, float] | None = None, paired: bool = False
) -> tuple[dict[str, Verdict], list[Drift]]:
    """Every case's verdict from its (baseline, current) runs of block medians, named family/case/size/...; and how each size moved.

    Paired, baseline run k and current run k ran next to each other in time (pairs.py).
    """
    measured = {name: (logs(before, "baseline"), logs(after, "current")) for name, (before, after) in sides.items()}
    prior_of = _priors({name: (pair_spread if paired else within)(*runs) for name, runs in measured.items()})
    run_prior_of = _priors({name: between(*runs) for name, runs in measured.items()}) if not paired else dict.fromkeys(sides)
    for name, (before, after) in sides.items():
        if sum(len(run) for run in [*as_runs(before), *as_runs(after)]) < 3 and prior_of[name] is None:
            raise RunError(f"{name}: one block a side has no spread to judge by; compare runs timed in blocks (--blocks 2 or more)")
    found = {name: evidence(before, after, prior_of[name], run_prior_of[name], paired) for name, (before, after) in sides.items()}
    moved, omega = drifts(found, paired)
    verdicts = {
        name: judge(
            before, after, threshold_for(name, thresholds or {}, threshold), alpha, prior_of[name],
            omega=omega[name], run_prior=run_prior_of[name], paired=paired, found=found[name],
        )
        for name, (before, after) in sides.items()
    }
    return verdicts, moved


def compare_runs(
    baseline: Sequence[Run],
    current: Sequence[Run],
    threshold: float = 0.10,
    alpha: float = ALPHA,
    thresholds: dict[str, float] | None = None,
    normalise: bool = False,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> Comparison:
    """Judge every case present on both sides from its block medians; raise RunError when no case is.

    `pairs` (baseline index, current index) says which runs ran next to each other in time, as
    `tfvarbench ab` knows; without it they are found from the runs' start times (pairs.py).
    """
    pairs = pairs if pairs is not None else pair_runs(baseline, current)
    if pairs is not None:  # run k of each side in the order they pair up
        baseline, current = [baseline[b] for b, _ in pairs], [current[c] for _, c in pairs]
    base, cur = side(baseline, normalise), side(current, normalise)
    common = [name for name in base if name in cur]
    if not common:
        raise RunError("no common cases: the baseline and current runs share no case (same family, variant, size, dtype and device)")
    # A case missing from some runs cannot be paired run by run: then every case is judged unpaired.
    paired = pairs is not None and all(len(base[name][1]) == len(cur[name][1]) == len(pairs) for name in common)
    judged, notes, took_turns = {name: (base[name][1], cur[name][1]) for name in common}, [], False
    if paired and not normalise:  # blocks that took turns pair round by round
        rounds, dropped = round_paired(baseline, current)
        judged.update(rounds)
        took_turns = bool(rounds)
        if dropped:
            notes.append(f"pair{'s' if len(dropped) > 1 else ''} {', '.join(str(index + 1) for index in dropped)} left out: its cases' changes"
                         f" scattered over {DISTURBED:g} times as widely as the other pairs' (disturbed as a whole)")
    verdicts, moved = judge_cases(judged, threshold, alpha, thresholds, paired)
    rows = []
    for name in common:
        found, before, after = verdicts[name], base[name][0]["block_medians_s"], cur[name][0]["block_medians_s"]
        rows.append(
            Row(name, statistics.median(before), statistics.median(after), found.ratio, found.p_value, found.threshold, found.verdict,
                found.detectable, found.blocks_needed, len(before), len(after), found.sigma, found.drift, found.paired, found.held_back)
        )
    return Comparison(
        rows=rows, drifts=moved, only_baseline=sorted(set(base) - set(cur)), only_current=sorted(set(cur) - set(base)), normalised=normalise, paired=paired,
        took_turns=took_turns, notes=notes,
    )

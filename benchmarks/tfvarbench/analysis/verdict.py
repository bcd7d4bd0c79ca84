"""Whether one case got slower between two sets of block medians, and the smallest change that could be seen.

The rule, in three sentences:
1. A block is a fresh process and its median one piece of evidence: a case's change is the mean of
   its current log block medians minus the mean of its baseline ones, and its uncertainty adds what
   its blocks vary by within a run (moderated toward cases of its family and size), what its runs
   drift apart by (from a side of several runs), and how far the comparison's cases of its size
   drifted beyond both (spread.py).
2. The case is slower (faster) when a one-sided t-test on that change gives p < ALPHA, a rank test
   agrees at RANK_ALPHA (paired: Wilcoxon's signed-rank test on the pairs' differences, which more
   pairs only make easier to pass, and below five pairs every pair one way; unpaired: Mann-Whitney
   on the blocks, with three a side every current block past every baseline block) and the change is at least half its threshold; a
   change past its threshold at p < ALPHA that the rank test holds back is "noisy", and says so.
3. Its minimum detectable change is (t[1 - ALPHA] + t[POWER]) times that uncertainty: the change
   caught 4 times in 5; when that is over the threshold an unflagged case is "noisy", not
   "unchanged", and it says how many blocks a side would bring it under (none will, when drift
   between runs alone is over it: then more runs a side will).

Pure: floats in, a `Verdict` out; no TensorFlow and nothing from the rest of tfvarbench.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from scipy.stats import mannwhitneyu, wilcoxon
from scipy.stats import t as student_t

from .spread import FLOOR, Runs, Spread, as_runs, between, differences, logs, moderate, within
from .spread import paired as pair_spread

__all__ = ["ALPHA", "JOB_ALPHA", "POWER", "RANK_ALPHA", "VERDICTS", "Evidence", "Verdict", "case_alpha", "evidence", "judge", "minimum_detectable"]

# Per case and direction: a comparison holds ~170 cases, so an A/A pair expects 0.17 false alarms
# from the t-test alone, before the rank and half-threshold conditions remove most of those.
ALPHA = 0.001
# The chance of any false alarm in a whole job, shared among its cases (Bonferroni): a job judges
# ~200 cases, and ALPHA of 0.001 per case and direction would flag one now and then.
JOB_ALPHA = 0.02
# The power at which the minimum detectable change is quoted: a change of that size is caught 4 times in 5.
POWER = 0.8
# The rank condition: a single odd block (or pair) cannot make a regression on its own. Paired, the
# exact signed-rank test reaches 0.05 from five pairs on (all five one way: p = 1/32); fewer pairs
# (two to four runs of `tfvarbench interleave`) must all move one way, as five would have to.
RANK_ALPHA = 0.05
UNANIMOUS_BELOW = 5
# With one run a side nothing shows how far runs drift apart, so they are taken to drift apart by this
# many times the case's own spread of blocks within a run: on this machine, blocks of back-to-back
# runs are no closer than blocks further apart in time (a drift over minutes), and A/A pairs of
# single runs needed about this much for none of ~170 cases to be flagged (README, Regression tracking).
UNSEEN_DRIFT = 1.0
# blocks_needed stops counting here (a case this noisy needs a quieter machine, not more blocks).
MAX_BLOCKS = 1_000_000

VERDICTS = ("slower", "faster", "noisy", "unchanged")


@dataclass(frozen=True)
class Evidence:
    """What a case's blocks say: its log change, and the parts of its uncertainty."""

    change: float  # mean of the current runs' log means - mean of the baseline runs'
    sigma: float  # the spread of blocks within a run (of pairs' differences, when paired), moderated, never below FLOOR
    df: float
    tau: float  # how far runs drift apart beyond their blocks: measured on a side of several runs, else UNSEEN_DRIFT * sigma
    blocks: tuple[float, float]  # per side: 1 / the variance a block's spread leaves in its mean, in blocks
    runs: tuple[int, int]
    paired: bool = False  # each current run compared with the baseline run next to it in time (pairs.py)

    def variance(self, more: int | None = None) -> float:
        """The change's variance (with `more` blocks a run, or pairs when paired, instead of the real ones, if given)."""
        if self.paired:
            return self.sigma**2 / (more or self.runs[0])
        n_b, n_c = (more * self.runs[0], more * self.runs[1]) if more else self.blocks
        return self.sigma**2 * (1 / n_b + 1 / n_c) + self.tau**2 * (1 / self.runs[0] + 1 / self.runs[1])


@dataclass(frozen=True)
class Verdict:
    """One case judged. ratio and detectable are relative (1.10 is 10% slower; 0.06 is a 6% change)."""

    ratio: float  # exp(change): the geometric-mean ratio the test is about
    p_value: float  # one-sided, in the direction the case moved
    threshold: float
    detectable: float  # minimum detectable change (power POWER at ALPHA), as a fraction
    blocks_needed: int | None  # blocks a run (pairs of runs, when paired) that would bring detectable under threshold; None when it is, or none would
    verdict: str  # one of VERDICTS
    sigma: float  # the spread of blocks within a run, as a standard deviation of logs
    drift: float  # what drift between runs adds to the change's standard error (from its runs, and its size's cases)
    df: float
    paired: bool = False  # blocks_needed then counts pairs of runs
    held_back: str | None = None  # the condition that kept a change past its threshold at p < ALPHA from a flag ("rank test p 0.09")


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def evidence(
    baseline: Runs | Sequence[float],
    current: Runs | Sequence[float],
    prior: Spread | None = None,
    run_prior: Spread | None = None,
    paired: bool = False,
) -> Evidence:
    """The case's change and its uncertainty, from its runs' block medians (a flat list is one run).

    `prior` is the within-run spread of cases like it, `run_prior` their between-run spread
    (spread.fit_prior); each moderates the case's own (spread.moderate). Paired, baseline[k] and
    current[k] ran next to each other in time: the change is the mean of the pairs' differences
    and its spread theirs (`prior` is then the pairs' spread of cases like it); no drift between
    runs is added, since within a pair there was hardly time for any.
    """
    before, after = logs(baseline, "baseline"), logs(current, "current")
    if paired:
        spread = moderate(pair_spread(before, after), prior)
        if spread is None:
            raise ValueError("pairs: one pair of runs has no spread to test against; give a prior from cases like it")
        runs = (len(before), len(after))
        return Evidence(_mean(differences(before, after)), max(spread.sigma, FLOOR), spread.df, 0.0, runs, runs, paired=True)
    spread, runs_apart = moderate(within(before, after), prior), moderate(between(before, after), run_prior)
    if spread is None and runs_apart is None:
        raise ValueError("blocks: one block a side has no spread to test against; give a prior from cases like it")
    # Runs of one block each (saved before blocks existed, or --blocks 1) show their spread only between runs.
    sigma, df = (max(spread.sigma, FLOOR), spread.df) if spread is not None else (FLOOR, runs_apart.df)  # type: ignore[union-attr]
    # What a run's blocks leave in its mean, per side: sigma^2 times the mean over its runs of 1/n, over its runs.
    leave = [_mean([1 / len(run) for run in side]) / len(side) for side in (before, after)]
    tau = UNSEEN_DRIFT * sigma
    if runs_apart is not None:
        several = [side for side in (before, after) if len(side) >= 2]
        blocks_left = _mean([1 / len(run) for side in several for run in side])
        tau = math.sqrt(max(0.0, runs_apart.sigma**2 - sigma**2 * blocks_left))
    change = _mean([_mean(run) for run in after]) - _mean([_mean(run) for run in before])
    return Evidence(change, sigma, df, tau, (1 / leave[0], 1 / leave[1]), (len(before), len(after)))


@lru_cache(maxsize=4096)
def _quantile(probability: float, df: float) -> float:
    return float(student_t.ppf(probability, df if math.isfinite(df) else 1e12))


def minimum_detectable(standard_error: float, df: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The change (fraction) that the one-sided test at alpha catches with the given power (a t approximation)."""
    return math.expm1((_quantile(1 - alpha, df) + _quantile(power, df)) * standard_error)


def _needed(found: Evidence, prior_df: float, omega: float, threshold: float, alpha: float, power: float) -> int | None:
    """The fewest blocks a run (pairs of runs, when paired) whose detectable change is under threshold; None when none would."""

    def detectable(n: int, df: float) -> float:
        return minimum_detectable(math.sqrt(found.variance(n) + omega**2), df, alpha, power)

    if detectable(MAX_BLOCKS, math.inf) > threshold:
        return None
    low, high = 1, MAX_BLOCKS  # detectable shrinks as blocks grow: bisect for the first n that fits
    while high - low > 1:
        middle = (low + high) // 2
        own_df = middle - 1 if found.paired else (middle - 1) * sum(found.runs)
        low, high = (low, middle) if detectable(middle, max(prior_df + own_df, 1)) <= threshold else (middle, high)
    return high


def rank_p(baseline: Runs | Sequence[float], current: Runs | Sequence[float], slower: bool, paired: bool = False) -> float:
    """The exact one-sided rank-test p that current is slower (or faster) than baseline.

    Paired: Wilcoxon's signed-rank test on the pairs' differences (baseline run k next to current
    run k), so one pair against the rest costs a little p, not the verdict. Unpaired: Mann-Whitney on
    the blocks.
    """
    alternative = "greater" if slower else "less"
    if paired:
        moved = [d for d in differences(logs(baseline, "baseline"), logs(current, "current")) if d != 0]
        if len(moved) < UNANIMOUS_BELOW:  # too few pairs for the test to reach RANK_ALPHA: every pair one way, as five must be
            return 0.0 if moved and all((d > 0) == slower for d in moved) else 1.0
        return float(wilcoxon(moved, alternative=alternative, method="exact").pvalue)
    flat = lambda side: [value for run in as_runs(side) for value in run]  # noqa: E731
    return float(mannwhitneyu(flat(current), flat(baseline), alternative=alternative, method="exact").pvalue)


def judge(
    baseline: Runs | Sequence[float],
    current: Runs | Sequence[float],
    threshold: float = 0.10,
    alpha: float = ALPHA,
    prior: Spread | None = None,
    power: float = POWER,
    omega: float = 0.0,
    run_prior: Spread | None = None,
    paired: bool = False,
    found: Evidence | None = None,
) -> Verdict:
    """Judge one case from its block medians (seconds) on each side; see the module docstring for the rule.

    Without `prior`, the within-run spread is the case's own; with it, the two are combined
    (spread.moderate), which is what lets three blocks a side see 10% on steady cases. `omega` is
    how far the comparison's runs drifted apart beyond their blocks and runs (spread.drift): it
    adds to the change's variance however many blocks there are. `found` is this case's evidence
    when the caller has worked it out already (with the same priors).
    """
    if not 0 < threshold < 10:
        raise ValueError(f"threshold: must be a fraction such as 0.1, got {threshold!r}")
    if not 0 < alpha < 0.5 or not 0.5 <= power < 1:
        raise ValueError(f"alpha and power: need 0 < alpha < 0.5 <= power < 1, got {alpha!r}, {power!r}")
    found = found or evidence(baseline, current, prior, run_prior, paired)
    standard_error = math.sqrt(found.variance() + omega**2)
    p_value = float(student_t.sf(abs(found.change) / standard_error, found.df if math.isfinite(found.df) else 1e12))
    detectable = minimum_detectable(standard_error, found.df, alpha, power)
    moved = abs(found.change) >= math.log1p(threshold) / 2
    ranked = rank_p(baseline, current, found.change > 0, paired) if p_value < alpha and moved else 1.0
    held_back = None
    if p_value < alpha and moved and ranked <= RANK_ALPHA:
        verdict = "slower" if found.change > 0 else "faster"
    elif p_value < alpha and abs(found.change) >= math.log1p(threshold):  # past its threshold, held back by the rank test alone
        verdict, held_back = "noisy", f"rank test p {ranked:.2g} > {RANK_ALPHA:g}"
    else:
        verdict = "noisy" if detectable > threshold else "unchanged"
    prior_df = prior.df if prior is not None else 0.0
    needed = None if detectable <= threshold else _needed(found, prior_df, omega, threshold, alpha, power)
    return Verdict(
        ratio=math.exp(found.change),
        p_value=p_value,
        threshold=threshold,
        detectable=detectable,
        blocks_needed=needed,
        verdict=verdict,
        sigma=found.sigma,
        drift=math.sqrt(found.tau**2 * (1 / found.runs[0] + 1 / found.runs[1]) + omega**2),
        df=found.df,
        paired=paired,
        held_back=held_back,
    )


def case_alpha(job_alpha: float, cases: int) -> float:
    """The false-alarm level of each case and direction that keeps the whole job's at `job_alpha` (never above ALPHA)."""
    return min(ALPHA, job_alpha / (2 * max(cases, 1)))

"""How much a case's block medians vary: within a run, between runs, and how far a comparison's runs drifted apart.

Three sources, all as standard deviations of log block medians (so 0.01 is about 1%):
- within a run (`within`): blocks are fresh processes timed one after another; moderated toward
  the typical spread of cases like it (`fit_prior`, `moderate`: limma's empirical Bayes, Smyth 2004);
- between runs (`between`): a side made of several runs shows how far runs of the case move apart
  beyond their blocks (the machine drifts over minutes; a run's blocks share its stretch of time);
- the comparison's drift (`drift`): with one run a side nothing shows the first two apart, so the
  scatter of the changes of all cases of a size beyond what their blocks and runs explain is taken
  as the drift between the two sides' runs.

Pure: floats in, floats out; no TensorFlow and nothing from the rest of tfvarbench.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.special import digamma, polygamma
from scipy.stats import chi2
from scipy.stats import f as f_distribution

__all__ = ["FLOOR", "OUTLIER", "Runs", "Spread", "as_runs", "between", "differences", "drift", "fit_prior", "logs", "moderate", "paired", "robust_drift", "within"]

# No spread below this is believed (rounds within one process agree to about 1%), so three
# identical block medians cannot claim zero spread.
FLOOR = 0.005
# A case whose own spread is this unlikely under its group's prior is not like its group: it keeps its own.
# (In a group of 40 alike cases, 0.04 a comparison are taken for outliers by chance.)
OUTLIER = 0.001
# The median of a chi-square with one degree of freedom: a standardised change squared is at most
# this half of the time by chance alone.
_CHI2_1_MEDIAN = float(chi2.ppf(0.5, 1))

Runs = Sequence[Sequence[float]]  # a side of a comparison: each run's block medians, in seconds


@dataclass(frozen=True)
class Spread:
    """A spread of log block medians: a standard deviation and its degrees of freedom (inf for a known one)."""

    sigma: float
    df: float


def as_runs(side: Runs | Sequence[float]) -> Runs:
    """A side as runs of block medians; a flat list of numbers is one run."""
    return [side] if side and not isinstance(side[0], Sequence) else side  # type: ignore[list-item,return-value]


def logs(side: Runs | Sequence[float], name: str) -> list[list[float]]:
    """Each run's block medians as natural logs (a flat list is one run); ValueError naming the side for anything but positive finite times."""
    runs = as_runs(side)
    if not runs or not all(runs):
        raise ValueError(f"{name}: no block medians")
    values = [[float(value) for value in run] for run in runs]
    if not all(value > 0 and math.isfinite(value) for run in values for value in run):
        raise ValueError(f"{name}: block medians must be positive finite times, got {values!r}")
    return [[math.log(value) for value in run] for run in values]


def _sum_of_squares(values: Sequence[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.fsum((x - mean) ** 2 for x in values)


def within(*sides: list[list[float]]) -> Spread | None:
    """The spread of blocks around their own run's mean, pooled over every run of every side (None: one block each)."""
    runs = [run for side in sides for run in side]
    df = sum(len(run) - 1 for run in runs)
    if df < 1:
        return None
    return Spread(math.sqrt(math.fsum(_sum_of_squares(run) for run in runs) / df), df)


def between(*sides: list[list[float]]) -> Spread | None:
    """The spread of run means around their side's mean, pooled over the sides with two runs or more (None: no such side).

    Its square estimates tau^2 + sigma^2 / n: the drift between runs plus what the run's own
    blocks leave in its mean.
    """
    several = [[math.fsum(run) / len(run) for run in side] for side in sides if len(side) >= 2]
    df = sum(len(means) - 1 for means in several)
    if df < 1:
        return None
    return Spread(math.sqrt(math.fsum(_sum_of_squares(means) for means in several) / df), df)


def differences(before: list[list[float]], after: list[list[float]]) -> list[float]:
    """Each pair's difference of run means (after[k] minus before[k]: runs next to each other in time)."""
    return [math.fsum(cur) / len(cur) - math.fsum(base) / len(base) for base, cur in zip(before, after)]


def paired(before: list[list[float]], after: list[list[float]]) -> Spread | None:
    """The spread of the pairs' differences (None for fewer than two pairs)."""
    found = differences(before, after)
    if len(found) < 2:
        return None
    return Spread(math.sqrt(_sum_of_squares(found) / (len(found) - 1)), len(found) - 1)


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x, by Newton's method as limma's trigammaInverse does it."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(polygamma(1, y))
        step = tri * (1 - tri / x) / float(polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def fit_prior(spreads: Sequence[Spread]) -> Spread | None:
    """The typical spread of a group of cases and the degrees of freedom it is worth (Smyth 2004, limma's fitFDist).

    Each case's variance is taken as its true variance times chi2(df)/df, and the true variances
    as scattered around a typical one; how much the observed variances scatter beyond what their
    own degrees of freedom explain says how far they differ, and so how much the typical spread can
    be trusted for any one case: the more the group agrees, the more degrees of freedom. A group of
    cases that differ a lot gets few, and each case keeps close to its own spread. None for fewer
    than 3 cases with a spread.
    """
    usable = [spread for spread in spreads if spread.df >= 1 and math.isfinite(spread.df)]
    if len(usable) < 3:
        return None
    # log s^2 corrected for its own degrees of freedom; a zero spread is taken at a tenth of the floor
    corrected = [
        math.log(max(spread.sigma, FLOOR / 10) ** 2) - float(digamma(spread.df / 2)) + math.log(spread.df / 2) for spread in usable
    ]
    n = len(corrected)
    mean = math.fsum(corrected) / n
    excess = math.fsum((z - mean) ** 2 for z in corrected) / (n - 1) - math.fsum(float(polygamma(1, s.df / 2)) for s in usable) / n
    if excess <= 0:  # the spreads vary no more than their degrees of freedom explain: one spread for all
        return Spread(math.sqrt(math.exp(mean)), math.inf)
    df = 2 * _trigamma_inverse(excess)
    return Spread(math.sqrt(math.exp(mean + float(digamma(df / 2)) - math.log(df / 2))), df)


def moderate(own: Spread | None, prior: Spread | None) -> Spread | None:
    """The case's spread moderated toward the prior: variances weighted by their degrees of freedom.

    A case much noisier than the cases of its group (its variance over the prior's in the upper
    OUTLIER tail of the F distribution) keeps its own spread: moderating it would claim a precision
    its blocks never showed.
    """
    if prior is None or own is None:
        return own or prior
    ratio = own.sigma**2 / max(prior.sigma, FLOOR / 10) ** 2
    tail = float(chi2.sf(ratio * own.df, own.df)) if math.isinf(prior.df) else float(f_distribution.sf(ratio, own.df, prior.df))
    if tail < OUTLIER:
        return own
    if math.isinf(prior.df):
        return Spread(prior.sigma, math.inf)
    variance = (prior.df * prior.sigma**2 + own.df * own.sigma**2) / (prior.df + own.df)
    return Spread(math.sqrt(variance), prior.df + own.df)


def drift(changes: Sequence[float], variances: Sequence[float]) -> float:
    """How far runs drifted apart beyond what explains the changes already: the standard deviation omega to add to every one.

    `changes` are cases' log changes measured from their group's median change (a common shift of
    the group is drift or a common cause, either way not the scatter of one case), `variances`
    what their blocks (and runs) alone make those changes vary by. omega is chosen so the typical
    case's change, standardised by sqrt(variance + omega^2), is as large as chance makes it (its
    square at the median of a chi-square with one degree of freedom): a median, so the few cases
    that really moved do not count. 0 when the variances explain the changes.
    """
    pairs = [(c * c, v) for c, v in zip(changes, variances)]
    if not pairs:
        return 0.0

    def typical(omega: float) -> float:
        ordered = sorted(square / (variance + omega * omega) for square, variance in pairs)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    if typical(0.0) <= _CHI2_1_MEDIAN:
        return 0.0
    low, high = 0.0, 1.0
    while typical(high) > _CHI2_1_MEDIAN:
        high *= 2
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if typical(middle) > _CHI2_1_MEDIAN else (low, middle)
    return high


# A case whose change, standardised with the drift found so far, is past this is taken for one that
# really changed and left out of the next estimate (about 1 in 370 by chance alone).
CHANGED_Z = 3.0


def robust_drift(changes: Sequence[float], variances: Sequence[float], rounds: int = 10) -> float:
    """`drift`, measured again on the cases it does not explain until it settles: a share of the cases that really
    changed (a slowdown of one op in 16 cases of 84) then cannot pass for drift and swell every other case's uncertainty.
    At least half the cases are always kept (the median needs them)."""
    kept = list(zip(changes, variances))
    omega = drift(changes, variances)
    for _ in range(rounds):
        z = sorted(((c * c / (v + omega * omega), c, v) for c, v in zip(changes, variances)), key=lambda item: item[0])
        calm = [(c, v) for score, c, v in z if score <= CHANGED_Z**2]
        calm = calm if len(calm) * 2 >= len(z) else [(c, v) for _, c, v in z[: (len(z) + 1) // 2]]
        if calm == kept:
            break
        kept = calm
        omega = drift([c for c, _ in kept], [v for _, v in kept])
    return omega

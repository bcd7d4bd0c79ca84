"""Which runs of a comparison go together when the two sides were run alternately (`tfvarbench interleave`).

On a shared machine a case's speed drifts over minutes, and a run's blocks share its stretch of
time. Run one side after the other and the comparison measures that drift along with any change.
Run them alternately (B C C B ..., or B C B C ...) and each current run has a baseline run next to
it in time: the difference within each such pair has no drift to speak of, and the pairs'
differences vary by what is left. `pair_runs` finds those pairs from the runs' start times.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime

from ..runs import Run, case_name

__all__ = ["DISTURBED", "disturbed", "pair_runs", "round_paired", "without_the_lead"]


def _started(run: Run) -> datetime | None:
    try:
        return datetime.fromisoformat(run.datetime)
    except (TypeError, ValueError):
        return None


def pair_runs(baseline: Sequence[Run], current: Sequence[Run]) -> list[tuple[int, int]] | None:
    """(baseline index, current index) of each pair of runs next to each other in time, or None when the sides did not alternate.

    Blocks of `tfvarbench ab` name their pair (two pairs ran at once there, so their start times
    interleave). Otherwise the runs of both sides, in the order they started, must come in twos of one baseline and one
    current run (B C C B B C ... or B C B C ...), at least two twos; otherwise (one run a side, a
    side run all at once, a run without a start time) the comparison is not paired.
    """
    if len(baseline) != len(current) or len(baseline) < 2:
        return None
    named = [[_settings(run).get("pair") for run in side] for side in (baseline, current)]
    if all(named[0]) and all(named[1]) and len(set(named[0])) == len(named[0]) and sorted(named[0]) == sorted(named[1]):
        where = {pair: index for index, pair in enumerate(named[1])}  # `tfvarbench ab`'s blocks say which pair they were
        return [(index, where[pair]) for index, pair in enumerate(named[0])]
    started = [(_started(run), "baseline", index) for index, run in enumerate(baseline)]
    started += [(_started(run), "current", index) for index, run in enumerate(current)]
    if any(time is None for time, _, _ in started):
        return None
    ordered = sorted(started, key=lambda entry: entry[0])  # type: ignore[arg-type,return-value]
    pairs = []
    for first, second in zip(ordered[::2], ordered[1::2]):
        if first[1] == second[1]:
            return None
        base, cur = (first, second) if first[1] == "baseline" else (second, first)
        pairs.append((base[2], cur[2]))
    return pairs


def _settings(run: Run) -> dict:
    return run.machine.get("tfvarbench", {}).get("settings") or {}


def without_the_lead(changes: list[float], leads: list[str]) -> list[float]:
    """The pairs' changes with what going first did taken out: each moved by its lead group's mean less the two groups' average.

    Their mean is the average of the two groups' means (each side led half the pairs under A B | B A,
    so it is their plain mean), and their spread is the spread within each group, scaled for the
    degree of freedom the groups' difference took. Unchanged unless each group has two pairs or more.
    """
    groups = {lead: [change for change, other in zip(changes, leads) if other == lead] for lead in ("first", "second")}
    if set(leads) - set(groups) or min(len(group) for group in groups.values()) < 2:
        return changes
    means = {lead: math.fsum(group) / len(group) for lead, group in groups.items()}
    middle, n = (means["first"] + means["second"]) / 2, len(changes)
    scale = math.sqrt((n - 1) / (n - 2))
    return [middle + (change - means[lead]) * scale for change, lead in zip(changes, leads)]


# A pair of blocks whose cases' changes scatter this many times as widely as the job's typical pair's
# (interquartile ranges over all cases) was disturbed as a whole: left out. In an A/A job here one
# pair of eight scattered 13.5% against 2.7-3.8% for the others, and alone made the median
# detectable change 13.5% instead of 4-5%. A real change moves a pair's cases, not their scatter.
DISTURBED = 3.0
MIN_KEPT = 4  # pairs a job keeps however disturbed: fewer leave too little spread to judge by


def disturbed(changes: dict[str, list[float]]) -> list[int]:
    """The indices of pairs whose cases' changes scatter over DISTURBED times the median pair's (none when too few cases or pairs)."""
    pairs = min((len(values) for values in changes.values()), default=0)
    if len(changes) < 20 or pairs < MIN_KEPT + 1:
        return []
    spreads = []
    for index in range(pairs):
        quartiles = statistics.quantiles([values[index] for values in changes.values()], n=4)
        spreads.append(quartiles[2] - quartiles[0])
    typical = statistics.median(spreads)
    worst = sorted((index for index in range(pairs) if spreads[index] > DISTURBED * typical), key=lambda index: -spreads[index])
    return sorted(worst[: pairs - MIN_KEPT])


def round_paired(baseline: Sequence[Run], current: Sequence[Run]) -> tuple[dict[str, tuple[list[list[float]], list[list[float]]]], list[int]]:
    """Block medians to judge for the cases whose pairs of blocks took turns round by round (`tfvarbench ab`, measure/turns.py),
    and the pairs left out as disturbed (`disturbed`).

    Round k of such a case was timed on one side a few milliseconds from round k on the other,
    so the pair's change is the median over k of log(current round / baseline round): the
    machine's speed, which here changes from second to second, cancels round by round instead of
    only on average. What going first does to a pair (`without_the_lead`) is taken out of the
    changes' spread. Each pair is returned as (baseline block median, baseline block median times
    that change), so the verdict takes the pairs' spread as it does for any pairs. A case is
    left out (and judged by its block medians) when any pair did not take turns, or holds more
    than one block, or its two blocks timed different numbers of rounds.
    """
    found: dict[str, tuple[list[list[float]], list[list[float]]]] = {}
    changes: dict[str, list[float]] = {}
    eligible: set[str] | None = None
    for before, after in zip(baseline, current):
        if not (_settings(before).get("turns") and _settings(after).get("turns")):
            return {}, []
        rounds = {case_name(case): case for case in after.cases}
        pair: set[str] = set()
        for case in before.cases:
            name, other = case_name(case), rounds.get(case_name(case))
            mine, theirs = case.get("data") or [], (other or {}).get("data") or []
            if other is None or len(mine) != len(theirs) or len(mine) < 2 or case.get("blocks", 1) != 1 or other.get("blocks", 1) != 1:
                continue
            if min(mine + theirs) <= 0:
                continue
            changes.setdefault(name, []).append(statistics.median(math.log(b / a) for a, b in zip(mine, theirs)))
            found.setdefault(name, ([], []))[0].append([case["median_s"]])
            pair.add(name)
        eligible = pair if eligible is None else eligible & pair
    kept = {name: changes[name] for name in eligible or ()}
    dropped = set(disturbed(kept))
    leads = [str(_settings(run).get("turn")) for index, run in enumerate(baseline) if index not in dropped]  # the baseline's block first?
    for name, values in kept.items():
        before = [run for index, run in enumerate(found[name][0]) if index not in dropped]
        values = [value for index, value in enumerate(values) if index not in dropped]
        found[name] = (before, [[run[0] * math.exp(change)] for run, change in zip(before, without_the_lead(values, leads))])
    return {name: found[name] for name in kept}, sorted(dropped)

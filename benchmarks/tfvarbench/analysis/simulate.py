"""The paired verdict checked by simulation: synthetic `ab` jobs shaped like this machine, judged as `ab` judges them.

The machine, as measured (docs/timing.md, "What moves a figure"; docs/regression.md): it runs at two
speeds, the slow one about 1.6 times the fast, each lasting seconds; a pass over a job's cases takes
about a second, so the speed changes between passes, and now and then between the two sides' rounds
of a pair (timed milliseconds apart); rounds are heavy-tailed (Student's t, 3 degrees of freedom;
a round's log ratio to the other side's scatters about 6% here, so a pair's median of ten rounds
about 2.4%); each fresh process has its own small offset per case (memory layout); the block that
goes first in a pair is about 1% slower; and now and then a whole pair is disturbed (every case's
change scatters several times as widely). An A/A job of `-k assign` here (24 pairs) had a median
pair spread of 2.5%, which these settings give. A job's cases come in three sizes, the
largest twice as noisy. `rates` runs many such jobs through `analysis.pairs` and
`analysis.regress.judge_cases`, exactly as `compare_runs` does for blocks that took turns, and counts
false alarms and the changes found. `python -m tfvarbench.analysis.simulate` prints the table in
docs/regression.md.

Pure: floats in, counts out; no TensorFlow.
"""
from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .pairs import without_the_lead, disturbed
from .regress import judge_cases

__all__ = ["Machine", "Rates", "job", "rates"]

ROUNDS = 10  # a quick block's timed passes
SIZES = ("scalar", "1Ki", "1Mi")


@dataclass(frozen=True)
class Machine:
    """How this machine's rounds vary (log scale), as measured here."""

    slow: float = math.log(1.6)  # the slow speed over the fast
    switch_per_pass: float = 0.3  # the chance the speed changes between two passes
    switch_between_sides: float = 0.01  # the chance it changes between the two sides' rounds of one pass
    round_noise: float = 0.025  # the scale of a round's own noise (t with 3 degrees of freedom)
    process: float = 0.005  # a fresh process's own offset per case
    lead: float = 0.01  # going first in a pair costs this
    disturbed: float = 0.1  # the chance a pair is disturbed as a whole
    disturbance: float = 0.06  # how widely a disturbed pair's changes scatter


def _t3(rng: random.Random) -> float:
    """Student's t with 3 degrees of freedom, scaled to unit variance's neighbourhood."""
    normal = rng.gauss(0.0, 1.0)
    chi = sum(rng.gauss(0.0, 1.0) ** 2 for _ in range(3))
    return normal / math.sqrt(chi / 3)


def _name(index: int, cases: int) -> str:
    size = SIZES[index * len(SIZES) // cases]
    return f"simulated/case{index}/{size}/float32/CPU:0"


def job(cases: int, pairs: int, changes: dict[int, float], rng: random.Random, machine: Machine = Machine(),
        threshold: float = 0.02, alpha: float = 0.02) -> dict[str, str]:
    """One job: `cases` cases over `pairs` pairs taking turns, case i slower by changes[i] (a fraction); verdict by case name.

    `alpha` is the job's false-alarm level, shared as `ab` shares it (alpha / (2 x cases) per case and direction).
    """
    speed = 0.0
    per_pass: list[list[float]] = []  # the speed of each side's round k in each pair
    for _ in range(pairs):
        rounds = []
        for _ in range(ROUNDS):
            if rng.random() < machine.switch_per_pass:
                speed = machine.slow - speed
            other = machine.slow - speed if rng.random() < machine.switch_between_sides else speed
            rounds.append((speed, other))
        per_pass.append(rounds)  # type: ignore[arg-type]
    leads = ["first" if index % 2 == 0 else "second" for index in range(pairs)]  # A B | B A | ...: the baseline leads every other pair
    changes_of: dict[str, list[float]] = {}
    for index in range(cases):
        name = _name(index, cases)
        scale = 2.0 if name.split("/")[2] == "1Mi" else 1.0
        true = math.log1p(changes.get(index, 0.0))
        found = []
        for pair, lead in zip(range(pairs), leads):
            offset = rng.gauss(0.0, machine.process * scale) - rng.gauss(0.0, machine.process * scale)
            offset += machine.lead if lead == "second" else -machine.lead  # the current side goes first when the baseline goes second
            ratios = [
                true + offset + other - base_speed + machine.round_noise * scale * (_t3(rng) - _t3(rng))
                for base_speed, other in per_pass[pair]  # type: ignore[misc]
            ]
            found.append(statistics.median(ratios))
        changes_of[name] = found
    for pair in range(pairs):  # a disturbed pair scatters every case's change
        if rng.random() < machine.disturbed:
            for name in changes_of:
                changes_of[name][pair] += rng.gauss(0.0, machine.disturbance)
    dropped = set(disturbed(changes_of))
    kept_leads = [lead for pair, lead in enumerate(leads) if pair not in dropped]
    sides = {}
    for name, found in changes_of.items():
        kept = without_the_lead([change for pair, change in enumerate(found) if pair not in dropped], kept_leads)
        sides[name] = ([[1e-5]] * len(kept), [[1e-5 * math.exp(change)] for change in kept])
    verdicts, _ = judge_cases(sides, threshold, min(0.001, alpha / (2 * cases)), paired=True)
    return {name: verdict.verdict for name, verdict in verdicts.items()}


@dataclass(frozen=True)
class Rates:
    """What many jobs of one shape found: jobs with any false alarm, false alarms per case, and the share of planted changes flagged."""

    pairs: int
    change: float
    jobs: int
    jobs_with_a_false_alarm: float
    false_alarms_per_case: float
    power: float | None  # None when nothing was planted


def rates(pairs: int, change: float, jobs: int = 100, cases: int = 84, changed: int = 8, seed: int = 0, machine: Machine = Machine(),
          threshold: float = 0.02, alpha: float = 0.02) -> Rates:
    """`jobs` jobs of `cases` cases and `pairs` pairs, `changed` of them (spread over the sizes) slower by `change` (none when 0)."""
    rng = random.Random(seed)
    planted = {index * cases // changed: change for index in range(changed)} if change else {}
    false_jobs, false_cases, found = 0, 0, 0
    for _ in range(jobs):
        verdicts = job(cases, pairs, planted, rng, machine, threshold, alpha)
        wrong = [name for index, name in enumerate(verdicts) if index not in planted and verdicts[name] in ("slower", "faster")]
        false_jobs += bool(wrong)
        false_cases += len(wrong)
        found += sum(verdicts[_name(index, cases)] == "slower" for index in planted)
    return Rates(pairs, change, jobs, false_jobs / jobs, false_cases / (jobs * (cases - len(planted))),
                 found / (jobs * len(planted)) if planted else None)


def table(pair_counts: Sequence[int] = (6, 12, 24), changes: Sequence[float] = (0.01, 0.02, 0.05, 0.10), jobs: int = 100) -> str:
    """The Markdown table of docs/regression.md: per pair count, the false alarms of A/A jobs and the power at each change."""
    lines = ["| pairs | A/A jobs with a false alarm | false alarms per case | " + " | ".join(f"{100 * c:g}% found" for c in changes) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in changes) + " |"]
    for pairs in pair_counts:
        null = rates(pairs, 0.0, jobs, seed=pairs)
        found = [rates(pairs, change, jobs, seed=pairs * 100 + index) for index, change in enumerate(changes)]
        lines.append(f"| {pairs} | {100 * null.jobs_with_a_false_alarm:.0f}% of {jobs} | {null.false_alarms_per_case:.2g} | "
                     + " | ".join(f"{100 * (r.power or 0):.0f}%" for r in found) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())

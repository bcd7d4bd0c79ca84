"""The paired tie rule (analysis/ties.py): two cases differ only where their paired evidence lies past 5% with 95% confidence."""
from __future__ import annotations

import math
import random

import pytest

from tfvarbench.analysis.ties import FLOOR, TIE_FLOOR, difference, tied


def _machine(rng: random.Random, blocks: int = 3, passes: int = 10) -> list[list[float]]:
    """This machine's speed per pass of each block: two speeds, the slow 1.6 times the fast, changing between passes."""
    speeds, speed = [], 1.0
    for _ in range(blocks):
        block = []
        for _ in range(passes):
            if rng.random() < 0.3:
                speed = 2.6 - speed  # 1.0 <-> 1.6
            block.append(speed)
        speeds.append(block)
    return speeds


def _case(speeds: list[list[float]], base: float, rng: random.Random, run: str = "r1", batch: int | None = 1, noise: float = 0.03,
          process: float = 0.01, **extra: object) -> dict:
    """A case timed in those passes: its rounds (each with its own noise), each block's process offset, its block medians."""
    rounds = []
    for block in speeds:
        offset = math.exp(rng.gauss(0, process))
        rounds.append([base * offset * speed * math.exp(rng.gauss(0, noise)) for speed in block])
    medians = [sorted(r)[len(r) // 2] for r in rounds]
    return {"median_s": sorted(medians)[1] if len(medians) == 3 else medians[0], "block_medians_s": medians, "block_rounds": rounds,
            "block_ids": [[b + 1, batch] for b in range(len(rounds))], "run_id": run, **extra}


def test_identical_cases_timed_in_the_same_passes_never_differ() -> None:
    rng, differ = random.Random(1), 0
    for _ in range(500):
        speeds = _machine(rng)
        a, b = _case(speeds, 20e-6, rng), _case(speeds, 20e-6, rng)
        differ += difference(a, b).verdict != "tied"
    assert differ == 0


@pytest.mark.parametrize(("planted", "verdict", "noise"), [(1.25, "slower", 0.03), (1 / 1.25, "faster", 0.03), (1.10, "slower", 0.01)])
def test_a_real_difference_past_the_floor_is_found_either_way(planted: float, verdict: str, noise: float) -> None:
    rng, found = random.Random(2), 0
    for _ in range(100):
        speeds = _machine(rng)
        a, b = _case(speeds, 20e-6, rng, noise=noise, process=noise / 3), _case(speeds, 20e-6 * planted, rng, noise=noise, process=noise / 3)
        result = difference(a, b)
        found += result.verdict == verdict and result.evidence == "passes"
        assert result.ratio == pytest.approx(planted, rel=0.06)
    assert found >= 90


def test_a_difference_inside_the_floor_is_a_tie_however_sure() -> None:
    rng = random.Random(3)
    speeds = _machine(rng)
    a, b = _case(speeds, 20e-6, rng, noise=0.001, process=0.0005), _case(speeds, 20e-6 * 1.03, rng, noise=0.001, process=0.0005)
    found = difference(a, b)
    assert found.verdict == "tied" and found.low is not None and found.low > 1.0  # sure it is slower, but by less than 5%
    assert tied(a, b)


def test_three_blocks_that_agree_by_chance_cannot_claim_a_five_and_a_half_percent_difference() -> None:
    a = {"median_s": 1.0, "block_medians_s": [1.0, 1.0, 1.0], "run_id": "r"}
    b = {"median_s": 1.055, "block_medians_s": [1.055, 1.0551, 1.0549], "run_id": "r"}
    found = difference(a, b)  # no rounds kept: paired block by block, their spread floored at FLOOR
    assert found.evidence == "blocks" and found.verdict == "tied"
    half = math.log(found.high / found.ratio)
    assert half == pytest.approx(4.303 * FLOOR / math.sqrt(3), rel=0.01)  # t(0.975, 2 df)


def test_cases_of_different_runs_or_batches_are_paired_less_closely() -> None:
    rng = random.Random(4)
    speeds = _machine(rng)
    a = _case(speeds, 20e-6, rng)
    other_batch = _case(speeds, 20e-6 * 1.3, rng, batch=2)
    assert difference(a, other_batch).evidence == "blocks"
    other_run = _case(_machine(rng), 20e-6 * 1.3, rng, run="r2")
    found = difference(a, other_run)
    assert found.evidence == "unpaired" and found.units == 6
    pooled = {**_case(speeds, 20e-6, rng), "pooled_runs": 2}
    assert difference(a, pooled).evidence == "unpaired"


def test_one_block_is_judged_by_its_passes_and_too_few_say_nothing() -> None:
    rng = random.Random(5)
    speeds = _machine(rng, blocks=1)
    a, b = _case(speeds, 20e-6, rng), _case(speeds, 20e-6 * 1.5, rng)
    found = difference(a, b)
    assert found.evidence == "passes" and found.units == 10 and found.verdict == "slower"
    short = _machine(rng, blocks=1, passes=4)
    found = difference(_case(short, 20e-6, rng), _case(short, 20e-6 * 1.5, rng))
    assert found.low is None and found.verdict == "tied"  # four passes make no 95% interval


def test_the_floor_is_five_percent() -> None:
    assert TIE_FLOOR == 0.05

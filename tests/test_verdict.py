"""The per-case verdict rule: simulated block medians (seeded) and the two committed A/A baseline runs; no timings."""
from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import pytest

from tfvarbench.analysis.verdict import FLOOR, Spread, Verdict, estimate_spread, judge, minimum_detectable

BASELINES = Path(__file__).resolve().parent.parent / "results" / "baselines"


def blocks(rng: random.Random, spread: float, shift: float = 0.0, n: int = 3, seconds: float = 2e-4) -> list[float]:
    """n block medians of one case: log-normal process-to-process spread, times (1 + shift)."""
    return [seconds * (1 + shift) * math.exp(rng.gauss(0, spread)) for _ in range(n)]


def flagged(verdict: Verdict) -> bool:
    return verdict.verdict in ("slower", "faster")


def test_a_ten_percent_slowdown_with_one_percent_spread_is_slower_with_three_blocks_a_side() -> None:
    rng = random.Random(12)
    verdict = judge(blocks(rng, 0.01), blocks(rng, 0.01, shift=0.10))
    assert verdict.verdict == "slower"
    assert verdict.ratio == pytest.approx(1.10, abs=0.02)
    assert verdict.detectable < 0.10 and verdict.blocks_needed is None
    caught = sum(judge(blocks(rng, 0.01), blocks(rng, 0.01, shift=0.10)).verdict == "slower" for _ in range(1000))
    assert caught >= 950  # about 97%: the spread is estimated from six blocks (4 degrees of freedom)


@pytest.mark.parametrize("spread", [0.005, 0.01, 0.02])
def test_no_change_on_a_steady_case_is_never_flagged_in_a_thousand_cases(spread: float) -> None:
    """On steady cases the change must also reach half the threshold, which chance alone does not do."""
    rng = random.Random(int(spread * 1000))
    assert [v for v in (judge(blocks(rng, spread), blocks(rng, spread)) for _ in range(1000)) if flagged(v)] == []


def _false_alarms(rng: random.Random, make_blocks, cases: int) -> tuple[int, int]:
    verdicts = [judge(make_blocks(), make_blocks()).verdict for _ in range(cases)]
    return verdicts.count("slower"), verdicts.count("faster")


@pytest.mark.parametrize("spread", [0.03, 0.05, 0.15, 0.30])
def test_no_change_on_a_noisy_case_is_flagged_at_most_alpha_of_the_time(spread: float) -> None:
    """Here only the test guards: ALPHA = 0.001 a direction, so 170 cases give ~0.1 false regressions a comparison."""
    rng = random.Random(int(spread * 1000))
    slower, faster = _false_alarms(rng, lambda: blocks(rng, spread), 10_000)
    assert slower <= 20 and faster <= 20  # 10 expected each; 20 is 3 binomial standard deviations above


def test_no_change_with_outlier_blocks_like_this_machines_is_flagged_at_most_alpha_of_the_time() -> None:
    """A quarter of the blocks in the committed runs lay >10% off their case's median, two thirds of them slower."""
    rng = random.Random(7)

    def machine_blocks() -> list[float]:
        return [2e-4 * math.exp(rng.gauss(0, 0.02) + (rng.uniform(0.1, 0.7) if rng.random() < 0.25 else 0.0)) for _ in range(3)]

    slower, faster = _false_alarms(rng, machine_blocks, 10_000)
    assert slower <= 20 and faster <= 20


def test_faster_is_the_mirror_of_slower() -> None:
    rng = random.Random(3)
    before, after = blocks(rng, 0.01), blocks(rng, 0.01, shift=0.10)
    slower, faster = judge(before, after), judge(after, before)
    assert (slower.verdict, faster.verdict) == ("slower", "faster")
    assert faster.ratio == pytest.approx(1 / slower.ratio)
    assert (faster.p_value, faster.detectable, faster.sigma) == pytest.approx((slower.p_value, slower.detectable, slower.sigma))


def test_a_case_with_fifteen_percent_spread_is_noisy_and_says_how_many_blocks_it_needs() -> None:
    rng = random.Random(15)
    verdict = judge(blocks(rng, 0.15), blocks(rng, 0.15))
    assert verdict.verdict == "noisy"
    assert verdict.detectable > 0.10
    assert verdict.blocks_needed is not None and verdict.blocks_needed > 3


def test_blocks_needed_is_the_fewest_blocks_whose_detectable_change_fits_the_threshold() -> None:
    verdict = judge([1.0, 1.1, 0.9], [1.05, 0.95, 1.0])
    n = verdict.blocks_needed
    assert n is not None
    assert minimum_detectable(verdict.sigma, 2 * n - 2, n, n) <= 0.10 < minimum_detectable(verdict.sigma, 2 * n - 4, n - 1, n - 1)


def test_the_detectable_change_shrinks_with_more_blocks() -> None:
    sizes = [minimum_detectable(0.02, 2 * n - 2, n, n) for n in (2, 3, 5, 10, 30)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    rng = random.Random(5)
    assert judge(blocks(rng, 0.01, n=10), blocks(rng, 0.01, n=10)).detectable < judge([1, 1, 1], [1, 1, 1]).detectable


def test_spread_from_history_lets_one_run_a_side_see_ten_percent_on_a_two_percent_case() -> None:
    rng = random.Random(2)
    history = estimate_spread([blocks(rng, 0.02) for _ in range(5)])
    assert history.df == 14 and 0.01 < history.sigma < 0.03
    before, after = blocks(rng, 0.02), blocks(rng, 0.02, shift=0.10)
    alone, informed = judge(before, after), judge(before, after, spread=history)
    assert informed.df == alone.df + 14
    assert informed.detectable < 0.10 < minimum_detectable(0.02, 4, 3, 3)


def test_a_run_that_moved_as_a_whole_widens_the_spread() -> None:
    steady, shifted = [1.0, 1.0, 1.0], [1.3, 1.3, 1.3]
    assert estimate_spread([steady, steady]).sigma == 0.0
    assert estimate_spread([steady, shifted]).sigma > 0.1


def test_identical_blocks_claim_no_less_than_the_floor() -> None:
    verdict = judge([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert verdict.sigma == FLOOR and verdict.verdict == "unchanged" and verdict.ratio == 1.0


def test_a_significant_change_under_half_the_threshold_is_unchanged() -> None:
    history = Spread(sigma=0.005, df=100)
    assert judge([1.0] * 3, [1.03] * 3, spread=history).verdict == "unchanged"
    assert judge([1.0] * 3, [1.06] * 3, spread=history).verdict == "slower"


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ([], [1.0], "baseline: no block medians"),
        ([1.0, 1.0], [0.0], "current: block medians must be positive"),
        ([1.0], [1.0], "one block a side"),
    ],
)
def test_bad_blocks_are_named(before: list[float], after: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        judge(before, after)


def _block_medians(path: Path) -> dict[str, list[float]]:
    """{case name without -blockN: its block medians in block order} from a saved pytest-benchmark run."""
    cases: dict[str, dict[int, float]] = {}
    for bench in json.loads(path.read_text())["benchmarks"]:
        name = re.sub(r"-block\d+\]$", "]", bench["name"])
        cases.setdefault(name, {})[bench["extra_info"]["block"]] = bench["stats"]["median"]
    return {name: [by_block[b] for b in sorted(by_block)] for name, by_block in cases.items()}


def test_the_two_committed_baseline_runs_flag_nothing_against_each_other() -> None:
    """A/A on 175 real cases (two pinned quick runs of this code, back to back), 3 blocks each: nothing
    is flagged, from their own blocks alone or with the spread of both runs as history."""
    before = _block_medians(BASELINES / "quick-2cpu-blocks-run1.json")
    after = _block_medians(BASELINES / "quick-2cpu-blocks-run2.json")
    assert len(before) == len(after) == 175 and before.keys() == after.keys()
    assert all(len(b) == 3 for b in [*before.values(), *after.values()])
    informed = {name: judge(before[name], after[name], spread=estimate_spread([before[name], after[name]])) for name in before}
    assert [name for name, v in informed.items() if flagged(v)] == []
    alone = {name: judge(before[name], after[name]) for name in before}
    assert [name for name, v in alone.items() if flagged(v)] == []

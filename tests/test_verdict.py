"""The per-case verdict rule on simulated block medians (seeded) and on the committed baseline runs; no timings."""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from tfvarbench.analysis.regress import judge_cases
from tfvarbench.analysis.spread import FLOOR, Spread, between, drift, fit_prior, moderate, within
from tfvarbench.analysis.verdict import UNSEEN_DRIFT, evidence, judge, minimum_detectable

BASELINES = Path(__file__).resolve().parent.parent / "results" / "baselines"


def blocks(rng: random.Random, spread: float, shift: float = 0.0, n: int = 3, seconds: float = 2e-4) -> list[float]:
    """n block medians of one case: log-normal process-to-process spread, times (1 + shift)."""
    return [seconds * (1 + shift) * math.exp(rng.gauss(0, spread)) for _ in range(n)]


def comparison(rng: random.Random, spreads: dict[str, float], shifts: dict[str, float] | None = None, drift_sd: float = 0.0, n: int = 3):
    """One comparison of many cases, judged together as `tfvarbench compare` judges them: each case's
    blocks with its own spread, its current side moved by its shift, and each case's runs apart by drift_sd."""
    shifts = shifts or {}
    sides = {}
    for name, spread in spreads.items():
        run_effect = rng.gauss(0, drift_sd)
        sides[name] = (blocks(rng, spread, n=n), [b * math.exp(run_effect) for b in blocks(rng, spread, shifts.get(name, 0.0), n=n)])
    return judge_cases(sides)[0]


def steady_cases(count: int, spread: float, family: str = "family", size: str = "scalar") -> dict[str, float]:
    return {f"{family}/case{i}/{size}/float32/CPU:{i % 2}": spread for i in range(count)}


def flagged(verdicts) -> list[str]:
    return sorted(name for name, v in verdicts.items() if v.verdict in ("slower", "faster"))


def test_a_ten_percent_shift_with_one_percent_process_spread_is_flagged_with_three_blocks_a_side() -> None:
    rng = random.Random(12)
    cases = steady_cases(40, 0.01)
    moved = dict.fromkeys(list(cases)[:6], 0.10)
    caught, detectable = 0, []
    for _ in range(50):
        verdicts = comparison(rng, cases, moved)
        assert set(flagged(verdicts)) <= set(moved)  # nothing unmoved
        caught += sum(verdicts[name].verdict == "slower" for name in moved)
        detectable += [v.detectable for v in verdicts.values()]
    assert caught >= 0.97 * 50 * len(moved)
    assert sorted(detectable)[len(detectable) // 2] < 0.08 and sum(d < 0.10 for d in detectable) > 0.9 * len(detectable)


@pytest.mark.parametrize("spread", [0.005, 0.01, 0.02, 0.05, 0.15])
def test_no_change_is_never_flagged_in_a_hundred_comparisons_of_forty_cases(spread: float) -> None:
    rng = random.Random(int(spread * 1000))
    assert [name for _ in range(100) for name in flagged(comparison(rng, steady_cases(40, spread)))] == []


def test_runs_that_drift_apart_as_far_as_blocks_vary_are_flagged_no_more_often_than_alpha() -> None:
    """Drift between the two runs as large as the blocks' spread: the default unseen drift covers it."""
    rng = random.Random(21)
    false = [name for _ in range(100) for name in flagged(comparison(rng, steady_cases(40, 0.02), drift_sd=0.02))]
    assert len(false) <= 2  # 4,000 cases judged at ALPHA = 0.001 a direction, before the other two conditions


def test_a_noisy_case_says_its_detectable_change_is_over_ten_percent_and_what_would_bring_it_under() -> None:
    rng = random.Random(15)
    verdicts = comparison(rng, {**steady_cases(20, 0.01), "family/noisy/scalar/float32/CPU:0": 0.15})
    noisy = verdicts["family/noisy/scalar/float32/CPU:0"]
    assert noisy.verdict == "noisy" and noisy.detectable > 0.10
    assert noisy.blocks_needed is None  # its unseen drift alone (as large as its blocks' spread) is over 10%: more runs, not blocks
    # Blocks shrink only the blocks' part: with a known spread of 1.5%, 9% needs more of them (drift alone makes 8.3%).
    middling = judge([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], threshold=0.09, prior=Spread(0.015, math.inf))
    assert middling.verdict == "noisy" and middling.blocks_needed is not None and middling.blocks_needed > 3


def test_faster_is_the_mirror_of_slower() -> None:
    rng = random.Random(3)
    before, after = blocks(rng, 0.01), blocks(rng, 0.01, shift=0.12)
    slower, faster = judge(before, after), judge(after, before)
    assert (slower.verdict, faster.verdict) == ("slower", "faster")
    assert faster.ratio == pytest.approx(1 / slower.ratio)
    assert (faster.p_value, faster.detectable, faster.sigma) == pytest.approx((slower.p_value, slower.detectable, slower.sigma))


def test_one_odd_block_cannot_make_a_regression_but_every_block_past_can() -> None:
    steady = Spread(0.01, math.inf)
    odd = judge([1.0, 1.0, 1.0], [1.0, 1.0, 1.5], prior=steady)
    assert odd.verdict != "slower"  # the mean moved 14%, but two current blocks tie the baseline's
    assert judge([1.0, 1.01, 0.99], [1.12, 1.13, 1.11], prior=steady).verdict == "slower"


def test_a_significant_change_under_half_the_threshold_is_unchanged() -> None:
    steady = Spread(0.002, math.inf)
    assert judge([1.0, 1.001, 0.999], [1.03, 1.031, 1.029], prior=steady).verdict == "unchanged"
    assert judge([1.0, 1.001, 0.999], [1.06, 1.061, 1.059], prior=steady).verdict == "slower"


def test_blocks_needed_is_the_fewest_blocks_a_run_whose_detectable_change_fits_the_threshold() -> None:
    verdict = judge([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], threshold=0.09, prior=Spread(0.015, math.inf))
    n = verdict.blocks_needed
    assert n is not None and n > 3
    sigma, tau = 0.015, UNSEEN_DRIFT * 0.015

    def detectable(blocks: int) -> float:
        return minimum_detectable(math.sqrt(sigma**2 * 2 / blocks + 2 * tau**2), math.inf)

    assert detectable(n) <= 0.09 < detectable(n - 1)


def test_the_detectable_change_shrinks_with_more_blocks_and_more_runs() -> None:
    rng = random.Random(5)
    three, ten = judge(blocks(rng, 0.01), blocks(rng, 0.01)), judge(blocks(rng, 0.01, n=10), blocks(rng, 0.01, n=10))
    assert ten.detectable < three.detectable
    runs = [[blocks(rng, 0.01) for _ in range(4)] for _ in range(2)]
    assert judge(*runs).detectable < three.detectable


def test_a_side_of_several_runs_measures_how_far_runs_drift_apart() -> None:
    rng = random.Random(8)
    steady_runs = [blocks(rng, 0.01) for _ in range(4)]
    drifting_runs = [[b * effect for b in blocks(rng, 0.01)] for effect in (math.exp(rng.gauss(0, 0.08)) for _ in range(4))]
    steady, drifting = evidence(steady_runs, [blocks(rng, 0.01)]), evidence(drifting_runs, [blocks(rng, 0.01)])
    assert steady.tau < 0.01 < 0.04 < drifting.tau  # measured: the steady case's runs agree, the other's do not
    assert steady.runs == (4, 1) and steady.blocks == (12, 3)
    assert judge(drifting_runs, [b * 1.12 for b in blocks(rng, 0.01)]).verdict != "slower"  # 12% is within its runs' drift


def test_runs_paired_in_time_see_through_a_drift_that_swamps_unpaired_runs() -> None:
    """The machine drifts 8% from one pair of runs to the next; within a pair it hardly moves."""
    rng = random.Random(31)
    cases = steady_cases(30, 0.01)
    moved = list(cases)[:5]
    sides = {name: ([], []) for name in cases}
    for _ in range(6):  # six pairs of runs, each at its own level of the machine's drift (the signed-rank test needs five)
        level = math.exp(rng.gauss(0, 0.08))
        for name in cases:
            sides[name][0].append([b * level for b in blocks(rng, 0.01)])
            sides[name][1].append([b * level for b in blocks(rng, 0.01, 0.10 if name in moved else 0.0)])
    paired, _ = judge_cases(sides, paired=True)
    assert flagged(paired) == sorted(moved) and all(paired[name].detectable < 0.10 and paired[name].paired for name in cases)
    unpaired, _ = judge_cases(sides)
    assert flagged(unpaired) == [] and all(unpaired[name].detectable > 0.10 for name in cases)  # the drift between runs shows, and swamps 10%


def test_within_and_between_pool_each_run_around_its_own_mean() -> None:
    a, b = [[0.0, 0.02], [0.5, 0.52]], [[0.1, 0.12]]
    assert within(a, b) == Spread(pytest.approx(math.sqrt(3 * 0.0002 / 3)), 3)
    assert between(a, b) is not None and between(a, b).sigma == pytest.approx(0.5 / math.sqrt(2)) and between(b, b) is None


def test_the_prior_finds_one_spread_for_cases_alike_and_few_degrees_of_freedom_for_cases_unlike() -> None:
    rng = random.Random(9)
    alike = [within([[rng.gauss(0, 0.02) for _ in range(3)] for _ in range(2)]) for _ in range(200)]
    prior = fit_prior(alike)
    assert prior is not None and prior.sigma == pytest.approx(0.02, rel=0.15) and prior.df > 30
    unlike = [within([[rng.gauss(0, sd) for _ in range(3)] for _ in range(2)]) for sd in (0.005, 0.05) * 100]
    assert fit_prior(unlike).df < 5
    assert fit_prior(alike[:2]) is None


def test_moderation_weighs_own_and_group_spreads_by_their_degrees_of_freedom_but_keeps_a_far_noisier_case_its_own() -> None:
    group = Spread(0.01, 20)
    assert moderate(Spread(0.08, 4), group) == Spread(0.08, 4)
    quiet = moderate(Spread(0.004, 4), group)
    assert quiet == Spread(pytest.approx(math.sqrt((20 * 0.01**2 + 4 * 0.004**2) / 24)), 24)
    assert moderate(Spread(0.012, 4), Spread(0.01, math.inf)) == Spread(0.01, math.inf)


def test_drift_is_zero_when_blocks_explain_the_changes_and_grows_with_scatter_beyond_them() -> None:
    rng = random.Random(4)
    variance = 0.01**2
    explained = [rng.gauss(0, 0.01) for _ in range(400)]
    assert drift(explained, [variance] * 400) < 0.002
    scattered = [rng.gauss(0, math.sqrt(variance + 0.03**2)) for _ in range(400)]
    assert drift(scattered, [variance] * 400) == pytest.approx(0.03, rel=0.2)
    few_moved = explained[:360] + [0.2] * 40  # a tenth of the cases really moved: the median does not count them
    assert drift(few_moved, [variance] * 400) < 0.006


def test_identical_blocks_claim_no_less_than_the_floor() -> None:
    verdict = judge([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert verdict.sigma == FLOOR and verdict.verdict == "unchanged" and verdict.ratio == 1.0


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
        if bench["extra_info"]["mode"] == "reference":
            continue
        info = bench["extra_info"]
        name = "/".join(str(info[key]) for key in ("family", "case", "size", "dtype", "device")) + "".join(
            f"/{info[key]}{key[0]}" for key in ("replicas", "workers") if info.get(key)
        )
        cases.setdefault(name, {})[info["block"]] = bench["stats"]["median"]
    return {name: [by_block[b] for b in sorted(by_block)] for name, by_block in cases.items()}


def test_the_committed_baseline_runs_flag_nothing_against_each_other() -> None:
    """A/A on every committed baseline (pinned quick runs of this code, back to back): each pair, one run a side."""
    runs = [_block_medians(path) for path in sorted(BASELINES.glob("*.json"))]
    assert len(runs) >= 2 and all(len(run) > 150 and run.keys() == runs[0].keys() for run in runs)
    for first, second in zip(runs, runs[1:]):
        verdicts, _ = judge_cases({name: ([first[name]], [second[name]]) for name in first})
        assert flagged(verdicts) == []


def _pairs(rng: random.Random, cases: dict[str, float], shifts: dict[str, float], pairs: int, spread: float = 0.02,
           against: dict[str, int] | None = None) -> dict:
    """Paired sides as `ab` gives them: each pair one baseline and one current block median per case; `against`: pairs that move the other way."""
    sides = {}
    for name in cases:
        before, after = [], []
        for index in range(pairs):
            change = math.log1p(shifts.get(name, 0.0)) + rng.gauss(0, spread)
            if index < (against or {}).get(name, 0):
                change = -abs(change)
            before.append([1e-5])
            after.append([1e-5 * math.exp(change)])
        sides[name] = (before, after)
    return sides


def test_paired_a_pair_or_two_against_a_clear_four_percent_shift_no_longer_veto_it() -> None:
    rng = random.Random(41)
    cases = steady_cases(40, 0.0)
    moved = list(cases)[:8]
    sides = _pairs(rng, cases, dict.fromkeys(moved, 0.04), 20, spread=0.01, against={moved[0]: 1, moved[1]: 2})
    verdicts, _ = judge_cases(sides, threshold=0.02, alpha=0.02 / 80, paired=True)
    assert flagged(verdicts) == sorted(moved)  # unanimity once let one pair in twenty veto the case


def test_paired_no_change_is_flagged_no_more_often_than_its_level() -> None:
    rng, alarms, judged = random.Random(42), 0, 0
    for _ in range(50):
        verdicts, _ = judge_cases(_pairs(rng, steady_cases(40, 0.0), {}, 12), threshold=0.02, alpha=0.02 / 80, paired=True)
        alarms += len(flagged(verdicts))
        judged += len(verdicts)
    assert alarms <= 1  # a level of 0.00025 per case and direction: 2000 cases expect 1 at most


def test_a_change_past_its_threshold_held_back_by_the_rank_test_says_so_and_is_never_unchanged() -> None:
    # Five pairs: two far one way, three a little the other, the mean still 6% up with a tight moderated spread.
    before = [[1.0]] * 5
    after = [[1.25], [1.25], [0.99], [0.99], [0.99]]
    prior = Spread(0.01, math.inf)
    found = judge(before, after, threshold=0.05, alpha=0.4, prior=prior, paired=True)
    assert found.verdict == "noisy" and found.held_back is not None and found.held_back.startswith("rank test p ")


def test_paired_jobs_add_no_drift_so_a_few_changed_cases_leave_the_others_as_an_aa_job_does() -> None:
    cases = {**steady_cases(28, 0.0, size="scalar"), **steady_cases(28, 0.0, size="1Ki"), **steady_cases(28, 0.0, size="1Mi")}
    aa, _ = judge_cases(_pairs(random.Random(43), cases, {}, 10), threshold=0.02, alpha=0.02 / 168, paired=True)
    moved = list(cases)[::5][:16]
    ab, drifts = judge_cases(_pairs(random.Random(43), cases, dict.fromkeys(moved, 0.04), 10), threshold=0.02, alpha=0.02 / 168, paired=True)
    unchanged = [name for name in cases if name not in moved]
    assert [aa[name].detectable for name in unchanged] == pytest.approx([ab[name].detectable for name in unchanged])
    assert all(ab[name].drift == 0.0 for name in cases) and all(d.omega == 0.0 for d in drifts)
    assert flagged(ab) == sorted(moved)


def test_every_case_four_percent_slower_is_every_case_flagged_paired_and_unpaired() -> None:
    cases = {**steady_cases(28, 0.0, size="scalar"), **steady_cases(28, 0.0, size="1Ki"), **steady_cases(28, 0.0, size="1Mi")}
    paired, drifts = judge_cases(_pairs(random.Random(44), cases, dict.fromkeys(cases, 0.04), 10, spread=0.01), threshold=0.02, alpha=0.02 / 168, paired=True)
    assert flagged(paired) == sorted(cases) and all(paired[name].verdict == "slower" for name in cases)
    assert all(d.shift == pytest.approx(1.04, abs=0.01) for d in drifts)
    rng = random.Random(45)
    unpaired = {name: (blocks(rng, 0.003, n=5), blocks(rng, 0.003, 0.04, n=5)) for name in cases}
    verdicts, _ = judge_cases(unpaired, threshold=0.02, alpha=0.02 / 168)
    assert flagged(verdicts) == sorted(cases)  # a shift common to all is a change of all, not drift to take out


def test_the_robust_drift_leaves_out_the_cases_that_really_changed() -> None:
    from tfvarbench.analysis.spread import robust_drift

    rng = random.Random(46)
    calm = [rng.gauss(0, 0.01) for _ in range(68)]
    changed = [0.04 + rng.gauss(0, 0.01) for _ in range(16)]
    variances = [0.01**2] * 84
    assert robust_drift(calm, variances[:68]) == pytest.approx(drift(calm, variances[:68]), abs=0.003)
    assert robust_drift(calm + changed, variances) < 0.5 * drift(calm + changed, variances) or drift(calm + changed, variances) == 0.0
    assert robust_drift(calm + changed, variances) <= robust_drift(calm, variances[:68]) + 0.003

"""The figure check: the reference op's rounds among the cases against its plain loop, judged per device (analysis/guard.py), in words (render/guard.py)."""
from __future__ import annotations

import math
import random

import pytest

from tfvarbench.analysis.guard import LIMIT, check, median_interval
from tfvarbench.render.guard import guard_lines, guard_sentence


def _entry(device: str, ratio: float, passes: int = 10, block: int = 1, spread: float = 0.02, seed: int = 0, **extra: object) -> dict:
    """A block's guard on this machine's pattern: a speed shared by both series that moves pass to pass, a little noise on each."""
    rng = random.Random(seed)
    case, plain = [], []
    for _ in range(passes):
        speed = 20e-6 * rng.choice([1.0, 1.0, 1.6])  # the machine's fast and slow seconds
        plain.append(speed * math.exp(rng.gauss(0, spread)))
        case.append(speed * ratio * math.exp(rng.gauss(0, spread)))
    return {"block": block, "device": device, "case_s": case, "plain_s": plain, "error": None, **extra}


def test_the_interval_of_a_median_is_the_binomial_order_statistics() -> None:
    values = list(range(1, 31))  # 30 values: the 95% interval is [x_10, x_21]
    assert median_interval(values) == (10, 21)
    assert median_interval(list(range(1, 6))) is None  # five values cannot make a 95% interval
    assert median_interval(list(range(1, 7))) == (1, 6)  # six can, just: 1 - 2 / 64


def test_an_aa_run_never_reads_off_and_a_quiet_one_agrees() -> None:
    offs = 0
    for seed in range(400):
        found = check([_entry("CPU:0", 1.0, block=b, seed=seed * 10 + b) for b in (1, 2, 3)])[0]
        offs += found.verdict == "off"
    assert offs == 0
    quiet = check([_entry("CPU:0", 1.0, block=b, seed=b, spread=0.005) for b in (1, 2, 3)])[0]
    assert quiet.verdict == "agree" and quiet.passes == 30 and quiet.blocks == 3
    assert quiet.low is not None and quiet.high is not None and quiet.low < 1 < quiet.high


@pytest.mark.parametrize("planted", [1.10, 1 / 1.10])
def test_a_planted_ten_percent_either_way_reads_off_by_about_that_much(planted: float) -> None:
    found = check([_entry("CPU:0", planted, block=b, seed=b) for b in (1, 2, 3)])[0]
    assert found.verdict == "off"
    assert found.ratio == pytest.approx(planted, rel=0.02)


def test_a_change_inside_the_limit_is_not_off() -> None:
    found = check([_entry("CPU:0", 1.02, block=b, seed=b, spread=0.005) for b in (1, 2, 3)])[0]
    assert found.verdict == "agree" and found.ratio == pytest.approx(1.02, rel=0.01)


def test_too_few_passes_are_unsure_and_a_failed_guard_says_why() -> None:
    assert check([_entry("CPU:0", 1.3, passes=4)])[0].verdict == "unsure"
    failed = check([_entry("CPU:0", 1.0), {"block": 2, "device": "CPU:0", "error": "its variable holds 3 after 4 calls"}])[0]
    assert failed.verdict == "failed" and failed.error == "its variable holds 3 after 4 calls"
    nothing = check([{"block": 1, "device": "GPU:0", "case_s": [], "plain_s": []}])[0]
    assert nothing.verdict == "failed" and nothing.error == "no rounds were timed"


def test_devices_are_judged_apart_in_the_order_seen() -> None:
    found = check([_entry("CPU:1", 1.0, spread=0.005, passes=30), _entry("CPU:0", 1.15, passes=30)])
    assert [(f.device, f.verdict) for f in found] == [("CPU:1", "agree"), ("CPU:0", "off")]


def test_the_words_say_off_and_failed_at_the_end_of_a_run_and_every_figure_in_the_report() -> None:
    off = check([_entry("CPU:0", 1.10, passes=30)])
    agree = check([_entry("CPU:1", 1.0, passes=30, spread=0.005)])
    failed = check([{"block": 1, "device": "GPU:0", "error": "RuntimeError: no GPU"}])
    assert guard_lines(agree) == []
    [line] = guard_lines(off)
    assert line.startswith(f"figures off: on CPU:0 the reference op read {off[0].ratio:.3g}×") and f"over {100 * LIMIT:.0f}%" in line
    assert guard_lines(failed) == ["figure check failed on GPU:0: RuntimeError: no GPU"]
    sentence = guard_sentence(off + agree)
    assert f"CPU:0 {off[0].ratio:.3g}×" in sentence and f"CPU:1 {agree[0].ratio:.3g}×" in sentence and "plain loop" in sentence
    assert guard_sentence([]) == ""

"""pytest-benchmark's own options in a tfvarbench run: each one honoured, accepted, or refused before anything runs.

tfvarbench times every case itself (calibrated rounds from the --profile budget, a clock that
waits for device work, gc off) and hands pytest-benchmark the finished rounds, so
pytest-benchmark's timing options cannot mean what they mean for an ordinary benchmark. The
README's table of options says what each one does here; this module makes it so.
"""
from __future__ import annotations

import dataclasses

import pytest

from ..measure.cases import Profile

__all__ = ["budget", "check"]

# Each block runs in a process of its own, with its output in a log: these cannot work there.
ONE_PROCESS_ONLY = (
    ("usepdb", "--pdb", "--blocks 1"),
    ("benchmark_compare", "--benchmark-compare", "tfvarbench compare, or --blocks 1"),
    ("benchmark_compare_fail", "--benchmark-compare-fail", "tfvarbench compare, or --blocks 1"),
)


def _given(config: pytest.Config, name: str) -> bool:
    """Whether the user changed pytest-benchmark option `name` from pytest-benchmark's own default.

    Its defaults are strings parsed by the option's type, so they are parsed the same way here.
    """
    from pytest_benchmark.timers import default_timer
    from pytest_benchmark.utils import NameWrapper, parse_seconds

    defaults = {
        "benchmark_min_rounds": 5,
        "benchmark_max_time": parse_seconds("1.0"),
        "benchmark_min_time": parse_seconds("0.000005"),
        "benchmark_timer": str(NameWrapper(default_timer)),
    }
    value = config.getoption(name)
    return (str(value) if name == "benchmark_timer" else value) != defaults[name]


def _can_plot() -> bool:
    """Whether pytest-benchmark's histogram module imports (pygal, pygaljs and what they need)."""
    try:
        import pytest_benchmark.histogram  # noqa: F401
    except ImportError:
        return False
    return True


def check(config: pytest.Config, blocks: int, parent: bool) -> None:
    """Refuse, with one usage line, a pytest-benchmark option this run cannot honour."""
    option = config.option
    if _given(config, "benchmark_timer"):
        # pytest-benchmark's timer would never be read: every round is timed by tfvarbench's clock.
        raise pytest.UsageError(
            f"--benchmark-timer {option.benchmark_timer}: tfvarbench times with its own clock (perf_counter after the"
            " device's queued work is done), which a round needs on a GPU: leave --benchmark-timer out"
        )
    if option.benchmark_histogram and not _can_plot():
        raise pytest.UsageError("--benchmark-histogram needs pygal and pygaljs: pip install 'pytest-benchmark[histogram]'")
    if option.benchmark_compare_fail and not option.benchmark_compare:
        # pytest-benchmark itself says so only after every case has run.
        raise pytest.UsageError("--benchmark-compare-fail needs --benchmark-compare (and --blocks 1), or use tfvarbench compare")
    if blocks > 1 and parent:
        for name, flag, instead in ONE_PROCESS_ONLY:
            if getattr(option, name, None):
                raise pytest.UsageError(f"{flag} needs one process, and --blocks {blocks} runs each block in its own: use {instead}")


def budget(config: pytest.Config, profile: Profile) -> Profile:
    """The profile's time budget, with the pytest-benchmark timing options the user gave.

    --benchmark-min-rounds is a floor on every case's rounds, --benchmark-max-time the time a
    case's rounds aim at (instead of the profile's), --benchmark-min-time a floor on a round's
    length. Left at pytest-benchmark's defaults, the profile decides.
    """
    changes: dict[str, float | int] = {}
    if _given(config, "benchmark_min_rounds"):
        changes["min_rounds"] = max(profile.min_rounds, int(config.getoption("benchmark_min_rounds")))
    if _given(config, "benchmark_max_time"):
        changes["case_s"] = float(config.getoption("benchmark_max_time"))
    if _given(config, "benchmark_min_time"):
        changes["round_s"] = max(profile.round_s, float(config.getoption("benchmark_min_time")))
    return dataclasses.replace(profile, **changes) if changes else profile

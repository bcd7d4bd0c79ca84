"""Options that steady a run's timings (thread pools, a pinned core), applied in every process of the run and recorded.

`--threads 1,2` makes the thread count an axis: every case runs once per count, each count in block
processes of its own (a thread pool is sized before TensorFlow starts and cannot change after).
"""
from __future__ import annotations

import argparse

import pytest

SETTINGS = pytest.StashKey[dict]()
THREADS = pytest.StashKey[list]()  # the thread counts of the run: [None] for TensorFlow's default
CHILD_THREADS = pytest.StashKey[int]()  # set in a block's process of a run over several thread counts


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfvarbench")
    group.addoption(
        "--threads",
        default=None,
        metavar="N[,N...]",
        help="TensorFlow's intra- and inter-op thread pools; a list (1,2) runs every case at each count,"
        " in processes of their own (default: TensorFlow's, one per core)",
    )
    group.addoption("--tfvarbench-threads", type=int, default=None, help=argparse.SUPPRESS)  # a block's own count
    group.addoption(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep each block's process on one core, so the scheduler cannot move it mid-round (default: off)",
    )


def thread_counts(spec: str | None) -> list[int | None]:
    """The counts `--threads` names, in order, without repeats; raises pytest.UsageError naming the bad one."""
    if spec is None:
        return [None]
    counts: list[int | None] = []
    for part in spec.split(","):
        try:
            count = int(part)
        except ValueError:
            raise pytest.UsageError(f"--threads {spec}: {part.strip()!r} is not a whole number") from None
        if count < 1:
            raise pytest.UsageError(f"--threads {part.strip()}: must be at least 1")
        if count not in counts:
            counts.append(count)
    return counts


def pytest_configure(config: pytest.Config) -> None:
    if config.option.help:
        return
    counts = thread_counts(config.getoption("threads"))
    config.stash[THREADS] = counts
    own = config.getoption("tfvarbench_threads")
    if own is not None:
        config.stash[CHILD_THREADS] = own
    # A process of several counts times nothing itself (its blocks do): it sizes no pool.
    threads = own if own is not None else counts[0] if len(counts) == 1 else None
    from ..measure.settings import apply
    from ..measure.turns import begin

    try:
        turns = begin()  # a block of `tfvarbench ab` waits here for its first turn, before TensorFlow starts
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    settings = apply(threads, config.getoption("pin"))
    if turns is not None:  # its rounds pair with the other side's block's, round by round (analysis/pairs.py)
        settings["turns"] = True
        # Which of the pair went first, and which pair (`compare` pairs the blocks again by it): not settings two runs must share.
        settings.update(turn=turns.lead, pair=turns.shared.stem if turns.shared else None)
    if len(counts) > 1:
        settings["threads"] = counts  # the run's counts, so two runs over the same list compare
    config.stash[SETTINGS] = settings


def settings_of(config: pytest.Config) -> dict:
    """The settings in force in this process, for the run's machine info."""
    return config.stash.get(SETTINGS, {})

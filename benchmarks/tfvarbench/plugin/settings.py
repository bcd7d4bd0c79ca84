"""Options that steady a run's timings (thread pools, a pinned core), applied in every process of the run and recorded."""
from __future__ import annotations

import argparse

import pytest

SETTINGS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfvarbench")
    group.addoption(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="TensorFlow's intra- and inter-op thread pools (default: TensorFlow's, one per core)",
    )
    group.addoption(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep each block's process on one core, so the scheduler cannot move it mid-round (default: off)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.option.help:
        return
    threads = config.getoption("threads")
    if threads is not None and threads < 1:
        raise pytest.UsageError(f"--threads {threads}: must be at least 1")
    from ..measure.settings import apply

    config.stash[SETTINGS] = apply(threads, config.getoption("pin"))


def settings_of(config: pytest.Config) -> dict:
    """The settings in force in this process, for the run's machine info."""
    return config.stash.get(SETTINGS, {})

"""The suite's command-line options, and the session they configure: devices, profile, blocks, saving, and settings that steady a run.

The settings (thread pools, a pinned core) are applied in every process of the run and recorded:
`--threads 1,2` makes the thread count an axis, every case run once per count, each count in block
processes of its own (a thread pool is sized before TensorFlow starts and cannot change after).
pytest-benchmark's own options are bench_options.py's: what each means here is its own concern.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from ..measure import hardware
from ..measure.devices import DeviceError, select
from ..measure.limits import count_problem
from ..measure.cases import PROFILES
from .bench_options import budget, check
from ..runs import writable_problem
from .state import BLOCKS, CHILD_BLOCK, CHILD_THREADS, PRESENT, PROFILE, RESULTS, SAVE_TAG, SELECTED, SETTINGS, THREADS, runs_benchmarks


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tfvarbench", "tfvarbench: devices and size grid")
    group.addoption(
        "--devices",
        default="all",
        metavar="SPEC",
        help="devices to benchmark: comma list of all, cpu, gpu or names such as CPU:0, GPU:1 (default: all)",
    )
    group.addoption(
        "--logical-cpus",
        type=int,
        default=1,
        metavar="N",
        help="split the CPU into N logical devices before TensorFlow starts (default: 1)",
    )
    group.addoption(
        "--profile",
        choices=sorted(PROFILES),
        default="quick",
        help="size/dtype grid and time budget: quick (about 2 minutes), full (about 20 minutes on two cores: float32 at every size,"
        " other dtypes at scalar, 1Ki and 1Mi) or full+ (the whole grid) (default: quick)",
    )
    group.addoption(
        "--blocks",
        type=int,
        default=None,
        metavar="N",
        help="time the cases in N blocks, each a fresh process, so a comparison sees how much a case varies from"
        " process to process (default: the profile's, 3 quick, 5 full; 1 under --benchmark-disable)",
    )
    group.addoption(
        "--block-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop a block's process that runs longer than this, and save nothing (default: no bound)",
    )
    # Set by the parent for each block's process (tfvarbench.measure.blocks); not for users.
    group.addoption("--tfvarbench-block", type=int, default=None, help=argparse.SUPPRESS)
    group.addoption("--tfvarbench-out", default=None, help=argparse.SUPPRESS)
    group.addoption(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="worker processes for the multi-worker family, on 127.0.0.1 (default: 2)",
    )
    group.addoption(
        "--results",
        default=None,
        metavar="DIR",
        help="where benchmark runs are saved and their tables written (default: results/ in the repo)",
    )
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


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.option.help:
        return
    _session(config)
    _steady(config)


def _session(config: pytest.Config) -> None:
    """The devices, profile and blocks of the run, and where it is saved."""
    logical_cpus = config.getoption("logical_cpus")
    problem = count_problem(logical_cpus, config.getoption("workers"))
    if problem:  # before TensorFlow loads: building a thousand devices takes minutes
        raise pytest.UsageError(problem)
    try:
        # The devices are named from the physical list, never by listing logical devices: that would
        # start TensorFlow's runtime here, and in the parent of a blocked run (which times nothing)
        # it would hold nearly all of every GPU's memory while the blocks' processes need it.
        present = hardware.logical_names(hardware.physical_devices(), logical_cpus)
        # Configuring starts nothing, so every process does it before anything could start the
        # runtime: a block's process, a --blocks 1 run and a test session all time or test here.
        hardware.prepare_runtime(logical_cpus)
        selected = select(config.getoption("devices"), present)
    except (DeviceError, hardware.HardwareError) as error:
        raise pytest.UsageError(str(error)) from None
    if not selected:
        raise pytest.UsageError(f"--devices {config.getoption('devices')} selects none of: {', '.join(present)}")
    config.stash[PRESENT] = present
    config.stash[SELECTED] = selected
    profile = PROFILES[config.getoption("profile")]
    if config.getoption("workers") < 1:
        raise pytest.UsageError(f"--workers must be at least 1, got {config.getoption('workers')}")
    blocks = config.getoption("blocks")
    if blocks is not None and blocks < 1:
        raise pytest.UsageError(f"--blocks {blocks}: must be at least 1")
    timeout = config.getoption("block_timeout")
    if timeout is not None and not timeout > 0:
        raise pytest.UsageError(f"--block-timeout {timeout:g}: must be a positive number of seconds")
    if blocks is None:  # a correctness run (--benchmark-disable) needs each case once
        blocks = 1 if config.getoption("benchmark_disable") else profile.blocks
    config.stash[BLOCKS] = blocks
    config.stash[PROFILE] = budget(config, profile)
    child_block = config.getoption("tfvarbench_block")
    check(config, blocks, parent=runs_benchmarks(config) and child_block is None)
    results = Path(config.getoption("results") or config.rootpath / "results").resolve()
    config.stash[RESULTS] = results

    option = config.option
    if child_block is not None:
        # One block of a run, in its own process: run, write reports and JSON for the parent, save nothing.
        from .runner import start_child

        config.stash[CHILD_BLOCK] = child_block
        option.benchmark_save = option.benchmark_autosave = None
        option.benchmark_histogram = None  # the parent makes it from the merged run
        start_child(config, Path(config.getoption("tfvarbench_out")), child_block)
        return

    if not runs_benchmarks(config):
        return
    # A run of the suite is always saved with its rounds (compare, the report and the blocks' merge
    # need them), into --results unless --benchmark-storage says where; --benchmark-json alone saves
    # only that file.
    option.benchmark_save_data = True
    if not (option.benchmark_save or option.benchmark_autosave or option.benchmark_json):
        from pytest_benchmark.utils import get_tag

        option.benchmark_autosave = get_tag()
    save = option.benchmark_save or option.benchmark_autosave
    if not save or config.getoption("benchmark_disable"):  # a correctness run saves nothing
        return
    if option.benchmark_storage == "file://./.benchmarks":
        option.benchmark_storage = f"file://{results}"
    config.stash[SAVE_TAG] = save
    storage_dir = Path(option.benchmark_storage[len("file://"):]).resolve() if option.benchmark_storage.startswith("file://") else None
    if option.benchmark_compare and storage_dir is not None and not storage_dir.is_relative_to(Path.cwd()):
        # pytest-benchmark names compared runs relative to the current folder and fails on any other.
        raise pytest.UsageError(f"--benchmark-compare reads saved runs only under the current folder, not {storage_dir}: use tfvarbench compare")
    # Checked before any block runs: a run that cannot be saved would be timed for nothing.
    storage = option.benchmark_storage
    folders = {"--results": results}
    if storage.startswith("file://") and Path(storage[len("file://"):]).resolve() != results:
        folders["--benchmark-storage"] = Path(storage[len("file://"):]).resolve()
    for flag, folder in folders.items():
        problem = "is a file, not a folder" if folder.is_file() else writable_problem(folder)
        if problem:
            raise pytest.UsageError(f"{flag} {folder}: cannot save the run there: {problem}")


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


def _steady(config: pytest.Config) -> None:
    """--threads and --pin, applied in every process of the run (and taking turns in a block of `tfvarbench ab`) and recorded."""
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

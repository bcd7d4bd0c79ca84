"""pytest wiring for tfvarbench: options, device parametrisation, and hooks that call the harness."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

# TensorFlow's C++ start-up chatter (oneDNN notes, CUDA probing) would bury pytest's own output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# `pytest-benchmark compare` loads this file without pytest's ini `pythonpath`; find the harness anyway.
_HARNESS = str(Path(__file__).resolve().parent / "benchmarks")
if _HARNESS not in sys.path:
    sys.path.insert(0, _HARNESS)

from tfvarbench import devices as tfv_devices  # noqa: E402
from tfvarbench.cases import PROFILES, Profile, Unsupported  # noqa: E402

_SELECTED = pytest.StashKey[list]()
_PRESENT = pytest.StashKey[list]()
_PROFILE = pytest.StashKey[Profile]()
_RESULTS = pytest.StashKey[Path]()
_SAVE_TAG = pytest.StashKey[str]()
_REPORT = pytest.StashKey[list]()
_BLOCKS = pytest.StashKey[int]()
_CHILD_BLOCK = pytest.StashKey[int]()


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
        help="size/dtype grid and time budget: quick or full (default: quick)",
    )
    group.addoption(
        "--blocks",
        type=int,
        default=None,
        metavar="N",
        help="time the cases in N blocks, each a fresh process, so a comparison sees how much a case varies from"
        " process to process (default: the profile's, 3 quick, 5 full; 1 under --benchmark-disable)",
    )
    # Set by the parent for each block's process (tfvarbench.blocks); not for users.
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


def _runs_benchmarks(config: pytest.Config) -> bool:
    """Whether this session was asked to run the suite under benchmarks/ (only those runs are saved)."""
    bench_dir = (config.rootpath / "benchmarks").resolve()
    for arg in config.args:
        target = Path(arg.split("::")[0]).resolve()
        if target == bench_dir or bench_dir in target.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.option.help:
        return
    try:
        tfv_devices.configure(config.getoption("logical_cpus"))
        present = tfv_devices.available()
        selected = tfv_devices.select(config.getoption("devices"), present)
    except tfv_devices.DeviceError as error:
        raise pytest.UsageError(str(error)) from None
    if not selected:
        raise pytest.UsageError(f"--devices {config.getoption('devices')} selects none of: {', '.join(present)}")
    config.stash[_PRESENT] = present
    config.stash[_SELECTED] = selected
    config.stash[_PROFILE] = PROFILES[config.getoption("profile")]
    blocks = config.getoption("blocks")
    if blocks is not None and blocks < 1:
        raise pytest.UsageError(f"--blocks {blocks}: must be at least 1")
    if blocks is None:  # a correctness run (--benchmark-disable) needs each case once
        blocks = 1 if config.getoption("benchmark_disable") else config.stash[_PROFILE].blocks
    config.stash[_BLOCKS] = blocks
    if blocks > 1 and _runs_benchmarks(config) and config.getoption("tfvarbench_block") is None:
        # Each block runs in a process of its own, with its output in a log: these cannot work there.
        for name, flag, instead in (
            ("usepdb", "--pdb", "--blocks 1"),
            ("benchmark_compare", "--benchmark-compare", "tfvarbench compare, or --blocks 1"),
            ("benchmark_compare_fail", "--benchmark-compare-fail", "tfvarbench compare, or --blocks 1"),
        ):
            if getattr(config.option, name, None):
                raise pytest.UsageError(f"{flag} needs one process, and --blocks {blocks} runs each block in its own: use {instead}")
    results = Path(config.getoption("results") or config.rootpath / "results").resolve()
    config.stash[_RESULTS] = results

    option = config.option
    child_block = config.getoption("tfvarbench_block")
    if child_block is not None:
        # One block of a run, in its own process: run, write reports and JSON for the parent, save nothing.
        from tfvarbench.blocks import ReportWriter

        config.stash[_CHILD_BLOCK] = child_block
        option.benchmark_save = option.benchmark_autosave = None
        folder = Path(config.getoption("tfvarbench_out"))
        config.pluginmanager.register(_ChildReports(ReportWriter(config, folder / f"block-{child_block}.reports")), "tfvarbench-child-reports")
        return

    # Runs of the suite are saved with their raw rounds, unless the user chose where and how.
    if _runs_benchmarks(config) and not (option.benchmark_save or option.benchmark_autosave or option.benchmark_json):
        from pytest_benchmark.utils import get_tag

        option.benchmark_autosave = get_tag()
        option.benchmark_save_data = True
        if option.benchmark_storage == "file://./.benchmarks":
            option.benchmark_storage = f"file://{results}"
        config.stash[_SAVE_TAG] = option.benchmark_autosave


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise every family test over its variants x sizes x dtypes x devices."""
    if "case" not in metafunc.fixturenames:
        return
    family = getattr(metafunc.module, "family", None)
    if family is None:
        raise pytest.UsageError(f"{metafunc.module.__name__} asks for 'case' but defines no module-level `family`")
    profile: Profile = metafunc.config.stash[_PROFILE]
    grid = [pytest.param(case, size, dtype, id=f"{case.name}-{size}-{dtype}") for case, size, dtype in family.grid(profile)]
    metafunc.parametrize(("case", "size", "dtype"), grid)
    placements = [
        pytest.param(device, id=device, marks=[pytest.mark.skip(reason=reason)] if reason else [])
        for device, reason in family.devices(metafunc.config.stash[_SELECTED])
    ]
    metafunc.parametrize("device", placements)
    blocks = metafunc.config.stash[_BLOCKS]
    metafunc.parametrize("block", range(1, blocks + 1), ids=[f"block{n}" for n in range(1, blocks + 1)])


class _ChildReports:
    """In a block's process: hand every test report to the parent."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.writer.write(report)

    def pytest_unconfigure(self) -> None:
        self.writer.close()


def _block(item: pytest.Item) -> int | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("block") if callspec is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every benchmark reads a clock that first waits for device work, and runs with gc off.
    from tfvarbench.timing import synced_clock

    for item in items:
        if "case" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.benchmark(timer=synced_clock, disable_gc=True))
    child_block = config.stash.get(_CHILD_BLOCK, None)
    if child_block is not None:  # a block's process runs its own block (and block 1 anything unblocked)
        keep = lambda item: _block(item) == child_block or (_block(item) is None and child_block == 1)
        others = [item for item in items if not keep(item)]
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = [item for item in items if keep(item)]


def _blocks_to_run(session: pytest.Session) -> list[int]:
    """The blocks this process must run in fresh processes, as their parent; [] when it runs its items itself.

    Only a selection holding benchmark cases is run in blocks (harness tests run in this process),
    and only blocks that hold selected items are started; anything unblocked runs in block 1.
    """
    config = session.config
    if config.stash.get(_BLOCKS, 1) == 1 or _CHILD_BLOCK in config.stash or config.option.collectonly:
        return []
    if not any(_block(item) is not None for item in session.items):
        return []
    return sorted({_block(item) or 1 for item in session.items})


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """The parent of a run in blocks runs each block in a fresh process, then saves their merged run."""
    config = session.config
    blocks = _blocks_to_run(session)
    if not blocks:
        return None
    import tempfile

    from tfvarbench.blocks import BlockFailed, merge_saved, run_blocks

    bench_session = config._benchmarksession
    save, json_out = bench_session.save or bench_session.autosave, bench_session.json
    # This process times nothing itself: its pytest-benchmark session has nothing of its own to save.
    bench_session.save = bench_session.autosave = bench_session.json = None
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def write(line: str, **markup: bool) -> None:
        if reporter is None:
            print(f"tfvarbench: {line}")
            return
        reporter.ensure_newline()
        if reporter._tw.width_of_current_line:  # after -q's progress dots, which ensure_newline does not end
            reporter._tw.line()
        reporter.write_line(f"tfvarbench: {line}", **markup)

    with tempfile.TemporaryDirectory(prefix="tfvarbench-blocks-") as folder:
        try:
            saved = run_blocks(session, blocks, config.stash[_BLOCKS], Path(folder), write)
        except BlockFailed as error:  # a run missing a block would be half a run: save nothing
            write(f"nothing saved: {error}", red=True)
            session.testsfailed += 1
            return True
        merged = merge_saved(saved)
        if merged is not None and save:
            write(f"the blocks' cases merged into one run ({len(saved)} of {len(blocks)} blocks saved cases)")  # and ends the progress line the storage's log would join
            bench_session.storage.save(merged, save)
        if merged is not None and json_out is not None:
            with json_out as out:
                out.write(json.dumps(merged, indent=1).encode())
    return True


@pytest.fixture
def measured_case(benchmark: Any, case: Any, device: str, size: str, dtype: str, block: int, request: pytest.FixtureRequest) -> dict:
    """The case built on `device`, timed, and verified; its record (also in benchmark.extra_info)."""
    from tfvarbench.run import run_case

    benchmark.group = f"{case.family}: {case.name} {size} {dtype}"
    try:
        return run_case(benchmark, case, device, size, dtype, request.config.stash[_PROFILE], block)
    except Unsupported as reason:
        benchmark.skipped = True
        pytest.skip(str(reason))
    except BaseException:
        _mark_used(benchmark, "failed before timing")
        raise


def _mark_used(benchmark: Any, how: str) -> None:
    """Tell pytest-benchmark the fixture was dealt with, so it adds no "fixture was not used" warning.

    It has no public way to say so; its own mode attribute is what it checks.
    """
    if not benchmark._mode:  # noqa: SLF001
        benchmark._mode = how  # noqa: SLF001


@pytest.fixture(scope="session")
def worker_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every multi-worker case, run once per session by --workers processes; keyed by (case, size, dtype)."""
    from tfvarbench.workers import PortsUnavailable, WorkerFailed, WorkerGroup

    config = request.config
    module = config.rootpath / "benchmarks" / "bench_mirrored.py"
    timed = not config._benchmarksession.disabled  # under --benchmark-disable, each case runs once
    group = WorkerGroup(
        config.getoption("workers"), module, config.getoption("profile"), tmp_path_factory.mktemp("workers"), WORKER_TIMEOUT_S, timed,
        config.stash.get(_CHILD_BLOCK, 1),
    )
    request.addfinalizer(group.stop)
    try:
        per_worker = group.run()
    except PortsUnavailable as error:
        return {"skip": str(error)}
    except WorkerFailed as error:
        return {"failed": str(error)}
    return {"workers": per_worker}


# A worker group that has not finished by then is killed and its cases fail with its log tail.
WORKER_TIMEOUT_S = 600.0


@pytest.fixture
def worker_case(benchmark: Any, case: Any, device: str, size: str, dtype: str, block: int, worker_results: dict) -> dict:
    """A multi-worker case: the chief worker's rounds, reported through the benchmark fixture."""
    from tfvarbench.workers import report_case

    benchmark.group = f"{case.family}: {case.name} {size} {dtype}"
    _mark_used(benchmark, "measured in worker processes")
    if "skip" in worker_results:
        pytest.skip(f"multi-worker cases need loopback ports: {worker_results['skip']}")
    if "failed" in worker_results:
        pytest.fail(f"the worker group failed, so {case.name} has no result: {worker_results['failed']}", pytrace=False)
    return report_case(benchmark, case, size, dtype, block, worker_results["workers"])


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    from tfvarbench.machine import collect

    machine_info["tfvarbench"] = collect(
        config.stash[_SELECTED], config.getoption("logical_cpus"), config.getoption("profile")
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After pytest-benchmark saved the run, write its tables from the saved file."""
    config = session.config
    tag = config.stash.get(_SAVE_TAG, None)
    if tag is None:
        return
    bench_session = config._benchmarksession  # pytest-benchmark's documented plugin object
    saved = sorted(Path(bench_session.storage.path).glob(f"*/*_{tag}.json")) + sorted(
        Path(bench_session.storage.path).glob(f"*_{tag}.json")
    )
    if not saved:
        return
    from tfvarbench.report import write_report
    from tfvarbench.results import RunError, load_run

    try:
        run = load_run(saved[-1])
    except RunError as error:  # every case skipped or failed: nothing to tabulate
        config.stash[_REPORT] = [f"no tables written: {error}"]
        return
    out = config.stash[_RESULTS] / "reports" / run.run_id
    written = write_report([run], out)  # the same code as `tfvarbench report`, from the saved file
    tables = ", ".join(p.name for p in written if p.suffix in (".md", ".csv"))
    # The run's device comparison, one row per case, is what a run is for: print it here too.
    comparison = [line for line in (out / "comparison.md").read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    config.stash[_REPORT] = [
        *comparison, "", f"saved run: {saved[-1]}", f"tables: {out}/ ({tables})", f"report: {out / 'index.html'}"
    ]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    present = config.stash.get(_PRESENT, None)
    if present is None:
        return
    lines = list(config.stash.get(_REPORT, []))
    if not any(tfv_devices.kind(name) == "GPU" for name in present):
        selected = ", ".join(config.stash[_SELECTED])
        lines.insert(0, f"no GPU visible to TensorFlow: ran on {selected} only")
    if lines:
        terminalreporter.write_sep("-", "tfvarbench")
        for line in lines:
            terminalreporter.write_line(line)

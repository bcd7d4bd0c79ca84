"""A run in blocks, from pytest's side: the parent runs each block in a fresh process and saves their merged run.

The processes themselves (starting, replaying reports, stopping) are tfvarbench.measure.blocks.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ..measure.blocks import BlockFailed, ReportWriter, block_name, merge_saved, run_blocks, write_json
from ..measure.progress import Estimate, ProgressLine
from .spent import block_spans
from .state import BLOCKS, CHILD_BLOCK, PROGRESS, SAVE_FAILED, THREADS, benchmark_session, block_of, threads_of

__all__ = ["start_child"]


class _ChildReports:
    """In a block's process: hand every test report to the parent."""

    def __init__(self, writer: ReportWriter) -> None:
        self.writer = writer

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.writer.write(report)

    def pytest_warning_recorded(self, warning_message: Any, when: str, nodeid: str) -> None:
        self.writer.write_warning(warning_message, when, nodeid)

    def pytest_unconfigure(self) -> None:
        self.writer.close()


def start_child(config: pytest.Config, folder: Path, block: int) -> None:
    """In block `block`'s own process: report every test to the parent through `folder`."""
    writer = ReportWriter(config, folder / f"{block_name(block, config.getoption('tfvarbench_threads'))}.reports")
    config.pluginmanager.register(_ChildReports(writer), "tfvarbench-child-reports")
    config.stash[PROGRESS] = writer.progress  # a batch's steps, for the parent's progress line


def _blocks_to_run(session: pytest.Session) -> list[tuple[int, int | None]]:
    """The (block, thread count) processes this one must start, as their parent; [] when it runs its items itself.

    Only a selection holding benchmark cases is run in blocks (harness tests run in this process),
    and only blocks that hold selected items are started; anything unblocked runs in block 1. A run
    over several thread counts starts a process per block and count, even of a single block: a
    process's pools are sized once, before TensorFlow starts.
    """
    config = session.config
    several = len(config.stash.get(THREADS, [None])) > 1
    if (config.stash.get(BLOCKS, 1) == 1 and not several) or CHILD_BLOCK in config.stash or config.option.collectonly:
        return []
    if not any(block_of(item) is not None for item in session.items):
        return []
    counts = config.stash.get(THREADS, [None])
    # Blocks in order, each block's counts in the order given: a count's blocks are spread over the run like the cases'.
    return sorted({(block_of(item) or 1, threads_of(item)) for item in session.items}, key=lambda pair: (pair[0], counts.index(pair[1]) if pair[1] in counts else 0))


def _writer(config: pytest.Config) -> Any:
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def write(line: str, **markup: bool) -> None:
        if reporter is None:
            print(f"tfvarbench: {line}")
            return
        reporter.ensure_newline()
        # -q's progress dots leave the line open and ensure_newline does not end it; only the
        # terminal writer knows the width of the current line (no public way to ask).
        if reporter._tw.width_of_current_line:  # noqa: SLF001
            reporter._tw.line()  # noqa: SLF001
        reporter.write_line(f"tfvarbench: {line}", **markup)

    return write


def _progress(session: pytest.Session, blocks: list[int], total: int) -> tuple[Estimate, ProgressLine]:
    """The run's estimate, and its line: rewritten in place on a terminal, plain lines in a log or pipe."""
    counts = dict.fromkeys(blocks, 0)
    for item in session.items:
        if (block_of(item) or 1) in counts:
            counts[block_of(item) or 1] += 1
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return Estimate(counts, total=total), ProgressLine(lambda text: print(text, end="", flush=True), terminal=False)
    terminal = bool(getattr(reporter, "isatty", False)) and reporter._tw.hasmarkup  # noqa: SLF001 (no public way to ask)
    prefix = "" if terminal else "tfvarbench: "
    return Estimate(counts, total=total), ProgressLine(lambda text: reporter.write(text if text.startswith(("\r", "\n")) else prefix + text, flush=True), terminal)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """The parent of a run in blocks runs each block in a fresh process, then saves their merged run."""
    config = session.config
    blocks = _blocks_to_run(session)
    if not blocks:
        _saving_whole(config)  # this process times the cases: pytest-benchmark saves them, whole or not at all
        return None
    bench_session = benchmark_session(config)
    save, json_out = bench_session.save or bench_session.autosave, bench_session.json
    # This process times nothing itself: its pytest-benchmark session has nothing of its own to save.
    bench_session.save = bench_session.autosave = bench_session.json = None
    write = _writer(config)
    progress = _progress(session, sorted({block for block, _ in blocks}), config.stash[BLOCKS])
    with tempfile.TemporaryDirectory(prefix="tfvarbench-blocks-") as folder:
        try:
            saved = run_blocks(session, blocks, config.stash[BLOCKS], Path(folder), write, progress, config.getoption("block_timeout"))
        except BlockFailed as error:  # a run missing a block would be half a run: save nothing
            write(f"nothing saved: {error}", red=True)
            session.testsfailed += 1
            return True
        merged = merge_saved(saved)
        if merged is not None:
            merged["machine_info"].setdefault("tfvarbench", {})["time_spent"] = {"blocks": block_spans(Path(folder), [block for block, _ in blocks], progress[0].walls)}
    if merged is None:
        return True
    if _asked_for_tables(config):  # otherwise the run ends with tfvarbench's short summary, not 500 rows
        _show(config, bench_session, merged)
    try:
        if save:
            write(f"the blocks' cases merged into one run ({len(saved)} of {len(blocks)} blocks saved cases)")  # and ends the progress line the storage's log would join
            _save(bench_session.storage, merged, save)
        if json_out is not None:
            write_json(json_out, merged)
    except OSError as error:  # a folder that went away or filled up since the run started
        write(f"run not saved: cannot write {error.filename or 'the run'}: {error.strerror or error}", red=True)
        session.testsfailed += 1
    return True


def _saving_whole(config: pytest.Config) -> None:
    """pytest-benchmark writes its --benchmark-json and its saved run by opening the file and writing into it, so a full
    disk leaves half a run there (an `ab` block's would then be read as damaged). Both go through a temporary file and a
    rename instead; a write that fails is one line at the end of the run (plugin/summary.py), not a traceback."""
    from pytest_benchmark.storage.file import FileStorage
    from pytest_benchmark.utils import safe_dumps

    bench = benchmark_session(config)

    def guarded(what: str, write: Any) -> Any:
        def guarded_write(output: dict[str, Any], *args: Any) -> None:
            try:
                write(json.loads(safe_dumps(output)), *args)  # its values as pytest-benchmark writes them (a date as text)
            except OSError as error:
                failed = config.stash.setdefault(SAVE_FAILED, {})
                failed[what] = f"{what} not saved: cannot write {error.filename or 'it'}: {error.strerror or error}"
        return guarded_write

    bench.save_json = guarded("--benchmark-json", lambda output: write_json(bench.json, output))
    if isinstance(bench.storage, FileStorage):  # another storage (elasticsearch) writes no file here
        bench.storage.save = guarded("run", lambda output, tag: _save(bench.storage, output, tag))


def _save(storage: Any, run: dict[str, Any], tag: str) -> None:
    """Save `run` where pytest-benchmark's storage.save() would, whole or not at all."""
    from ..runs.files import atomic_write

    # The next number and the machine's folder, as storage.save() names its file (no public way to ask).
    target = storage.get(f"{storage._next_num}_{tag}.json")  # noqa: SLF001
    atomic_write(target, json.dumps(run, indent=4))
    storage.logger.info(f"Saved benchmark data in: {target}")


# pytest-benchmark's options that shape its own table, histogram or profile lists.
TABLE_OPTIONS = ("--benchmark-columns", "--benchmark-sort", "--benchmark-group-by", "--benchmark-name", "--benchmark-histogram", "--benchmark-cprofile")


def _asked_for_tables(config: pytest.Config) -> bool:
    """Whether the user asked for pytest-benchmark's own tables, by giving one of the options that shape them."""
    return any(arg.split("=", 1)[0] in TABLE_OPTIONS for arg in config.invocation_params.args)


def _show(config: pytest.Config, bench_session: Any, run: dict[str, Any]) -> None:
    """Give pytest-benchmark the merged run's cases, so its table, histogram and cProfile lists show every block.

    They are flattened as pytest-benchmark flattens a saved run for its own compare command, and
    grouped by its hook, so --benchmark-columns, -sort, -group-by, -name and -histogram apply.
    """
    flat = []
    for bench in run["benchmarks"]:
        bench = {**bench, **bench["stats"], "path": None, "source": None}
        del bench["stats"]
        flat.append(bench)
    bench_session.groups = config.hook.pytest_benchmark_group_stats(config=config, benchmarks=flat, group_by=bench_session.group_by)

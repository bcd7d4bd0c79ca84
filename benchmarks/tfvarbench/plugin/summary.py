"""What a run leaves besides its test results: machine facts in the saved run, its report, and the closing lines."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .params import not_run
from .state import CHILD_BLOCK, GUARD_LOG, PRESENT, REPORT, RESULTS, SAVE_FAILED, SAVE_TAG, SELECTED, benchmark_session

# The end of a run is read on a terminal: every tfvarbench line, its separator included, fits in this many.
SUMMARY_LINES = 12
HEADING = "tfvarbench: what to use on this machine"


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    from ..measure.machine import collect

    from .options import settings_of

    machine_info["tfvarbench"] = collect(config.stash[SELECTED], config.getoption("logical_cpus"), config.getoption("profile"))
    machine_info["tfvarbench"]["settings"] = settings_of(config)
    machine_info["tfvarbench"]["guard"] = config.stash.get(GUARD_LOG, [])  # the reference op as a case and as a plain loop, per batch


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After pytest-benchmark saved the run, write its report from the saved file."""
    config = session.config
    failed = config.stash.get(SAVE_FAILED, {})
    if failed:
        # A block's process that could not write its JSON fails as a crash would: its parent then saves nothing (BlockFailed).
        worse = pytest.ExitCode.INTERNAL_ERROR if CHILD_BLOCK in config.stash else pytest.ExitCode.TESTS_FAILED
        session.exitstatus = worse if session.exitstatus == pytest.ExitCode.OK else session.exitstatus
        config.stash[REPORT] = list(failed.values())
        if "run" in failed:
            return
    tag = config.stash.get(SAVE_TAG, None)
    if tag is None:
        return
    storage = Path(benchmark_session(config).storage.path)
    saved = sorted(storage.glob(f"*/*_{tag}.json")) + sorted(storage.glob(f"*_{tag}.json"))
    if not saved:
        return
    from ..render.report import write_report
    from ..runs import RunError, load_run

    try:
        run = load_run(saved[-1])
    except RunError as error:  # every case skipped or failed: nothing to tabulate
        config.stash[REPORT] = [f"no tables written: {error}"]
        return
    out = config.stash[RESULTS] / "reports" / run.run_id
    try:
        report = write_report([run], out)  # the same code as `tfvarbench report`, from the saved file
    except OSError as error:  # the disk filled or turned read-only after the run was saved: the run stays, whole
        config.stash[REPORT] = [f"saved run: {saved[-1]}", f"report not written: {error.filename or out}: {error.strerror or error}"
                                f" (`tfvarbench report {saved[-1]} --out DIR` writes it elsewhere)"]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED if session.exitstatus == pytest.ExitCode.OK else session.exitstatus
        return
    room = SUMMARY_LINES - 1 - len(gpu_note(config)) - len(not_run(config)) - len(failed)  # the separator, the GPU note and what was not run come first
    config.stash[REPORT] = [*failed.values(), *closing_lines(report, saved[-1], out, room)]


def closing_lines(report: Any, saved: Path, out: Path, max_lines: int = SUMMARY_LINES - 1) -> list[str]:
    """What a run is for, in at most `max_lines`: the traps and the jobs whose fastest way is not the
    common idiom, one line each with devices merged, then where the run and its report went.

    The tables stay in the report: printed, they scrolled the answer off the screen.
    """
    from ..render import glance
    from ..render.guard import guard_lines

    tables = [name for name in report.files if name.endswith((".md", ".csv")) and name != "summary.md"]
    where = [f"saved run: {saved}", f"report: {out / 'index.html'} (summary.md and {len(tables)} more tables beside it)"]
    checked = guard_lines(report.checks)
    return [*checked, *glance.short(report.answer, max_lines - len(where) - len(checked)), *where]


def gpu_note(config: pytest.Config) -> list[str]:
    """A line saying no GPU was seen, when none was (empty when one was, or before devices were named)."""
    from ..measure.devices import kind

    present = config.stash.get(PRESENT, None)
    if present is None or any(kind(name) == "GPU" for name in present):
        return []
    return [f"no GPU visible to TensorFlow: ran on {', '.join(config.stash[SELECTED])} only"]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.stash.get(PRESENT, None) is None:
        return
    lines = gpu_note(config) + not_run(config) + list(config.stash.get(REPORT, []))
    if lines:
        terminalreporter.write_sep("-", HEADING if config.stash.get(REPORT, None) else "tfvarbench")
        for line in lines:
            terminalreporter.write_line(line)

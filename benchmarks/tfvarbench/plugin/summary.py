"""What a run leaves besides its test results: machine facts in the saved run, its report, and the closing lines."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .state import PRESENT, REPORT, RESULTS, SAVE_TAG, SELECTED, benchmark_session

# The end of a run is read on a terminal: the short summary gets about a screenful at most.
SUMMARY_LINES = 20


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    from ..measure.machine import collect

    from .settings import settings_of

    machine_info["tfvarbench"] = collect(config.stash[SELECTED], config.getoption("logical_cpus"), config.getoption("profile"))
    machine_info["tfvarbench"]["settings"] = settings_of(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After pytest-benchmark saved the run, write its report from the saved file."""
    config = session.config
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
    report = write_report([run], out)  # the same code as `tfvarbench report`, from the saved file
    config.stash[REPORT] = closing_lines(report, saved[-1], out)


def closing_lines(report: Any, saved: Path, out: Path) -> list[str]:
    """What a run is for, in a few lines: what to use here, then where the files went.

    The full comparison table (a row per case) stays in the report: printed, it scrolled the
    answer off the screen.
    """
    from ..render import advice

    tables = ", ".join(name for name in report.files if name.endswith((".md", ".csv")))
    return [
        advice.TITLE + ":", *advice.short(report.recommendations, SUMMARY_LINES), "",
        f"saved run: {saved}", f"tables: {out}/ ({tables})", f"report: {out / 'index.html'}",
    ]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    from ..measure.devices import kind

    present = config.stash.get(PRESENT, None)
    if present is None:
        return
    lines = list(config.stash.get(REPORT, []))
    if not any(kind(name) == "GPU" for name in present):
        selected = ", ".join(config.stash[SELECTED])
        lines.insert(0, f"no GPU visible to TensorFlow: ran on {selected} only")
    if lines:
        terminalreporter.write_sep("-", "tfvarbench")
        for line in lines:
            terminalreporter.write_line(line)

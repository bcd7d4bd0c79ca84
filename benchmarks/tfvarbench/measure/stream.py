"""A block's stream of reports: the child writes each test report, warning and progress step as one
JSON line (ReportWriter); the parent replays the reports and warnings through its own hooks (replay),
as pytest-xdist does, while its progress line reads the progress steps as they come (progress.Follower).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

__all__ = ["ReportWriter", "replay"]


class ReportWriter:
    """The child's side: every test report, one JSON line each.

    Collection reports are not passed on: the parent collected the same files itself and has
    reported their errors once already.
    """

    def __init__(self, config: Any, path: Path) -> None:
        self.config = config
        self.handle = path.open("w", encoding="utf-8")

    def write(self, report: Any) -> None:
        data = self.config.hook.pytest_report_to_serializable(config=self.config, report=report)
        self._line(data)

    def write_warning(self, warning: warnings.WarningMessage, when: str, nodeid: str) -> None:
        """A warning the child recorded: the parent shows it in its own warnings summary."""
        self._line({"warning": {"message": str(warning.message), "category": warning.category.__name__,
                                "filename": warning.filename, "lineno": warning.lineno, "when": when, "nodeid": nodeid}})

    def _line(self, data: dict[str, Any]) -> None:
        self.handle.write(json.dumps(data) + "\n")
        self.handle.flush()

    def progress(self, kind: str, seconds: float, expected_s: float = 0.0) -> None:
        """A step inside a batch (a case calibrated, the passes done), for the parent's progress line."""
        self._line({"progress": [kind, seconds, expected_s]})

    def close(self) -> None:
        self.handle.close()


def replay(session: Any, path: Path) -> int:
    """Feed a child's reports through the parent's hooks, as pytest-xdist does; return how many."""
    config, hook = session.config, session.config.hook
    if not path.exists():
        return 0
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if "warning" in data:
            _show_warning(hook, **data["warning"])
            continue
        if "progress" in data:  # the parent's progress line read it as it came (follow)
            continue
        report = hook.pytest_report_from_serializable(config=config, data=data)
        if isinstance(report.longrepr, list):  # a skip's (path, line, reason): JSON made the tuple a list
            report.longrepr = tuple(report.longrepr)
        if report.when == "setup":
            hook.pytest_runtest_logstart(nodeid=report.nodeid, location=report.location)
        hook.pytest_runtest_logreport(report=report)
        if report.when == "teardown":
            hook.pytest_runtest_logfinish(nodeid=report.nodeid, location=report.location)
            count += 1
    return count


def _show_warning(hook: Any, message: str, category: str, filename: str, lineno: int, when: str, nodeid: str) -> None:
    """Show a child's warning as pytest shows its own: in the warnings summary (a warning never fails a run)."""
    kind = type(category, (Warning,), {})  # the child's class may not import here; its name is what is shown
    recorded = warnings.WarningMessage(kind(message), kind, filename, lineno)
    hook.pytest_warning_recorded.call_historic(kwargs={"warning_message": recorded, "when": when, "nodeid": nodeid, "location": None})

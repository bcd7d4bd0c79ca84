"""Multi-worker harness: a dead or hung worker fails within the timeout with its log, and nothing is left running."""
from __future__ import annotations

import os
import signal
import socket
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tfvarbench.measure.workers import WorkerGroup
from tfvarbench.processes import ChildFailed, PortsUnavailable, free_ports

pytestmark = pytest.mark.slow
MIRRORED = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_mirrored.py"


def worker_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if "tfvarbench.measure.worker" in " ".join(p.info["cmdline"] or [])]


def test_killing_a_worker_mid_run_fails_the_group_with_its_log_and_leaves_no_process(tmp_path: Path) -> None:
    group = WorkerGroup(2, MIRRORED, "quick", tmp_path, timeout_s=120)
    group.start()
    deadline = time.monotonic() + 90
    while "verified" not in group.log_path(1).read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.2)  # let the workers get past start-up, into the cases
    os.killpg(group.group.children[1].pid, signal.SIGKILL)
    # Found at once, not at the group's timeout (120 s), which would say "still running" instead.
    with pytest.raises(ChildFailed) as failure:
        group.wait()
    assert str(failure.value).startswith("worker 1 was killed by SIGKILL; its log ends:")
    assert "verified" in str(failure.value)  # the tail of that worker's own log
    assert all(child.poll() is not None for child in group.group.children)
    assert worker_processes() == []


def _worker_1_family(folder: Path, case: str, worker_1_does: str) -> Path:
    """A family module of one scalar case whose build, in worker 1 only, runs `worker_1_does`."""
    module = folder / f"bench_{case}.py"
    module.write_text(textwrap.dedent(f'''
        import json, os, time
        from tfvarbench.measure import Family
        family = Family("{case}", sizes=("scalar",))

        @family.case("{case}", "worker 1 misbehaves while building")
        def {case}(s):
            if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
                {worker_1_does}
            return lambda: None
    '''))
    return module


def test_a_hung_worker_is_killed_at_the_timeout(tmp_path: Path) -> None:
    hangs = _worker_1_family(tmp_path, "sleep", "time.sleep(3600)")
    group = WorkerGroup(2, hangs, "quick", tmp_path / "logs", timeout_s=20)
    with pytest.raises(ChildFailed, match=r"still running after 20 s"):
        group.run()
    assert worker_processes() == []


def test_unbindable_ports_are_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(PortsUnavailable, match=r"cannot bind a port on 127\.0\.0\.1"):
        free_ports(2)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(port > 0 for port in ports)


def test_a_case_raising_in_one_worker_fails_the_group_promptly_naming_the_error(tmp_path: Path) -> None:
    raises = _worker_1_family(tmp_path, "boom", 'raise RuntimeError("boom in worker 1")')
    group = WorkerGroup(2, raises, "quick", tmp_path / "logs", timeout_s=180)
    with pytest.raises(ChildFailed) as failure:  # promptly: a group left to its timeout would say "still running after 180 s"
        group.run()
    assert str(failure.value).startswith("worker 1 exited with status 1; its log ends:")
    assert "boom scalar float32: RuntimeError: boom in worker 1" in str(failure.value)
    assert worker_processes() == []


def test_a_pinned_block_gives_each_worker_a_core_of_its_own_and_an_unpinned_one_gives_them_all(monkeypatch: pytest.MonkeyPatch) -> None:
    from tfvarbench.measure import settings

    set_to: list[set[int]] = []
    monkeypatch.setattr(settings.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(settings.os, "sched_setaffinity", lambda pid, cores: set_to.append(set(cores)))
    monkeypatch.setattr(settings.os, "sched_getaffinity", lambda pid: {1})  # a block pinned to core 1
    assert [settings.worker_core(index) for index in range(3)] == [0, 1, 0]
    monkeypatch.setattr(settings.os, "sched_getaffinity", lambda pid: {0, 1})
    assert settings.worker_core(0) is None
    settings.keep_to(1)
    settings.keep_to(None)
    assert set_to == [{1}, {0, 1}]

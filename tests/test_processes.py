"""The one module that starts and stops children (tfvarbench/processes.py), on real processes: how each ends is said in
words, a stop stops what the child started too, a child that cannot start leaves nothing open, a group falls together,
and the parent-to-child wire rejects a bad value in one line."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tfvarbench import processes
from tfvarbench.processes import ChildFailed, Group, PortsUnavailable, TurnEnds, WireError, exit_words, free_ports, start

# A child that says it is ready once it has started a grandchild of its own, then waits (ignoring Ctrl-C when asked to).
WAITER = textwrap.dedent("""
    import signal, subprocess, sys, time
    if sys.argv[1] == "ignore":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print("ready", grandchild.pid, flush=True)
    time.sleep(600)
""")


def _open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _ready(child: processes.Child) -> int:
    """The child's grandchild's pid, once the child has said it is ready."""
    for _ in range(600):
        text = child.log.read_text() if child.log.exists() else ""
        if text.startswith("ready"):
            return int(text.split()[1])
        if child.poll() is not None:
            raise AssertionError(f"the child ended: {text}")
        time.sleep(0.05)
    raise AssertionError("the child never said it was ready")


def _gone(pid: int) -> bool:
    """Whether the process has ended (or is a zombie nobody reaps), waiting up to 10 s for the signal to land."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_how_a_process_ended_is_said_in_words() -> None:
    assert exit_words(-9) == "was killed by SIGKILL"
    assert exit_words(-15) == "was killed by SIGTERM"
    assert exit_words(-99) == "was killed by signal 99"
    assert exit_words(1) == "exited with status 1"
    assert exit_words(0) == "exited with status 0"


@pytest.mark.parametrize(("how", "grace", "ended"), [
    ("listen", 30.0, "block 1 was killed by SIGINT"),  # Ctrl-C first: its finalizers run, and it ends of it
    ("ignore", 0.5, "block 1 was killed by SIGKILL"),  # one that lingers past the grace is killed
    ("listen", 0.0, "block 1 was killed by SIGKILL"),  # no grace: killed at once
])
def test_a_stop_ends_the_child_and_what_it_started_and_says_how(tmp_path: Path, how: str, grace: float, ended: str) -> None:
    child = start("block 1", [sys.executable, "-c", WAITER, how], tmp_path / "block.log")
    grandchild = _ready(child)
    child.stop(grace=grace)
    assert child.ended() == ended
    assert _gone(grandchild)
    child.stop()  # again: nothing to do, no error


def test_a_child_killed_from_outside_is_named_with_its_signal_and_its_log_tail(tmp_path: Path) -> None:
    child = start("worker 1", [sys.executable, "-c", WAITER, "listen"], tmp_path / "worker.log")
    _ready(child)
    os.killpg(child.pid, signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert child.ended() == "worker 1 was killed by SIGKILL"
    assert child.tail().startswith("ready ")


@pytest.mark.parametrize("command", [["/no/such/python", "-c", "pass"], [str(Path(__file__))]])  # missing; not executable
def test_a_child_that_cannot_start_is_one_line_and_leaves_no_descriptor_or_process(tmp_path: Path, command: list[str]) -> None:
    before, children = _open_descriptors(), psutil.Process().children()
    with pytest.raises(ChildFailed) as failure:
        start("baseline block 2", command, tmp_path / "block.log")
    assert str(failure.value).startswith(f"baseline block 2 could not start ({command[0]}): ")
    assert "\n" not in str(failure.value)
    assert _open_descriptors() == before
    assert psutil.Process().children() == children


def test_a_child_that_cannot_start_for_want_of_processes_leaves_nothing_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_more(*args: object, **kwargs: object) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")  # fork's EAGAIN: no processes left

    before = _open_descriptors()
    monkeypatch.setattr(subprocess, "Popen", no_more)  # as processes.children sees it
    with pytest.raises(ChildFailed, match=r"^worker 0 could not start \(.*\): Resource temporarily unavailable$"):
        start("worker 0", [sys.executable, "-c", "pass"], tmp_path / "worker.log")
    assert _open_descriptors() == before


def test_a_group_falls_together_when_one_fails_and_names_it(tmp_path: Path) -> None:
    group = Group()
    waiting = group.start("worker 0", [sys.executable, "-c", WAITER, "ignore"], tmp_path / "w0.log")
    group.start("worker 1", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "w1.log")
    grandchild = _ready(waiting)

    def failure(codes: list[int | None]) -> str | None:
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        return group.children[failed[0]].ended() if failed else None

    with pytest.raises(ChildFailed, match=r"^worker 1 exited with status 3$"):
        group.watch(lambda codes: all(code == 0 for code in codes), failure, 120, lambda codes: "hung")
    assert waiting.ended() == "worker 0 was killed by SIGKILL"  # the other is stopped at once, Ctrl-C or not
    assert _gone(grandchild)


def test_a_group_that_outlives_its_bound_is_stopped_with_the_hung_message(tmp_path: Path) -> None:
    group = Group()
    group.start("ps 0", [sys.executable, "-c", WAITER, "listen"], tmp_path / "ps.log")
    with pytest.raises(ChildFailed, match=r"^ps 0 still running after the bound$"):
        group.watch(lambda codes: False, lambda codes: None, 0.5, lambda codes: f"{group.children[0].name} still running after the bound")
    assert group.children[0].poll() is not None


def test_a_group_whose_later_child_cannot_start_stops_the_earlier_ones(tmp_path: Path) -> None:
    group = Group()
    first = group.start("worker 0", [sys.executable, "-c", WAITER, "listen"], tmp_path / "w0.log")
    with pytest.raises(ChildFailed, match="worker 1 could not start"):
        group.start("worker 1", ["/no/such/python"], tmp_path / "w1.log")
    assert first.poll() is not None


def test_the_turns_wire_goes_both_ways_and_a_bad_value_is_one_line_naming_it() -> None:
    ends = TurnEnds(5, 8, "second", Path("/tmp/logs/iterations-03.json"))
    assert ends.encode() == "5,8,second,/tmp/logs/iterations-03.json"
    assert TurnEnds.parse(ends.encode()) == ends
    assert TurnEnds.parse("5,8") == TurnEnds(5, 8)
    for ends in (TurnEnds(3, 4), TurnEnds(3, 4, shared=Path("/x/it.json")), TurnEnds(3, 4, "first")):  # every part optional but the pipes
        assert TurnEnds.parse(ends.encode()) == ends
    for bad in ("", "5", "x,8", "5,8,third,/tmp/f"):
        with pytest.raises(WireError, match=rf"^TFVARBENCH_TURNS='{bad}': must be two file descriptors"):
            TurnEnds.parse(bad)


def test_the_core_wire_goes_both_ways() -> None:
    assert processes.parse_core(processes.encode_core(3)) == 3
    assert processes.parse_core(processes.encode_core(None)) is None and processes.parse_core(None) is None
    with pytest.raises(WireError, match=r"^TFVARBENCH_WORKER_CORE='one': must be a core's number, or empty$"):
        processes.parse_core("one")


def test_unbindable_ports_are_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    before = _open_descriptors()

    def refuse(self: socket.socket, address: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(PortsUnavailable, match=r"cannot bind a port on 127\.0\.0\.1"):
        free_ports(2)
    assert _open_descriptors() == before  # the sockets made before the refusal are closed too


def test_free_ports_are_distinct() -> None:
    ports = free_ports(3)
    assert len(set(ports)) == 3 and all(port > 0 for port in ports)


def test_a_log_tail_leaves_out_grpc_chatter_and_says_when_there_is_no_log(tmp_path: Path) -> None:
    log = tmp_path / "w.log"
    log.write_text("one\nI0000 00:00 chatter\n\ntwo\nthree\n")
    assert processes.log_tail(log, 2) == "two\nthree"
    assert processes.log_tail(tmp_path / "missing.log") == "(no log)"
    log.write_text("I0000 only\n")
    assert processes.log_tail(log) == "(empty log)"


def test_nothing_outside_this_module_starts_or_signals_a_process() -> None:
    package = Path(processes.__file__).parent
    found = [f"{path.relative_to(package.parent)}: {word}" for path in package.parent.rglob("*.py") if package not in path.parents
             for word in ("Popen", "killpg", "send_signal") if word in path.read_text()]
    assert found == []


def test_a_child_started_into_a_list_is_in_it_before_ctrl_c_can_land(tmp_path: Path) -> None:
    running: list[processes.Child] = []
    child = start("block 1", [sys.executable, "-c", "import time; time.sleep(600)"], tmp_path / "b.log", into=running)
    assert running == [child]
    child.stop(grace=0)
    reached = False
    with pytest.raises(KeyboardInterrupt):  # delivered once the block is done
        with processes.held_signals():  # Ctrl-C and SIGTERM wait until then
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
            reached = True
    assert reached

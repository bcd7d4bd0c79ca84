"""Start a child, watch it, stop it and say how it ended; a group of children that stand or fall together."""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STOP_GRACE_S", "Child", "ChildFailed", "Group", "exit_words", "held_signals", "log_tail", "start"]

# How long a block may take to stop after being interrupted (it stops its worker groups) before it is killed.
STOP_GRACE_S = 30.0


class ChildFailed(RuntimeError):
    """A child could not start, died, failed or hung; the message names it and carries its log's tail."""


@contextmanager
def held_signals() -> Iterator[None]:
    """Ctrl-C (and SIGTERM) wait until the block is done: a commit, a clean-up or a child's start is never cut in half.

    The signals are caught and delivered again at the end, not masked: a mask holds only this thread
    (TensorFlow's threads would take the signal) and a child started in the block would inherit it
    and never see Ctrl-C. Python runs signal handlers in the main thread only, so elsewhere nothing is held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {held: signal.signal(held, lambda signum, frame: caught.append(signum)) for held in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, signal.SIG_DFL if handler is None else handler)  # None: a handler set outside Python
        if caught:  # one is enough: both mean stop (SIGTERM first, as it may be the harder stop)
            signal.raise_signal(signal.SIGTERM if signal.SIGTERM in caught else signal.SIGINT)


def exit_words(code: int) -> str:
    """How a process ended, in words: "was killed by SIGKILL" or "exited with status 1"."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a process log, without gRPC's I0000 chatter; for one-line failure messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    kept = [line for line in text if "I0000" not in line and line.strip()]
    return "\n".join(kept[-lines:]) or "(empty log)"


@dataclass
class Child:
    """A started child: its name in messages ("block 2", "worker 0", "baseline block 3"), its process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    pid = property(lambda self: self.process.pid)

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Its exit status (negative: the signal that killed it); raises subprocess.TimeoutExpired past `timeout`."""
        return self.process.wait(timeout=timeout)

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop it and everything it started, and reap it; safe to call any number of times.

        With a `grace`, interrupt its group as Ctrl-C would and kill it if it lingers that long; with
        none, kill it at once.
        """
        if self.process.poll() is None:
            try:
                if grace > 0:
                    os.killpg(self.process.pid, signal.SIGINT)
                    try:
                        self.process.wait(timeout=grace)
                    except subprocess.TimeoutExpired:
                        os.killpg(self.process.pid, signal.SIGKILL)
                else:
                    os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended between the poll and the signal
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # unkillable (a process stuck in the kernel): not ours to wait on forever
            pass

    def ended(self) -> str:
        """"worker 1 was killed by SIGKILL", once it has ended."""
        code = self.process.poll()
        return f"{self.name} is still running" if code is None else f"{self.name} {exit_words(code)}"

    def tail(self, lines: int = 15) -> str:
        return log_tail(self.log, lines)


def start(
    name: str, command: Sequence[str], log: Path, *, env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
    core: int | None = None, pass_fds: Sequence[int] = (), into: list[Child] | None = None,
) -> Child:
    """Start `command` in a session of its own, its output (and errors) in `log`, on `core` when one is given.

    The log is the child's: this process closes its own handle at once, whether the child started
    or not. A child that cannot start (no such interpreter, no processes or files left) raises
    ChildFailed naming it and leaves nothing open behind. A started child is appended to `into`
    with Ctrl-C held, so an interrupt cannot land between the two and leave a child no one stops.
    """
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    try:
        out = open(log, "wb")  # noqa: SIM115 (closed below, the child holding its own copy)
    except OSError as error:
        raise ChildFailed(f"{name} could not start: its log {log}: {error.strerror or error}") from None
    child = None
    try:
        with out, held_signals():
            process = subprocess.Popen(list(command), cwd=cwd, env=None if env is None else dict(env), stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True, preexec_fn=pin, pass_fds=tuple(pass_fds))
            child = Child(name, process, log)
            if into is not None:
                into.append(child)
    except OSError as error:
        raise ChildFailed(f"{name} could not start ({command[0]}): {error.strerror or error}") from None
    except subprocess.SubprocessError as error:  # the child failed between fork and exec (the pin, here)
        raise ChildFailed(f"{name} could not start: {error}") from None
    except BaseException:  # Ctrl-C, delivered once the child was started: stopped here unless `into` holds it
        if child is not None and into is None:
            child.stop()
        raise
    return child


class Group:
    """Children that stand or fall together (a multi-worker group, a parameter-server cluster).

    `watch` waits until `done` says they have finished, raising ChildFailed with `failure`'s message
    as soon as it has one, or `hung`'s once `timeout_s` has passed; either way, and at exit, every
    child of the group is killed with its process group.
    """

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._registered = False

    def start(self, name: str, command: Sequence[str], log: Path, **how: object) -> Child:
        if not self._registered:  # a parent that dies of an exception still stops its children
            atexit.register(self.stop)
            self._registered = True
        try:
            return start(name, command, log, into=self.children, **how)  # type: ignore[arg-type]
        except ChildFailed:
            self.stop()  # the ones started before it would wait for it forever
            raise

    def watch(
        self, done: Callable[[list[int | None]], bool], failure: Callable[[list[int | None]], str | None], timeout_s: float,
        hung: Callable[[list[int | None]], str], poll_s: float = 0.1,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                codes = [child.poll() for child in self.children]
                message = failure(codes)
                if message:
                    raise ChildFailed(message)
                if done(codes):
                    return
                if time.monotonic() > deadline:
                    raise ChildFailed(hung(codes))
                time.sleep(poll_s)
        finally:
            self.stop()

    def stop(self) -> None:
        """Kill every child's process group and reap it; safe to call any number of times."""
        for child in self.children:
            child.stop(grace=0)

"""Child processes: start one, watch it, stop it and say how it ended. The one place that does.

Every figure tfvarbench saves comes from a child process: a block of a run, a multi-worker worker,
a parameter-server task, a block of an `ab` pair. Each is started here in a session of its own (so
stopping it stops whatever it started too), with its output in a log file, and stopped here: a
block as Ctrl-C would stop it (SIGINT to its group, so its finalizers stop its own workers; SIGKILL
if it lingers), a worker or a server at once (SIGKILL: it holds nothing to save). pyperf has one
spawner and one `popen_killer` for the same reasons.

The parent and its children share a wire of environment variables (`TURNS`, `ITERATIONS`,
`WORKER_CORE`), each written and read here; a value that does not parse is one line naming it.
Imports nothing of tfvarbench and no TensorFlow: every layer may use it.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ITERATIONS", "STOP_GRACE_S", "TURNS", "WORKER_CORE", "Child", "ChildFailed", "Group", "PortsUnavailable", "TurnEnds",
           "WireError", "encode_core", "exit_words", "free_ports", "log_tail", "parse_core", "start"]

# How long a block may take to stop after being interrupted (it stops its worker groups) before it is killed.
STOP_GRACE_S = 30.0


class ChildFailed(RuntimeError):
    """A child could not start, died, failed or hung; the message names it and carries its log's tail."""


class PortsUnavailable(OSError):
    """No loopback port could be bound, so no cluster can be wired here."""


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


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that were free a moment ago (held together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            handle = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(handle)  # before bind, so a socket that fails to bind is closed too
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    except OSError as error:
        raise PortsUnavailable(f"cannot bind a port on 127.0.0.1 ({error})") from None
    finally:
        for handle in sockets:
            handle.close()


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
    core: int | None = None, pass_fds: Sequence[int] = (),
) -> Child:
    """Start `command` in a session of its own, its output (and errors) in `log`, on `core` when one is given.

    The log is the child's: this process closes its own handle at once, whether the child started
    or not. A child that cannot start (no such interpreter, no processes or files left) raises
    ChildFailed naming it and leaves nothing open behind.
    """
    pin = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
    try:
        out = open(log, "wb")  # noqa: SIM115 (closed below, the child holding its own copy)
    except OSError as error:
        raise ChildFailed(f"{name} could not start: its log {log}: {error.strerror or error}") from None
    try:
        with out:
            process = subprocess.Popen(list(command), cwd=cwd, env=None if env is None else dict(env), stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True, preexec_fn=pin, pass_fds=tuple(pass_fds))
    except OSError as error:
        raise ChildFailed(f"{name} could not start ({command[0]}): {error.strerror or error}") from None
    except subprocess.SubprocessError as error:  # the child failed between fork and exec (the pin, here)
        raise ChildFailed(f"{name} could not start: {error}") from None
    return Child(name, process, log)


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
            child = start(name, command, log, **how)  # type: ignore[arg-type]
        except ChildFailed:
            self.stop()  # the ones started before it would wait for it forever
            raise
        self.children.append(child)
        return child

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


# The wire between a parent and its children: environment variables, each written and read here only.
# A block taking turns with the other side's block of an `ab` pair (measure/turns.py).
TURNS = "TFVARBENCH_TURNS"
# The file of calibrated iterations the blocks of a run, or of an ab pair, share (measure/iterations.py).
ITERATIONS = "TFVARBENCH_ITERATIONS"
# The core a worker or parameter-server task keeps to, when its block is pinned ("": anywhere).
WORKER_CORE = "TFVARBENCH_WORKER_CORE"


class WireError(ValueError):
    """A wire variable whose value does not parse; the message is one line naming it."""


@dataclass(frozen=True)
class TurnEnds:
    """A block's ends of its pair's two pipes (the turn arrives on `wait`, is handed over on `hand`), whether it goes first, and the pair's file of iterations."""

    wait: int
    hand: int
    lead: str | None = None
    shared: Path | None = None

    def encode(self) -> str:
        return ",".join(str(part) for part in (self.wait, self.hand, self.lead, self.shared) if part is not None)

    @classmethod
    def parse(cls, spec: str) -> TurnEnds:
        wait, _, rest = spec.partition(",")
        hand, _, rest = rest.partition(",")
        lead, _, shared = rest.partition(",")
        try:
            if lead not in ("", "first", "second"):
                raise ValueError(lead)
            return cls(int(wait), int(hand), lead or None, Path(shared) if shared else None)
        except ValueError:
            raise WireError(f"{TURNS}={spec!r}: must be two file descriptors, first or second, and a file: WAIT,HAND,LEAD,FILE") from None


def encode_core(core: int | None) -> str:  # None: anywhere
    return "" if core is None else str(core)


def parse_core(value: str | None) -> int | None:
    """The core `WORKER_CORE` names (None: not set, or set empty)."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise WireError(f"{WORKER_CORE}={value!r}: must be a core's number, or empty") from None

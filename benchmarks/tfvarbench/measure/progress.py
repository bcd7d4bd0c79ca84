"""How far a run of blocks has come and how long it has left, as one line.

The parent of a run in blocks learns from each block's stream (blocks.py): a case calibrated (with
what its preparation took and what its timed rounds will take), a batch timed, a case's test
finished. The time left comes from the blocks already run (each block is the same selection);
during the first block, from its calibrations: the cases still to prepare at the pace so far, and
the rounds the calibrated ones are still to be timed for. `ProgressLine` shows the line: rewritten
in place on a terminal, a plain line every `every_s` seconds anywhere else (a CI log, a pipe).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["Estimate", "Follower", "ProgressLine", "duration"]


def duration(seconds: float) -> str:
    """Seconds in the words of a progress line: '45 s', '6 min 20 s', '1 h 05 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Estimate:
    """The state of a run of blocks, and its time left; `cases` is how many tests each block to run holds, of `total` blocks."""

    def __init__(self, cases: Mapping[int, int], clock: Callable[[], float] = time.monotonic, total: int | None = None) -> None:
        self.cases = dict(cases)
        self.order = sorted(self.cases)
        self.total = total or max(self.order, default=0)
        self.clock = clock
        self.walls: list[float] = []  # seconds of each finished block
        self.block: int | None = None  # the block running now
        self.latest = 0  # the last block started
        self._reset()

    def _reset(self) -> None:
        self.started = self.clock()
        self.done = self.ready = 0
        self.prepare_s = 0.0  # what the calibrated cases took to build, first-call and calibrate
        self.untimed_s = 0.0  # the rounds calibrated cases still have to be timed for
        self.expected_s = 0.0  # the rounds every calibrated case of this block is timed for

    def start(self, block: int) -> None:
        self.block = self.latest = block
        self._reset()

    def event(self, kind: str, seconds: float, expected_s: float = 0.0) -> None:
        """What a block reported: "ready" (a case calibrated: its preparation's seconds, its rounds' seconds to come) or "timed" (a batch's passes done)."""
        if kind == "ready":
            self.ready += 1
            self.prepare_s += seconds
            self.untimed_s += expected_s
            self.expected_s += expected_s
        elif kind == "timed":
            self.untimed_s = 0.0

    def reported(self) -> None:
        """A case's test finished in the current block."""
        self.done += 1

    def finish(self) -> None:
        self.walls.append(self.clock() - self.started)
        self.block = None

    def _block_s(self) -> float | None:
        """What a whole block takes: as the last finished one did, or as the first one's calibrations say."""
        if self.walls:
            return self.walls[-1]
        if not self.ready:
            return None
        total = self.cases.get(self.block or 0, self.ready)
        per_case = (self.prepare_s + self.expected_s) / self.ready
        elapsed = self.clock() - self.started
        # What has been spent, plus the rounds still owed, plus the cases not yet prepared at the pace so far.
        return elapsed + self.untimed_s + max(0, total - self.ready) * per_case

    def left_s(self) -> float | None:
        """Seconds until the last block ends, or None while nothing is known yet."""
        per_block = self._block_s()
        if per_block is None:
            return None
        later = [block for block in self.order if block > self.latest]
        current = max(0.0, per_block - (self.clock() - self.started)) if self.block is not None else 0.0
        return current + per_block * len(later)

    def finished_line(self) -> str:
        """What the last finished block took, and what the run has left."""
        left = self.left_s()
        text = f"block {self.latest} of {self.total} took {duration(self.walls[-1])}"
        return text + (f", about {duration(left)} left" if left and len(self.walls) < len(self.order) else "")

    def line(self) -> str:
        cases = self.cases.get(self.block or 0, 0)
        text = f"block {self.block or self.latest} of {self.total}: {self.done} of {cases} cases done"
        if self.ready > self.done:
            text += f" ({self.ready} calibrated)"
        left = self.left_s()
        return text + (f", about {duration(left)} left" if left is not None else ", estimating the time left")


class Follower:
    """Reads what a block's process has streamed so far (whole lines only) into the run's estimate."""

    def __init__(self, path: Path, estimate: Estimate) -> None:
        self.path, self.estimate, self.offset = path, estimate, 0

    def read(self) -> None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.splitlines():
            data = json.loads(line)
            if "progress" in data:
                self.estimate.event(*data["progress"])
            elif data.get("when") == "teardown":
                self.estimate.reported()


class ProgressLine:
    """One line that a terminal rewrites in place (carriage return); elsewhere a plain line every `every_s` seconds."""

    def __init__(self, write: Callable[[str], None], terminal: bool, clock: Callable[[], float] = time.monotonic, every_s: float = 10.0) -> None:
        self.write = write
        self.terminal = terminal
        self.clock = clock
        self.every_s = every_s
        self.shown = 0  # characters of the line on screen (terminal)
        self.last: float | None = None  # when the last plain line was written

    def show(self, text: str, force: bool = False) -> None:
        if self.terminal:
            self.write("\r" + text.ljust(self.shown))
            self.shown = len(text)
            return
        now = self.clock()
        if force or self.last is None or now - self.last >= self.every_s:
            self.write(text + "\n")
            self.last = now

    def end(self) -> None:
        """Leave the line as it is and move to the next (terminal); nothing to do elsewhere."""
        if self.terminal and self.shown:
            self.write("\n")
        self.shown = 0

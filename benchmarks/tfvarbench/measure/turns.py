"""Taking turns with the other side's block on one core (`tfvarbench ab`'s default design).

The two blocks of a pair, one of each side, run at the same time on the same core, but only one
of them computes at a time: a block holds the turn for one timed round and then hands it over, so
round k of a case on one side is timed a few milliseconds from round k of it on the other. This
machine's speed changes from second to second (a plain Python loop alone on a core: medians 12,
14, 19 and 13 ms in four runs a second apart; one eager assign_add 18 µs in one round, 36 in the
next); timed in turns, both sides of a round see the same speed, and analysis/pairs.py compares
them round by round. A block holds the turn from its start to its first timed round (and from
its last of a batch to the next batch's first), and the other waits, so nothing else runs while
a round is timed. When the other block has ended, or died, its pipe reads empty and this one goes on alone.

The two blocks also time each case with the same iterations a round (`agree`): whichever
calibrates a case first writes its count to the pair's file, and the other uses it. Calibrated
apart, the two counts of a case differed by 30% in the median here, and a round of more
iterations was faster per call (a slope of -0.1 in logs): a change of process-to-process noise
that only many more pairs could average away. pyperf likewise calibrates its loops once and
gives every worker process the same.

The block that goes first times each round of a case just before the other does, which the
other's round gains from (here the second was about 1% faster, all pairs alike): `tfvarbench ab`
lets each side go first in every other pair, so the effect cancels, and says which went first so
the verdict can take it out of the pairs' spread (analysis/pairs.py).

The turn is one byte in a pipe: `TFVARBENCH_TURNS=WAIT,HAND,LEAD,FILE` names the pipe this block's
turn arrives on, the one it hands the other's turn into (file descriptors `tfvarbench ab` passes),
whether it goes `first` or `second`, and the pair's file of iterations.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["ENV", "SHARED_ENV", "Turns", "agree", "begin", "calibrated", "swap", "taking_turns"]

ENV = "TFVARBENCH_TURNS"
# The file of iterations the blocks share: a pair's, or a run's (measure/blocks.py), read by the processes
# a block starts too (a multi-worker case's workers calibrate as well).
SHARED_ENV = "TFVARBENCH_ITERATIONS"


class Turns:
    """This block's end of the two pipes; `alone` once the other block is gone."""

    def __init__(self, wait: int, hand: int, shared: Path | None = None, lead: str | None = None) -> None:
        self.wait, self.hand, self.alone, self.shared, self.lead = wait, hand, False, shared, lead

    def take(self) -> None:
        """Wait for the turn (at once, when the other block is gone)."""
        if self.alone:
            return
        try:
            arrived = os.read(self.wait, 1)
        except OSError:
            arrived = b""
        self.alone = not arrived

    def swap(self) -> None:
        """Hand the turn over, and wait for it back."""
        if self.alone:
            return
        try:
            os.write(self.hand, b"t")
        except OSError:  # the other block has ended: its end of the pipe is closed
            self.alone = True
            return
        self.take()


_turns: Turns | None = None


def begin() -> Turns | None:
    """Wait for this block's first turn, when it takes turns; called once, before the process starts TensorFlow.

    The variable is removed, so no process this block starts (a multi-worker case's workers) reads
    descriptors it did not inherit.
    """
    global _turns
    spec = os.environ.pop(ENV, None)
    if spec is None or _turns is not None:
        return _turns
    try:
        wait, hand, *rest = spec.split(",", 3)
        if rest and rest[0] not in ("first", "second"):
            raise ValueError(rest[0])
        _turns = Turns(int(wait), int(hand), Path(rest[1]) if len(rest) > 1 else None, rest[0] if rest else None)
    except (ValueError, IndexError):
        raise ValueError(f"{ENV}={spec!r}: must be two file descriptors, first or second, and a file: WAIT,HAND,LEAD,FILE") from None
    if _turns.shared is not None:
        os.environ[SHARED_ENV] = str(_turns.shared)
    _turns.take()
    return _turns


def swap() -> None:
    """Before a timed round: let the other side's block time its round (nothing when not taking turns)."""
    if _turns is not None:
        _turns.swap()


def taking_turns() -> bool:
    """Whether this block takes turns with another (its workers then keep to its core: the other core runs another pair)."""
    return _turns is not None


def _shared() -> Path | None:
    return _turns.shared if _turns is not None else Path(os.environ[SHARED_ENV]) if os.environ.get(SHARED_ENV) else None


_read: dict[Path, dict] = {}  # each file as this process last read or wrote it


def _known(shared: Path, case: str) -> dict:
    """The counts in `shared`, read again only when `case` is not among those already read (another block may have added it)."""
    if case not in _read.get(shared, {}):
        try:
            _read[shared] = json.loads(shared.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            _read[shared] = {}
    return _read[shared]


def calibrated(case: str) -> tuple[int, float | None] | None:
    """The iterations (and round) an earlier block of this run calibrated `case` to, so this block need not calibrate it; None when none did.

    Not when taking turns: both blocks of a pair calibrate, so both warm every case up alike, and
    `agree` gives them one count.
    """
    shared = _shared()
    if shared is None or _turns is not None:
        return None
    known = _known(shared, case).get(case)
    if known is None:
        return None
    return (int(known[0]), float(known[1])) if isinstance(known, list) else (int(known), None)


def agree(case: str, iterations: int, round_s: float | None = None) -> int:
    """The iterations a round of `case` takes in every block sharing a file: the first to calibrate it decides (this one's when alone).

    The first also leaves the round its calibration timed (`round_s`), which a block that does not calibrate records as its own.
    """
    shared = _shared()
    if shared is None:
        return iterations
    # Only one block sharing the file runs at a time (a pair's blocks take turns, a run's blocks run
    # one after another), so reading and then writing it is safe (a block's workers agree on their
    # count among themselves first: each writes the same).
    known = _known(shared, case)
    if case in known:
        return int(known[case][0] if isinstance(known[case], list) else known[case])
    known[case] = iterations if round_s is None else [iterations, round_s]
    staged = shared.with_name(shared.name + f".{os.getpid()}")
    staged.write_text(json.dumps(known), encoding="utf-8")
    staged.replace(shared)
    return iterations

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

The block that goes first times each round of a case just before the other does, which the
other's round gains from (here the second was about 1% faster, all pairs alike): `tfvarbench ab`
lets each side go first in every other pair, so the effect cancels, and says which went first so
the verdict can take it out of the pairs' spread (analysis/pairs.py).

The turn is one byte in a pipe: `TFVARBENCH_TURNS=WAIT,HAND,LEAD,FILE` (processes.TurnEnds) names
the pipe this block's turn arrives on, the one it hands the other's turn into (file descriptors
`tfvarbench ab` passes), whether it goes `first` or `second`, and the pair's file of iterations
(measure/iterations.py), which both blocks of the pair share.
"""
from __future__ import annotations

import os

from ..processes import ITERATIONS, TURNS, TurnEnds

__all__ = ["Turns", "begin", "swap", "taking_turns"]


class Turns:
    """This block's end of the two pipes; `alone` once the other block is gone."""

    def __init__(self, ends: TurnEnds) -> None:
        self.wait, self.hand, self.shared, self.lead, self.alone = ends.wait, ends.hand, ends.shared, ends.lead, False

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
    descriptors it did not inherit. Raises processes.WireError (one line) when the variable does not parse.
    """
    global _turns
    spec = os.environ.pop(TURNS, None)
    if spec is None or _turns is not None:
        return _turns
    _turns = Turns(TurnEnds.parse(spec))
    if _turns.shared is not None:  # the pair's file of iterations (measure/iterations.py) is the one both blocks use
        os.environ[ITERATIONS] = str(_turns.shared)
    _turns.take()
    return _turns


def swap() -> None:
    """Before a timed round: let the other side's block time its round (nothing when not taking turns)."""
    if _turns is not None:
        _turns.swap()


def taking_turns() -> bool:
    """Whether this block takes turns with another (its workers then keep to its core: the other core runs another pair)."""
    return _turns is not None

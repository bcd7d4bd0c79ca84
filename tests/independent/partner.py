"""Taking turns with a tfvarbench block on one core, written apart from the harness: one byte a turn through two pipes.

The block (TFVARBENCH_TURNS=WAIT,HAND, measure/turns.py) hands the turn over before each timed
round and waits for it back; a partner given PARTNER_TURNS=WAIT,HAND times one sample per turn.
Each of the block's rounds then has a partner's sample a few milliseconds away, at the same speed of
the machine. The partner gives the block its first turn when it is ready (`start`), and stops
when the block has ended (its end of the pipe reads empty). After each turn arrives it makes
SETTLE untimed calls first, as the block does after its own: the switch from the other process
costs the first calls (caches, TLB), which is the pairing's cost, not the loop's.
"""
from __future__ import annotations

import os

ENV = "PARTNER_TURNS"
SETTLE = 3


class Partner:
    """This process's end of the two pipes, and how many turns it has had."""

    def __init__(self) -> None:
        self.wait, self.hand = (int(fd) for fd in os.environ[ENV].split(","))
        self.turns = 0
        self.ended = False

    def start(self) -> None:
        """Let the block begin (it waits for its first turn before it starts TensorFlow)."""
        os.write(self.hand, b"t")

    def take(self) -> bool:
        """Wait for a turn: False once the block has ended."""
        if not self.ended and os.read(self.wait, 1):
            self.turns += 1
            return True
        self.ended = True
        return False

    def give(self) -> None:
        try:
            os.write(self.hand, b"t")
        except OSError:  # the block has ended
            self.ended = True

"""The wire between a parent and its children: environment variables, each written and read here only."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ITERATIONS", "TURNS", "WORKER_CORE", "TurnEnds", "WireError", "encode_core", "parse_core"]

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
        return f"{self.wait},{self.hand},{self.lead or ''},{self.shared or ''}"

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

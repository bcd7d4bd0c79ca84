"""Sharing calibrated iterations: every block of a run, or of an `ab` pair, times a case with the same iterations a round.

The blocks of a pair (measure/turns.py), or of a run (measure/blocks.py), time each case with the
same iterations a round (`agree`): whichever calibrates a case first writes its count to the
shared file, and the others use it. Calibrated apart, the two counts of a case differed by 30% in the median here, and a round of more
iterations was faster per call (a slope of -0.1 in logs): a change of process-to-process noise
that only many more pairs could average away. pyperf likewise calibrates its loops once and
gives every worker process the same.

The file is named by `TFVARBENCH_ITERATIONS` (processes.ITERATIONS), which the processes a block
starts (a multi-worker case's workers) inherit: they calibrate as well.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..processes import ITERATIONS
from ..runs import atomic_write
from .turns import taking_turns

__all__ = ["agree", "calibrated"]


def _shared() -> Path | None:
    return Path(os.environ[ITERATIONS]) if os.environ.get(ITERATIONS) else None


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
    if shared is None or taking_turns():
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
    atomic_write(shared, json.dumps(known))
    return iterations

"""Which of a process's cases are timed together, and each case's outcome from its batch.

A block's cases are timed in passes (tfvarbench.measure.run.run_batch): the first case of a batch
whose test asks for its result times the whole batch, and each later test takes its own outcome.
A batch is the selected cases in test order, as many as fit the state they may hold at once
(BATCH_BYTES: every case of a batch lives until the batch is verified); the quick profile's block
is one batch.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ..measure.rounds import hand_over
from ..measure.run import Outcome, Spec, run_batch
from ..runs import SIZES, CaseRecord
from .state import GUARD_LOG, PROFILE, PROGRESS

__all__ = ["BATCH_BYTES", "deliver", "outcome_for"]

# What the cases of one batch may hold at once, estimated as STATE_COPIES copies of each case's
# tensor per replica (a variable, an operand, a result or gradient, a temporary): on a CPU it is
# host memory, on a GPU device memory next to TensorFlow's own, so it stays well under both.
BATCH_BYTES = 1 << 30
STATE_COPIES = 4

_OUTCOMES = pytest.StashKey[dict]()  # nodeid -> Outcome, for cases whose batch was timed and whose test has not taken it
_BATCHES = pytest.StashKey[dict]()  # nodeid -> the items of its batch
_TIMED = pytest.StashKey[set]()  # nodeids already timed in this process


def _spec(item: pytest.Item) -> Spec:
    params = item.callspec.params  # type: ignore[attr-defined]
    return Spec(params["case"], params["device"], params["size"], params["dtype"], params.get("block", 1))


def _state_bytes(spec: Spec) -> int:
    return STATE_COPIES * SIZES[spec.size] * np.dtype(spec.dtype).itemsize * len(spec.device.split("+"))


def _timed_here(item: pytest.Item) -> bool:
    """Whether the item's case is timed in this process by `measured_case` (not skipped by a mark, not in workers)."""
    return "measured_case" in getattr(item, "fixturenames", ()) and item.get_closest_marker("skip") is None


def batches(items: list[pytest.Item], limit: int = BATCH_BYTES) -> list[list[pytest.Item]]:
    """The items timed here, in test order, cut into batches whose estimated state fits `limit` (one case at least)."""
    found: list[list[pytest.Item]] = []
    held = limit
    for item in filter(_timed_here, items):
        size = _state_bytes(_spec(item))
        if held + size > limit:
            found.append([])
            held = 0
        found[-1].append(item)
        held += size
    return found


def outcome_for(request: pytest.FixtureRequest) -> Outcome:
    """The outcome of the requesting test's case, timing its whole batch first if no test of the batch has yet."""
    config, item = request.config, request.node
    outcomes, timed = config.stash.setdefault(_OUTCOMES, {}), config.stash.setdefault(_TIMED, set())
    if item.nodeid not in outcomes:
        if _BATCHES not in config.stash:
            config.stash[_BATCHES] = {member.nodeid: batch for batch in batches(request.session.items) for member in batch}
        # A test run again (a rerun plugin) after its batch was timed is timed again, alone.
        batch = [item] if item.nodeid in timed else [m for m in config.stash[_BATCHES].get(item.nodeid, [item]) if m.nodeid not in timed]
        timed.update(member.nodeid for member in batch)
        specs = [_spec(member) for member in batch]
        timed_batch = run_batch(specs, config.stash[PROFILE], notify=config.stash.get(PROGRESS, None), guard_log=config.stash.setdefault(GUARD_LOG, []))
        outcomes.update(zip([member.nodeid for member in batch], timed_batch))
    return outcomes.pop(item.nodeid)


def deliver(benchmark: Any, outcome: Outcome) -> CaseRecord:
    """Give a batch's outcome to the case's benchmark fixture: its rounds and record, or raise the error that failed it."""
    if outcome.error is not None:
        raise outcome.error
    assert outcome.record is not None and outcome.iterations is not None
    hand_over(benchmark, outcome.data, outcome.iterations)
    benchmark.extra_info.update(outcome.record)
    return outcome.record

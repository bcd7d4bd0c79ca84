"""Run one case on one device: build it there, time it, verify what it left, and write its record.

A case timed in this process (`run_case`) and a case timed in worker processes (`worker_case`)
are described by the same function, `_record`, into the one record type every reader reads.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ..runs import CaseRecord, make_record
from .cases import Case, Profile
from .devices import kind
from .memory import DevicePeak, rss_bytes
from .setup import Setup, Unsupported, VerificationError
from .rounds import hand_over, loop_cost, measure, on_shallow_stack
from .timing import Budget, timed_once

__all__ = ["run_case", "worker_case"]

# Errors TensorFlow raises when an op has no kernel for a dtype on a device type.
_NO_KERNEL = ("No OpKernel was registered", "no supported kernel", "Could not find device for node", "not supported on")


def _unsupported(error: Exception, case: Case, device: str, dtype: str) -> Unsupported | None:
    message = str(error)
    if any(marker in message for marker in _NO_KERNEL):
        first = message.strip().splitlines()[0][:160]
        return Unsupported(f"{case.op} has no {dtype} kernel on {device}: {first}")
    return None


def _record(case: Case, device: str, size: str, dtype: str, block: int, median: float | None, **measured: Any) -> CaseRecord:
    """The case's record: its identity, what was measured, and what its variant added (setup.info)."""
    identity = {"family": case.family, "case": case.name, "op": case.op, "variant": case.variant, "mode": case.mode, "dtype": dtype, "size": size, "device": device}
    nbytes = measured["bytes"]
    return make_record(identity, device_kind=kind(device), gbps=nbytes / median / 1e9 if median else None, block=block, verified=True, **measured)  # type: ignore[arg-type]


def run_case(
    benchmark: Any, case: Case, device: str, size: str, dtype: str, profile: Profile, block: int = 1
) -> CaseRecord:
    """Build, time and verify `case` for block `block` of the run; return the record also stored in benchmark.extra_info.

    Raises Unsupported when the device has no kernel for the op and dtype, and VerificationError
    when the case left the wrong state or ran on another device.
    """
    import tensorflow as tf

    setup = Setup(device, dtype, size, profile)
    device = setup.device  # a replicated case ("CPU:0+CPU:1") is placed and labelled by its first device
    peak = DevicePeak(device)
    rss_before = rss_bytes()
    peak.start()
    # A floor on rounds above the usual cap (--benchmark-min-rounds) raises the cap with it.
    budget = Budget(round_s=profile.round_s, case_s=profile.case_s, min_rounds=profile.min_rounds, max_rounds=max(Budget.max_rounds, profile.min_rounds))

    def build_and_time() -> tuple[float, Any]:
        body = case.build(setup)
        # The first call is timed on its own: it pays kernel selection, tracing or XLA compilation.
        first_call_s, _ = timed_once(body)
        return first_call_s, measure(benchmark, body, budget, device)

    try:
        first_call_s, timing = on_shallow_stack(build_and_time, device)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        unsupported = _unsupported(error, case, device, dtype)
        if unsupported is None:
            raise
        raise unsupported from None
    calls = timing.calls + 1
    setup.verify(calls, timing.result)

    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    plan = timing.plan
    median = stats.median if stats is not None and plan is not None else None
    record = _record(
        case, device, size, dtype, block, median,
        elements=setup.elements, bytes=setup.bytes, first_call_s=first_call_s,
        peak_device_bytes=peak.peak(), rss_growth_bytes=rss_bytes() - rss_before, calls=calls,
        iterations=plan.iterations if plan else None, rounds=plan.rounds if plan else None,
        sync_s=plan.sync_s if plan else None, sync_fraction=plan.sync_fraction if plan else None,
        profile=profile.name, gc="off", stack="fresh thread, 2 frames", harness_s=loop_cost(), **setup.info,
    )
    benchmark.extra_info.update(record)
    return record


def worker_case(benchmark: Any, case: Case, size: str, dtype: str, block: int, per_worker: Sequence[dict[str, Any]]) -> CaseRecord:
    """Put one block of one case's worker results into the benchmark fixture, as any measured case is saved.

    Every worker must have verified the case; the chief's (worker 0's) rounds become the case's
    rounds through pytest-benchmark's own statistics object, so the saved JSON, `pytest-benchmark
    compare` and every renderer treat them like rounds timed in this process.
    """
    entries = []
    for index, results in enumerate(per_worker):
        wanted = (case.name, size, dtype, block)
        entry = next((e for e in results["cases"] if (e["case"], e["size"], e["dtype"], e.get("block", 1)) == wanted), None)
        if entry is None:
            raise VerificationError(f"worker {index} has no result for {case.name} {size} {dtype} block {block}")
        if entry["error"]:
            raise VerificationError(f"worker {index}: {entry['error']}")
        entries.append(entry)
    chief = entries[0]
    median_of = lambda entry: statistics.median(entry["data"]) if entry.get("data") else None  # noqa: E731
    record = _record(
        case, chief["device"], size, dtype, block, median_of(chief),
        elements=chief["elements"], bytes=chief["bytes"], first_call_s=chief["first_call_s"], calls=chief["calls"],
        iterations=chief.get("iterations"), rounds=chief.get("rounds"),
        worker_medians_s=[median_of(entry) for entry in entries], **chief["info"],
    )
    if chief.get("data") and not benchmark.disabled:
        hand_over(benchmark, chief["data"], chief["iterations"])
    benchmark.extra_info.update(record)
    return record

"""Run one case on one device: build it there, time it, verify what it left, and describe it."""
from __future__ import annotations

from typing import Any

from .cases import Case, Profile, Setup, Unsupported
from .devices import kind
from .memory import DevicePeak, rss_bytes
from .timing import Budget, measure, timed_once

__all__ = ["run_case"]

# Errors TensorFlow raises when an op has no kernel for a dtype on a device type.
_NO_KERNEL = ("No OpKernel was registered", "no supported kernel", "Could not find device for node", "not supported on")


def _unsupported(error: Exception, case: Case, device: str, dtype: str) -> Unsupported | None:
    message = str(error)
    if any(marker in message for marker in _NO_KERNEL):
        first = message.strip().splitlines()[0][:160]
        return Unsupported(f"{case.op} has no {dtype} kernel on {device}: {first}")
    return None


def run_case(
    benchmark: Any, case: Case, device: str, size: str, dtype: str, profile: Profile, block: int = 1
) -> dict[str, Any]:
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
    budget = Budget(round_s=profile.round_s, case_s=profile.case_s, min_rounds=profile.min_rounds)
    try:
        with tf.device(device):
            body = case.build(setup)
            # The first call is timed on its own: it pays kernel selection, tracing or XLA compilation.
            first_call_s, _ = timed_once(body)
            timing = measure(benchmark, body, budget)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        unsupported = _unsupported(error, case, device, dtype)
        if unsupported is None:
            raise
        raise unsupported from None
    calls = timing.calls + 1
    setup.verify(calls, timing.result)

    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    median = stats.median if stats is not None and timing.plan is not None else None
    plan = timing.plan
    record: dict[str, Any] = {
        "family": case.family,
        "case": case.name,
        "op": case.op,
        "variant": case.variant,
        "mode": case.mode,
        "device": device,
        "device_kind": kind(device),
        "dtype": dtype,
        "size": size,
        "elements": setup.elements,
        "bytes": setup.bytes,
        "gbps": (setup.bytes / median / 1e9) if median else None,
        "first_call_s": first_call_s,
        "peak_device_bytes": peak.peak(),
        "rss_growth_bytes": rss_bytes() - rss_before,
        "calls": calls,
        "iterations": plan.iterations if plan else None,
        "rounds": plan.rounds if plan else None,
        "sync_s": plan.sync_s if plan else None,
        "sync_fraction": plan.sync_fraction if plan else None,
        "profile": profile.name,
        "block": block,
        "verified": True,
    }
    record.update(setup.info)
    benchmark.extra_info.update(record)
    return record

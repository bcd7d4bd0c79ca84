"""Run cases on their devices: build each there, time it, verify what it left, and write its record.

A block's cases are timed together (`run_batch`): each is built, first called and calibrated in
turn, then all are timed in passes that give every case one round each (rounds.run_passes), then
each is verified. `run_case` times one case alone (a correctness run, a profiled run, the harness's
tests). A case timed in worker processes (`worker_case`) is described by the same `_record`.
"""
from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from ..runs import CaseRecord, make_record
from .cases import Case, Profile
from .devices import kind, missing_kernel
from .guard import among, guards
from .memory import DevicePeak, rss_bytes
from .phases import Phases, shares
from .rounds import Slot, hand_over, loop_cost, measure, on_shallow_stack, run_passes, settle_calls
from .settings import thread_count
from .setup import Setup, Unsupported, VerificationError
from .timing import Plan, budget_of, calibrate, later_plan, passes, sync_cost, synced_clock, timed_once
from .iterations import agree, calibrated

__all__ = ["Outcome", "Spec", "passes", "run_batch", "run_case", "worker_case"]
_BATCHES = itertools.count(1)  # the batches this process timed: cases of one batch were timed in the same passes


class Spec(NamedTuple):
    """Which case to run, where, at what size and dtype, in which block of the run."""

    case: Case
    device: str
    size: str
    dtype: str
    block: int = 1


@dataclass
class Outcome:
    """What running one case gave: its record and rounds, or the error that failed (or skipped) it."""

    record: CaseRecord | None = None
    data: list[float] = field(default_factory=list)
    iterations: int | None = None
    error: Exception | None = None


@dataclass
class _Placed:
    """A case built on its device, with what building it cost in memory, and what the work on its thread returned."""

    setup: Setup
    work: Any
    peak_device_bytes: int | None
    rss_growth_bytes: int
    phases: Phases


def _place(spec: Spec, profile: Profile, work: Callable[[Setup, Any, Phases], Any]) -> _Placed:
    """Build the case on its device and run work(setup, body, phases) there, on a shallow stack; memory measured around both.

    Raises Unsupported when the device has no kernel for the op and dtype.
    """
    import tensorflow as tf

    phases = Phases()
    with phases.phase("build"):
        setup = Setup(spec.device, spec.dtype, spec.size, profile, spec.case.rows)
    with phases.phase("memory"):
        peak = DevicePeak(setup.device)  # a replicated case ("CPU:0+CPU:1") is placed and labelled by its first device
        rss_before = rss_bytes()
        peak.start()

    def build_then_work() -> Any:
        with phases.phase("build"):
            body = spec.case.build(setup)
        return work(setup, body, phases)

    try:
        done = on_shallow_stack(build_then_work, setup.device)
    except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        reason = missing_kernel(str(error), spec.case.op, spec.case.mode, setup.device, spec.dtype)
        if reason is None:
            raise
        raise Unsupported(reason) from None
    with phases.phase("memory"):
        device_peak, rss_growth = peak.peak(), rss_bytes() - rss_before
    return _Placed(setup, done, device_peak, rss_growth, phases)


def _record(case: Case, device: str, size: str, dtype: str, block: int, median: float | None, checked: dict[str, int], **measured: Any) -> CaseRecord:
    """The case's record: its identity, what was measured, what verification checked, and what its variant added (setup.info)."""
    identity = {"family": case.family, "case": case.name, "op": case.op, "variant": case.variant, "mode": case.mode, "dtype": dtype, "size": size, "device": device}
    gbps = measured["bytes"] / median / 1e9 if median else None
    return make_record(identity, device_kind=kind(device), gbps=gbps, block=block, verified=checked["values"] > 0, checked=checked, **measured)  # type: ignore[arg-type]


def _verified_record(spec: Spec, placed: _Placed, first_call_s: float, plan: Plan | None, calls: int, result: Any, median: float | None, profile: Profile, **extra: Any) -> CaseRecord:
    """Verify what the case left after `calls` calls (raises VerificationError), then write its record."""
    setup = placed.setup
    with placed.phases.phase("verify"):
        checked = setup.verify(calls, result)
    return _record(
        spec.case, setup.device, spec.size, spec.dtype, spec.block, median, checked,
        elements=setup.elements, bytes=setup.bytes, first_call_s=first_call_s,
        peak_device_bytes=placed.peak_device_bytes, rss_growth_bytes=placed.rss_growth_bytes, calls=calls,
        **{name: getattr(plan, name) if plan else None for name in ("iterations", "rounds", "sync_s", "sync_fraction")},
        profile=profile.name, gc="off", stack="fresh thread, 2 frames", harness_s=loop_cost(), phase_s=placed.phases.rounded(), **thread_count(), **extra, **setup.info,
    )


def run_case(
    benchmark: Any, case: Case, device: str, size: str, dtype: str, profile: Profile, block: int = 1
) -> CaseRecord:
    """Build, time and verify `case` alone for block `block` of the run; return the record also stored in benchmark.extra_info.

    Raises Unsupported when the device has no kernel for the op and dtype, and VerificationError
    when the case left the wrong state or ran on another device.
    """
    spec = Spec(case, device, size, dtype, block)

    def build_and_time(setup: Setup, body: Callable[[], Any], phases: Phases) -> tuple[float, Any]:
        # The first call is timed on its own: it pays kernel selection, tracing or XLA compilation.
        with phases.phase("first_call"):
            first_call_s, _ = timed_once(body)
        with phases.phase("timing"):  # calibration included: measure() plans and times in one
            return first_call_s, measure(benchmark, body, budget_of(profile), setup.device)

    placed = _place(spec, profile, build_and_time)
    first_call_s, timing = placed.work
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    median = stats.median if stats is not None and timing.plan is not None else None
    record = _verified_record(spec, placed, first_call_s, timing.plan, timing.calls + 1, timing.result, median, profile)
    benchmark.extra_info.update(record)
    return record


def _key(spec: Spec) -> str:
    """The case's name in the files a run's blocks share, and its place in a shuffled pass."""
    return f"{spec.case.family}/{spec.case.name}/{'/'.join(spec[1:4])}"


def _prepare(spec: Spec, profile: Profile, clock: Callable[[], float]) -> _Placed:
    """Build the case, time its first call and calibrate it; work = (body, first call seconds, plan)."""
    key = _key(spec)

    def first_and_calibrate(setup: Setup, body: Callable[[], Any], phases: Phases) -> tuple[Callable[[], Any], float, Plan]:
        with phases.phase("first_call"):
            first_call_s, _ = timed_once(body, clock)
        with phases.phase("calibrate"):
            sync_s = sync_cost() if clock is synced_clock else 0.0  # a plain clock waits for nothing
            if (earlier := calibrated(key)) is not None:  # an earlier block of the run calibrated it: every block times the same rounds
                return body, first_call_s, later_plan(earlier, profile, sync_s, sync_cost if clock is synced_clock else None)
            plan = calibrate(body, budget_of(profile), sync_s, clock, first_call_s=first_call_s)
            return body, first_call_s, replace(plan, iterations=agree(key, plan.iterations, plan.round_s))  # the first block decides

    return _place(spec, profile, first_and_calibrate)


def run_batch(specs: Sequence[Spec], profile: Profile, clock: Callable[[], float] = synced_clock, notify: Callable[..., None] | None = None,
              guard_log: list[dict[str, Any]] | None = None) -> list[Outcome]:
    """Time `specs` together: build and calibrate each in turn, time them all in passes, verify each.

    `clock` is the synced clock unless every body waits for its own work (a parameter-server coordinator's
    schedule-and-join does). A case that fails (no kernel, a body that raises, a wrong state) fails alone;
    an interrupt stops the batch. `notify("ready", seconds it took, seconds its rounds will take)` follows
    each calibration, `notify("timed", seconds)` the passes (stream.ReportWriter.progress). `guard_log`
    gets the figure check (guard.py).
    """
    notify = notify or (lambda *_: None)
    batch = next(_BATCHES)
    outcomes = [Outcome() for _ in specs]
    ready: list[tuple[int, _Placed, Callable[[], Any], float, Plan]] = []  # index, placed case, body, first call, plan
    for index, spec in enumerate(specs):
        try:
            placed = _prepare(spec, profile, clock)
            ready.append((index, placed, *placed.work))
            notify("ready", sum(placed.phases.seconds.values()), (passes(profile) + 1) * placed.work[2].round_s)
        except Exception as error:  # noqa: BLE001 (the case's test reports it)
            outcomes[index].error = error
            notify("ready", 0.0, 0.0)
    rounds = passes(profile)
    # One warm-up round each: calibration ran every body already; this one brings it back into the caches after the others.
    # Each timed round then starts with untimed settle calls: what the switch from the case before it costs is not the case's.
    slots = [Slot(body, plan.iterations, 1, placed.setup.device, settle_calls(plan.round_s / plan.iterations), key=_key(specs[index]))
             for index, placed, body, _, plan in ready]
    checks = guards([placed.setup.device for _, placed, *_ in ready], profile.round_s, guard_log, specs[0].block) if guard_log is not None and ready else []
    passing = among(slots, checks)
    started = time.perf_counter()
    run_passes(passing, rounds, clock, shuffle=True)
    elapsed, timed = time.perf_counter() - started, [sum(slot.data) * slot.iterations for slot in slots]
    everything = timed + [sum(slot.data) * slot.iterations for check in checks for slot in (check.case, check.plain)]
    spent = shares(elapsed * (sum(timed) / sum(everything) if sum(everything) > 0 else 1.0), timed)  # the guard's rounds are not the cases'
    if guard_log is not None:
        guard_log.extend(check.finish(specs[0].block) for check in checks)
    for (_, placed, *_), share in zip(ready, spent):
        placed.phases.add("timing", share)
    notify("timed", sum(spent))
    for (index, placed, _, first_call_s, plan), slot in zip(ready, slots):
        outcome = outcomes[index]
        if slot.error is not None:
            outcome.error = slot.error
            continue
        plan = replace(plan, rounds=rounds, warmup_rounds=1)
        try:
            calls = 1 + plan.calibration_calls + slot.calls
            outcome.record = _verified_record(
                specs[index], placed, first_call_s, plan, calls, slot.result, statistics.median(slot.data), profile, interleaved_with=len(slots) - 1,
                settle_calls=slot.settle, batch=batch,
            )
        except Exception as error:  # noqa: BLE001
            outcome.error = error
        outcome.data, outcome.iterations = slot.data, plan.iterations
    return outcomes


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
        case, chief["device"], size, dtype, block, median_of(chief), chief["checked"],
        elements=chief["elements"], bytes=chief["bytes"], first_call_s=chief["first_call_s"], calls=chief["calls"],
        iterations=chief.get("iterations"), rounds=chief.get("rounds"),
        worker_medians_s=[median_of(entry) for entry in entries], **({"phase_s": chief["phase_s"]} if "phase_s" in chief else {}), **chief["info"],
    )
    if chief.get("data") and not benchmark.disabled:
        hand_over(benchmark, chief["data"], chief["iterations"])
    benchmark.extra_info.update(record)
    return record

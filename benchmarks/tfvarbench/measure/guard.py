"""The figure check in every block: a reference op timed as the block's cases are, and as a plain loop would time it, pass by pass.

Why: a case's figure is read from short rounds that take turns with every other case of its block,
and a switch from one case to the next costs (docs/timing.md, "What moves a figure"). So each
block also times one reference op (REFERENCE: eager scalar float32 `assign_add(read_value=False)`,
on every device the block times) twice in every pass: as a case (a calibrated round among the
others, settled as theirs are) and as a plain script's loop (a contiguous stretch of STRETCH_S).
Both are sampled in the same passes, so the machine's speed, which here changes from one second
to the next, is the same for both; analysis/guard.py judges how far apart they read. The guard's
variable is checked like any case's (its device and the value its calls must leave).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .devices import same_device
from .rounds import Slot, on_shallow_stack, settle_calls

__all__ = ["REFERENCE", "STRETCH_S", "Guard", "among", "bodies", "guards"]

REFERENCE = "assign_add(read_value=False), scalar float32"
# A plain loop's stretch: five times a quick round, long enough that its own switch is a fraction of a percent.
STRETCH_S = 0.025
_PROBE_CALLS = 200


def bodies(v: Any, x: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The reference op as the case's rounds call it and as the plain loop calls it (the same call; a test plants a difference here)."""
    call = lambda: v.assign_add(x, read_value=False)  # noqa: E731
    return call, call


@dataclass
class Guard:
    """One device's reference op: its slot among the cases, its plain stretch, and the variable both add to."""

    device: str
    case: Slot
    plain: Slot
    variable: Any
    error: str | None = None

    def finish(self, block: int) -> dict[str, Any]:
        """What the saved run keeps: both series of rounds (seconds a call), their shapes, and a failed check's reason."""
        error = self.error or next((f"{type(slot.error).__name__}: {slot.error}" for slot in (self.case, self.plain) if slot.error), None)
        if error is None:
            error = self._check()
        return {
            "block": block, "device": self.device, "reference": REFERENCE,
            "case_s": list(self.case.data), "plain_s": list(self.plain.data),
            "iterations": self.case.iterations, "plain_iterations": self.plain.iterations, "settle_calls": self.case.settle,
            "error": error,
        }

    def _check(self) -> str | None:
        """The guard's own check: the variable stayed on its device and holds one per call made."""
        calls = self.case.calls + self.plain.calls + _PROBE_CALLS
        if not same_device(self.variable.device, self.device):
            return f"its variable is on {self.variable.device}, not {self.device}"
        held = float(self.variable.numpy())
        return None if held == float(calls) else f"its variable holds {held:g} after {calls} calls"


def guards(devices: Sequence[str], round_s: float, log: list[dict[str, Any]], block: int) -> list[Guard]:
    """A guard on each of `devices`, its rounds sized from a probe: `round_s` among the cases, STRETCH_S as a plain loop.

    A device whose guard cannot be built gets an entry in `log` saying why (its cases are timed all the same).
    """
    made = []
    for device in dict.fromkeys(devices):
        try:
            made.append(_guard(device, round_s))
        except Exception as error:  # noqa: BLE001 (the run says the check failed; the cases go on)
            log.append({"block": block, "device": device, "reference": REFERENCE, "error": f"{type(error).__name__}: {error}"})
    return made


def _guard(device: str, round_s: float) -> Guard:
    """The reference op on `device`, built and probed on a shallow stack, its two slots sized from the probe."""
    import time

    import tensorflow as tf

    def build() -> Guard:
        with tf.device(device):
            v, x = tf.Variable(0.0, dtype=tf.float32), tf.identity(tf.constant(1.0, dtype=tf.float32))
        as_case, as_plain = bodies(v, x)
        started = time.perf_counter()
        for _ in range(_PROBE_CALLS):
            as_case()
        per_call = (time.perf_counter() - started) / _PROBE_CALLS
        settle = settle_calls(per_call)
        case = Slot(as_case, max(1, round(round_s / per_call)), 1, device, settle)
        return Guard(device, case, Slot(as_plain, max(1, round(STRETCH_S / per_call)), 1, device, settle), v)

    return on_shallow_stack(build, device)


def among(slots: Sequence[Slot], checks: Sequence[Guard]) -> list[Slot]:
    """The passes' slots: each device's guard among the cases, its plain stretch right after its case round (`Slot.then`),
    so the two are timed within a few dozen milliseconds, at one speed of the machine."""
    for check in checks:
        check.case.then, check.case.key = check.plain, f"guard/{check.device}"
    return [*slots, *(check.case for check in checks)]

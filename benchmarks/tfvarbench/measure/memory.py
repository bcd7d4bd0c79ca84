"""Memory figures for a case: the device's peak bytes where the device reports it, and RSS growth."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil

from .devices import kind

__all__ = ["DevicePeak", "rss_bytes"]

# get_memory_info is documented for GPUs and TPUs only; on a CPU it returns zeros or raises,
# and a zero would read as "used no memory", so CPUs report None instead.
_REPORTING_KINDS = ("GPU", "TPU")


def rss_bytes() -> int:
    """Resident memory of this process."""
    return psutil.Process().memory_info().rss


class DevicePeak:
    """Peak device memory over a span, above what was held at its start: reset at start(), read at peak(). None where not reported.

    The cases of a batch all hold their state until the batch is verified, so what the cases built
    before this one hold is not this case's: the peak is counted from what was held at start().
    """

    def __init__(
        self,
        device: str,
        memory_info: Callable[[str], dict[str, int]] | None = None,
        reset: Callable[[str], None] | None = None,
    ) -> None:
        self.device = device
        self.reports = kind(device) in _REPORTING_KINDS
        if self.reports and (memory_info is None or reset is None):
            import tensorflow as tf

            memory_info = memory_info or tf.config.experimental.get_memory_info
            reset = reset or tf.config.experimental.reset_memory_stats
        self._memory_info = memory_info
        self._reset = reset

    _held = 0

    def start(self) -> None:
        if self.reports and self._reset is not None and self._memory_info is not None:
            try:
                self._reset(self.device)
                self._held = int(self._memory_info(self.device).get("current", 0))
            except (ValueError, RuntimeError, KeyError):
                self.reports = False

    def peak(self) -> Any:
        if not self.reports or self._memory_info is None:
            return None
        try:
            return max(0, int(self._memory_info(self.device)["peak"]) - self._held)
        except (ValueError, RuntimeError, KeyError):
            return None

"""Memory figures: GPU peak through injected memory functions, and a clean None on CPUs."""
from __future__ import annotations

from tfvarbench.measure.memory import DevicePeak, rss_bytes


def test_gpu_peak_resets_then_reads_the_peak_above_what_was_held_at_the_start() -> None:
    calls: list[str] = []
    peak = DevicePeak(
        "GPU:0",
        memory_info=lambda device: (calls.append(f"info {device}"), {"current": 1024, "peak": 4096})[1],
        reset=lambda device: calls.append(f"reset {device}"),
    )
    peak.start()
    assert peak.peak() == 4096 - 1024  # the cases built before this one still hold 1 KiB
    assert calls == ["reset GPU:0", "info GPU:0", "info GPU:0"]


def test_gpu_that_refuses_memory_stats_reports_none() -> None:
    def refuse(device: str) -> None:
        raise ValueError("memory stats not supported")

    peak = DevicePeak("GPU:0", memory_info=lambda device: {"peak": 1}, reset=refuse)
    peak.start()
    assert peak.peak() is None


def test_cpu_reports_none_rather_than_a_misleading_zero() -> None:
    peak = DevicePeak("CPU:0")
    peak.start()
    assert peak.peak() is None


def test_rss_is_a_positive_byte_count() -> None:
    assert rss_bytes() > 1 << 20

"""Waiting for a multi-worker process's own devices before reading the clock.

A timed round must end after the device has done the work, not after Python queued it. In one
process `tf.test.experimental.sync_devices()` does that, but inside a MultiWorkerMirroredStrategy
cluster of two or more workers it raises "Haven't set up remote eager worker in this eager context
yet", and eager `context.async_wait()` only drains the host-side executor: on a GPU the step's
kernels may still be running when it returns.

So a worker waits the way any device-to-host read waits: it computes a tiny value on each of its
devices after the step and reads it back with `.numpy()`. The probe is queued behind the step on
the same device (on a GPU, the same compute stream), and the copy to the host cannot finish before
the probe, and so the step, has. The probe is float32 because most of TensorFlow's int32 "GPU"
kernels keep their tensors in host memory, where reading one back would wait for nothing on the device.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["WorkerSync"]


class WorkerSync:
    """Call it to return once all work queued on `devices` (this worker's local devices) has finished.

    Create it in the worker after its MultiWorkerMirroredStrategy (which must be built before
    any op) and before timing: it places one scalar on each device, so the wait itself costs a
    single tiny op and one small read-back per device.
    """

    method = "read-back"  # what a record's `sync` field says about how rounds were closed

    def __init__(self, devices: Sequence[str] | str, clock: Callable[[], float] = time.perf_counter) -> None:
        import tensorflow as tf

        self._tf = tf
        self._clock = clock
        self.devices = [devices] if isinstance(devices, str) else list(devices)
        self._seeds: list[Any] = []
        for device in self.devices:
            with tf.device(device):
                self._seeds.append(tf.zeros([], tf.float32))

    def __call__(self) -> None:
        probes = []
        for device, seed in zip(self.devices, self._seeds):
            with self._tf.device(device):  # queue every probe before reading any, so the waits overlap
                probes.append(seed + 1.0)
        for probe in probes:
            probe.numpy()

    def clock(self) -> float:
        """The clock, read after the wait: a drop-in for timing's `synced_clock` inside a worker."""
        self()
        return self._clock()

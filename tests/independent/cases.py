"""The four eager scalar float32 cases the independent timers time, written here without the harness (no tfvarbench import).

Each is what benchmarks/bench_assign.py builds: a variable on CPU:0 of two logical CPUs, a constant
operand, and the call. `make()` starts TensorFlow with two logical CPUs, as `--logical-cpus 2` does.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = ("assign", "assign_no_read", "assign_add", "assign_add_no_read")
DEVICE = "CPU:0"


def make() -> dict[str, Callable[[], Any]]:
    """The four calls, by the suite's case names, their state on CPU:0."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    with tf.device(DEVICE):
        v, x = tf.Variable(0.0), tf.identity(tf.constant(1.0))
    return {
        "assign": lambda: v.assign(x),
        "assign_no_read": lambda: v.assign(x, read_value=False),
        "assign_add": lambda: v.assign_add(x),
        "assign_add_no_read": lambda: v.assign_add(x, read_value=False),
    }

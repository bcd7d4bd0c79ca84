"""Reference workloads without TensorFlow: the host's copy bandwidth per size, and a fixed CPU workload.

The copy bandwidth is the physical limit a memory-bound update is held against: an effective
bandwidth above it means the op did not really copy. The fixed CPU workload is a yardstick for
machine speed, so runs on a machine that is uniformly faster or slower today can be normalised.
"""
from __future__ import annotations

import numpy as np

from tfvarbench.measure import Family, Setup

# The copy runs at the profile's sizes, because the limit depends on size: 4 MiB (1Mi float32)
# copies from cache, 64 MiB (16Mi, full profile) from memory. Each case is held to the copy of its size.
family = Family("reference", dtypes=("float32",), host_only=True)


def test_reference(measured_case: dict) -> None:
    """Reference workloads, once per run on the host; timed and verified."""
    assert measured_case["verified"]


@family.case("host copy", "numpy.copyto", mode="reference", min_size=1024)
def host_copy(s: Setup):
    source = np.arange(s.elements, dtype=s.dtype)
    target = np.empty_like(source)
    s.expect(lambda: target, lambda n: source, label="copy")
    return lambda: np.copyto(target, source)


@family.case("cpu yardstick", "sorted 64Ki int64 + 200k-step loop", mode="reference", sizes=("scalar",))
def cpu_yardstick(s: Setup):
    # Fixed work regardless of the profile: a NumPy sort and a pure-Python loop, so the yardstick
    # follows both the memory system and the interpreter, like the eager ops it normalises.
    shuffled = np.random.default_rng(7).permutation(1 << 16)
    expected = int(np.sort(shuffled)[1234]) + sum(range(200_000))

    def body() -> int:
        return int(np.sort(shuffled)[1234]) + sum(range(200_000))

    s.expect_result(lambda n: expected)
    return body

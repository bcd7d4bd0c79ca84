"""What TensorFlow's native code prints while it loads and probes devices, kept rather than shown.

oneDNN notes and CUDA probing ("failed call to cuInit") would bury a run's own output; they are
kept and saved with the machine info, where they are evidence of why no GPU was found.
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["kept", "startup_log"]

# This process's native start-up output, in the order it was printed.
startup_log: list[str] = []


@contextmanager
def kept(lines: list[str] = startup_log) -> Iterator[None]:
    """Capture what native code writes to file descriptor 2 inside the block, appending it to `lines`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(line for line in sink.read().decode("utf-8", "replace").splitlines() if line.strip())

"""How many logical CPUs and worker processes this machine can hold, checked before TensorFlow starts.

Asking for more is answered at once, with the bound, instead of after TensorFlow has built a
thousand devices (minutes, with nothing said). The bound is the machine's cores: logical CPUs or
workers beyond them share cores, so each would time its neighbours' work as well as its own.
Two workers (the smallest group, and the default) are always allowed.
"""
from __future__ import annotations

import os

__all__ = ["cores", "count_problem"]


def cores() -> int:
    """The machine's cores as the OS counts them; not this process's affinity, which --pin narrows on purpose."""
    return os.cpu_count() or 1


def count_problem(logical_cpus: int, workers: int, available: int | None = None) -> str | None:
    """Why this machine cannot hold `logical_cpus` and `workers`, in one line naming the option, or None."""
    available = cores() if available is None else available
    if logical_cpus > available:
        return (f"--logical-cpus {logical_cpus}: at most {available} on this machine ({available} cores;"
                " more logical CPUs would share cores and time each other)")
    most = max(available, 2)
    if workers > most:
        return (f"--workers {workers}: at most {most} on this machine ({available} cores; each worker is a process"
                " with a core of its own)")
    return None

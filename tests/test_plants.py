"""The planted slowdowns are what they say: both sides run the same wrapper, and only the spin differs (tests/plugins/slowdown.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parent / "plugins" / "slowdown.py"


@pytest.fixture(scope="module")
def slowdown():
    spec = importlib.util.spec_from_file_location("slowdown_plugin", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Ticks:
    """A clock whose every read costs one tick, as a real clock read costs time: the wrapper's own cost is in the count."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now - 1.0


@pytest.mark.parametrize("fraction", [0.02, 0.05, 0.10])
def test_a_plant_costs_its_fraction_of_the_call_over_the_same_wrapper_at_zero_within_a_point(slowdown, fraction: float) -> None:
    def spent(planted: float) -> float:
        clock = Ticks()

        def op() -> None:
            clock.now += 400.0  # the op itself: 400 ticks, a clock read being one (an eager op of ~20 µs, a read of ~50 ns)

        wrapped = slowdown.spun(op, planted, clock=clock, eager=lambda: True)
        start = clock.now
        for _ in range(100):
            wrapped()
        return clock.now - start

    assert spent(fraction) / spent(0.0) == pytest.approx(1 + fraction, abs=0.01)


def test_no_spin_outside_eager_execution(slowdown) -> None:
    clock = Ticks()
    wrapped = slowdown.spun(lambda: None, 1.0, clock=clock, eager=lambda: False)
    wrapped()
    assert clock.now == 1.0  # one read at the start: a traced call spins nothing

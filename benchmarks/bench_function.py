"""tf.function: the update step eager, traced and XLA-compiled, and what a call costs by argument kind.

Each variant builds a fresh tf.function, so its first call (timed on its own by the harness) really
traces, and compiles under XLA. Trace counts are read after the run and saved with the case.
"""
from __future__ import annotations

import itertools

import tensorflow as tf

from tfvarbench.measure import Family, Setup

family = Family("function", dtypes=("float32", "float16", "float64"))

START, X, LR = 0, 1, 0.5  # LR * X = 0.5 is exact in every float dtype, so updates do not round


def test_function(measured_case: dict) -> None:
    """Every tf.function variant, on every selected device, size and dtype; timed and verified."""
    assert measured_case["verified"]


def _step(v, x):
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(x * v)
        v.assign_sub(LR * tape.gradient(loss, v), read_value=False)

    return step


def _update_step(s: Setup):
    """The SGD step on loss = sum(x * v): tape gradient (x), then v -= LR * g. v moves by -0.5 a call."""
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, s.adds(START, -LR * X))
    return _step(v, x)


def _warm_up(s: Setup, **options) -> None:
    """Trace (and compile) and call a throwaway copy of the step on scratch state of the same shape.

    The first tf.function (and XLA) call in a process also pays one-time start-up; every block of
    a run is a fresh process, so without this the case's first-call figure would carry that cost
    whenever it happened to be the process's first. The case's own function is still new.
    """
    with tf.device(s.device):
        scratch = tf.Variable(s.host(START), name="scratch")
        tf.function(_step(scratch, tf.constant(s.host(X))), **options)()


def _count_traces(s: Setup, function, expected) -> None:
    """Save the function's trace count with the case, and check it against expected(calls)."""
    s.after_run(lambda: s.info.update(trace_count=function.experimental_get_tracing_count()))
    s.expect(lambda: s.info["trace_count"], expected, label="trace count")


@family.case("update step", "tape + assign_sub(lr * g)", mode="eager")
def step_eager(s: Setup):
    return _update_step(s)


@family.case("update step", "tape + assign_sub(lr * g)", mode="function")
def step_function(s: Setup):
    _warm_up(s)
    step = tf.function(_update_step(s))
    _count_traces(s, step, lambda n: 1)
    return step


@family.case("update step", "tape + assign_sub(lr * g)", mode="xla")
def step_xla(s: Setup):
    # XLA resolves the variable's resource on the device it compiles for; the harness calls the
    # body under tf.device(s.device), which is what jit_compile needs.
    _warm_up(s, jit_compile=True)
    step = tf.function(_update_step(s), jit_compile=True)
    _count_traces(s, step, lambda n: 1)
    return step


def _assign_add_function(s: Setup, **options):
    v = s.variable(START)
    return v, tf.function(lambda amount: v.assign_add(amount), **options)


@family.case("call", "tensor argument", mode="function", sizes=("scalar",))
def call_tensor_argument(s: Setup):
    v, add = _assign_add_function(s)
    x = s.tensor(X)
    s.expect(v, s.adds(START, X))
    _count_traces(s, add, lambda n: 1)
    return lambda: add(x)


def _changing_python_floats(add):
    """A body that passes a new Python float every call: 1.0, -2.0, 3.0, -4.0, ...

    Every value is distinct (so each can force a trace) while their running sum stays small, and
    therefore exact in float32 and float64, whatever the call count: see _sum_after.
    """
    values = (float(i if i % 2 else -i) for i in itertools.count(1))
    return lambda: add(next(values))


def _sum_after(calls: int) -> int:
    return (calls + 1) // 2 if calls % 2 else -(calls // 2)


@family.case("call", "Python float argument, new value each call", mode="function", sizes=("scalar",), dtypes=("float32", "float64"))
def call_python_scalar(s: Setup):
    v, add = _assign_add_function(s)
    s.expect(v, _sum_after)
    _count_traces(s, add, lambda n: n)  # one trace per distinct value: the cost of each call includes it
    return _changing_python_floats(add)


@family.case(
    "call", "Python float argument, reduce_retracing=True", mode="function", sizes=("scalar",), dtypes=("float32", "float64")
)
def call_python_scalar_reduce_retracing(s: Setup):
    # Often recommended against retracing; whether it helps with Python scalars is what this measures.
    v, add = _assign_add_function(s, reduce_retracing=True)
    s.expect(v, _sum_after)
    # Its trace count is recorded, not asserted: the value check on v is what proves the case ran.
    s.after_run(lambda: s.info.update(trace_count=add.experimental_get_tracing_count()))
    return _changing_python_floats(add)


@family.case("call", "Python float argument, input_signature", mode="function", sizes=("scalar",), dtypes=("float32", "float64"))
def call_input_signature(s: Setup):
    v, add = _assign_add_function(s, input_signature=[tf.TensorSpec([], s.dtype)])
    s.expect(v, _sum_after)
    _count_traces(s, add, lambda n: 1)  # the float is converted to a tensor: one trace serves all values
    return _changing_python_floats(add)

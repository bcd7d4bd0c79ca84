"""The caller's stack: the same eager op called from a shallow stack and from 60 frames deeper.

TensorFlow's eager fast path costs more the deeper the caller's Python stack is. Both variants do
the same Python work per call (60 nested calls, then one eager `assign_add`); they differ only in
where the op is called: after the nested calls have returned (shallow), or at the bottom of them
(deep). The difference is what a deep call stack (a framework, a test runner, a training loop
inside callbacks) costs every eager op.
"""
from __future__ import annotations

from tfvarbench.measure import Family, Setup

family = Family("stack", dtypes=("float32",), sizes=("scalar",))

START, X = 0, 1
DEPTH = 60


def test_stack(measured_case: dict) -> None:
    """The same eager op from a shallow and a deep stack, on every selected device; timed and verified."""
    assert measured_case["verified"]


def _descend(depth: int, then=None):
    """`depth` nested calls of an ordinary Python function; `then()` runs at the bottom, if given."""
    if depth == 0:
        return then() if then is not None else None
    return _descend(depth - 1, then)


def _op(s: Setup):
    v, x = s.variable(START), s.tensor(X)
    s.expect(v, s.adds(START, X))
    s.info["stack_depth_added"] = DEPTH
    return lambda: v.assign_add(x, read_value=False)


@family.case("assign_add", f"read_value=False, called after {DEPTH} nested calls returned (shallow)")
def shallow_caller(s: Setup):
    op = _op(s)

    def body():
        _descend(DEPTH)
        return op()

    return body


@family.case("assign_add", f"read_value=False, called {DEPTH} frames deep")
def deep_caller(s: Setup):
    op = _op(s)
    return lambda: _descend(DEPTH, op)

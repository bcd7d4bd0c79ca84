"""What people do with a variable, the measured ways to do each, and the idioms that cost more than they should.

The catalogue `recommend` ranks: each job names the cases that do it (by op, variant, mode) and its
common idiom, the way most code writes it; each trap pairs an idiom with the way it should be written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["JOBS", "TRAPS", "Job", "Selector", "label_of", "matches"]

# A selector matches a case: (family or None, op, variant or None, mode or None); None matches any.
Selector = tuple["str | None", str, "str | None", "str | None"]


@dataclass(frozen=True)
class Job:
    """Something a user does with a variable, the measured ways to do it, and its common idiom."""

    key: str
    title: str
    ways: tuple[Selector, ...]  # earlier selectors win when two families measure the same way
    common: Selector
    baseline: Selector | None = None  # shown beside the ranking, never ranked (it does not do the job)
    baseline_note: str = ""


JOBS: tuple[Job, ...] = (
    Job(
        "write", "Write new values",
        ways=(("assignment", "assign", None, None), ("assignment", "slice assign", None, None)),
        common=("assignment", "assign", "read_value=True", "eager"),  # assign's default
        baseline=("assignment", "rebind name", None, None),
        baseline_note="not a write: rebinds the Python name, the variable keeps its value",
    ),
    Job(
        "add", "Add to it",
        ways=(("assignment", "assign_add", None, None), ("assignment", "host round trip", None, None)),
        common=("assignment", "assign_add", "read_value=True", "eager"),  # assign_add's default
    ),
    Job(
        "gradient_step", "Apply a gradient step",
        ways=(("gradient", "update step", None, None), ("function", "update step", None, None)),
        common=("gradient", "update step", "tape + assign_sub(lr * g)", "eager"),  # the textbook eager step
    ),
    Job(
        "traced_call", "Call a tf.function whose inputs change",
        ways=(("function", "call", None, None),),
        common=("function", "call", "Python float argument, new value each call", "function"),
    ),
    Job(
        "mirrored", "Update a mirrored variable across replicas",
        ways=(("mirrored", "assign_add", None, None), ("mirrored", "sync-on-read", "replica-local assign_add", None),
              ("multiworker", "assign_add", None, None), ("multiworker", "sync-on-read", "replica-local assign_add", None)),
        common=(None, "assign_add", "aggregation=SUM", None),  # the aggregation that adds every replica's update
    ),
    *(
        Job(
            f"optimizer_{key}", f"Take an optimizer step: {rule}",
            # Keras 3, legacy and fused, eager / function / XLA, 1 or 100 variables, ranked together.
            ways=(("optimizer", f"{rule} step", None, None),),
            common=("optimizer", f"{rule} step", "Keras 3, 1 variable", "function"),  # what model.fit runs: Keras 3, traced
        )
        for key, rule in (("momentum", "SGD momentum"), ("adam", "Adam"), ("adamw", "AdamW"), ("adagrad", "Adagrad"), ("rmsprop", "RMSprop"))
    ),
    Job(
        "host_copy", "Copy through the host",
        ways=(("assignment", "host round trip", None, None), ("assignment", "assign_add", None, None)),
        common=("assignment", "host round trip", None, None),  # v.assign(v.numpy() + x)
    ),
)



# Traps: (key, slow selector, fast selector). Each is reported at every size where both were measured.
TRAPS: tuple[tuple[str, Selector, Selector], ...] = (
    ("python_float_retrace", ("function", "call", "Python float argument, new value each call", None),
     ("function", "call", "tensor argument", None)),
    ("reduce_retracing", ("function", "call", "Python float argument, reduce_retracing=True", None),
     ("function", "call", "Python float argument, input_signature", None)),
    ("host_round_trip", ("assignment", "host round trip", None, None), ("assignment", "assign_add", "read_value=True", "eager")),
    ("read_value", ("assignment", "assign", "read_value=True", "eager"), ("assignment", "assign", "read_value=False", "eager")),
    ("read_value", ("assignment", "assign_add", "read_value=True", "eager"), ("assignment", "assign_add", "read_value=False", "eager")),
    # Each of the optimizer's traps is worded from its two ways (advice.py).
    ("assign_sum", ("optimizer", "add to a variable", "v.assign(v + x)", None), ("optimizer", "add to a variable", "v.assign_add(x)", None)),
    ("eager_optimizer", ("optimizer", "Adam step", "Keras 3, 1 variable", "eager"), ("optimizer", "Adam step", "Keras 3, 1 variable", "function")),
    ("keras3_over_legacy", ("optimizer", "Adagrad step", "Keras 3, 1 variable", "function"),
     ("optimizer", "Adagrad step", "tf_keras legacy, 1 variable", "function")),
    ("keras3_over_fused", ("optimizer", "Adam step", "Keras 3, 1 variable", "function"),
     ("optimizer", "Adam step", "fused raw op (ResourceApplyAdam), 1 variable", "function")),
    ("many_variables", ("optimizer", "Adam step", "Keras 3, 100 variables", "function"), ("optimizer", "Adam step", "Keras 3, 1 variable", "function")),
    ("many_variables", ("optimizer", "Adam step", "fused raw op (ResourceApplyAdam), 100 variables", "eager"),
     ("optimizer", "Adam step", "fused raw op (ResourceApplyAdam), 1 variable", "eager")),
)



def matches(case: dict[str, Any], selector: Selector) -> bool:
    """Whether the case is the way the selector names (None matches anything)."""
    family, op, variant, mode = selector
    return (family in (None, case.get("family")) and case.get("op") == op
            and variant in (None, case.get("variant")) and mode in (None, case.get("mode")))



def label_of(selector: Selector) -> str:
    """The selector as it is shown: `op: variant`."""
    _, op, variant, _ = selector
    return f"{op}: {variant}" if variant else op


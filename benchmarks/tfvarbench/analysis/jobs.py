"""What people do with a variable, the measured ways to do each, and the idioms that cost more than they should.

The catalogue `answer` tabulates: each job names the cases that do it (by op, variant, mode) and its
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
    against: Selector | None = None  # a dense way the others are held against: from how many rows it is cheaper


_LOCAL = "the same updates in the coordinator's own process, no server: what the round trip to the servers adds"

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
    # Variables on parameter servers: whole against sharded ranked, the same update local as the baseline.
    Job(
        "remote_add", "Add to a variable on parameter servers",
        ways=(("paramserver", "assign_add", None, "paramserver"),),
        common=("paramserver", "assign_add", "remote, whole variable", "paramserver"),
        baseline=("paramserver", "assign_add", "local: the coordinator's CPU", None),
        baseline_note=_LOCAL,
    ),
    Job(
        "remote_gradient_step", "Apply a gradient step to variables on parameter servers",
        ways=(("paramserver", "gradient step", None, "paramserver"),),
        common=("paramserver", "gradient step", "SGD, tape + assign_sub(lr * g), remote, whole variable", "paramserver"),
        baseline=("paramserver", "gradient step", "SGD, tape + assign_sub(lr * g), local: the coordinator's CPU", None),
        baseline_note=_LOCAL,
    ),
    Job(
        "remote_adam_step", "Apply an Adam step to variables on parameter servers (its slots there too)",
        ways=(("paramserver", "Adam step", None, "paramserver"),),
        common=("paramserver", "Adam step", "Keras 3 Adam, tape + apply_gradients, remote, whole variable", "paramserver"),
        baseline=("paramserver", "Adam step", "Keras 3 Adam, tape + apply_gradients, local: the coordinator's CPU", None),
        baseline_note=_LOCAL,
    ),
    Job(
        "remote_rows", "Update rows of an embedding table on parameter servers",
        ways=(("paramserver", "sparse row update", None, "paramserver"),),
        common=("paramserver", "sparse row update", "scatter_add of 8 rows of 64, remote, whole table", "paramserver"),
        baseline=("paramserver", "sparse row update", "scatter_add of 8 rows of 64, local: the coordinator's CPU", None),
        baseline_note=_LOCAL,
    ),
    Job(
        "write_rows", "Write some rows of a table",
        ways=(("sparse", "scatter_update", "v.scatter_update(IndexedSlices(x, rows))", None),
              ("sparse", "scatter_nd_update", None, None), ("sparse", "tensor_scatter_nd_update", None, None),
              ("sparse", "slice assign", None, None)),
        common=("sparse", "scatter_update", "v.scatter_update(IndexedSlices(x, rows))", "eager"),  # the variable's own method
    ),
    Job(
        "add_rows", "Add to some rows of a table",
        ways=(("sparse", "scatter_add", "v.scatter_add(IndexedSlices(x, rows))", None), ("sparse", "scatter_nd_add", None, None),
              ("sparse", "assign_add", None, None)),
        common=("sparse", "scatter_add", "v.scatter_add(IndexedSlices(x, rows))", "eager"),
        against=("sparse", "assign_add", "dense: v.assign_add(table of zeros but the k rows)", "eager"),
    ),
    Job(
        "embedding_step", "Apply an embedding gradient",
        ways=(("sparse", "embedding step", None, None),),
        common=("sparse", "embedding step", "tape + keras SGD.apply_gradients", "eager"),  # what a training loop calls
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
    *(("densify", ("sparse", "embedding step", "tape + v.assign_sub(lr * tf.convert_to_tensor(g)) (densified)", mode),
       ("sparse", "embedding step", "tape + v.scatter_sub(IndexedSlices(lr * g.values, g.indices))", mode)) for mode in ("eager", "function", "xla")),
    ("repeated_rows", ("sparse", "scatter_add", "v.scatter_add(IndexedSlices(x, rows)), rows repeated", "eager"),
     ("sparse", "scatter_add", "v.scatter_add(IndexedSlices(x, rows))", "eager")),
    # The optimizer's traps, each worded from its two ways (glance).
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


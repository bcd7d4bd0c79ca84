"""Sparse updates: k rows of a table written, added to, or moved by an embedding gradient, and the dense ways.

Every case runs on a table of rows x WIDTH (the case's size in elements: 16Ki x 64 at 1Mi) and
touches k rows a call: one row, 1% or 10% of the table (the case's `rows`, in its name and record).
The table starts at START everywhere; after n calls the touched rows hold a value known in advance
and every other row must still hold START, so a write to a wrong row or a skipped update fails.
Row indices are made by `Setup.indices`: int64 on a GPU, where an int32 index would sit in host
memory and be copied over on every call.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfvarbench.measure import Family, Setup
from tfvarbench.runs import SIZES

family = Family("sparse", dtypes=("float32", "float64"), min_size=SIZES["1Mi"])

WIDTH = 64
ROWS = ("1", "1%", "10%")
# The quick profile times a subset: every count of rows for the ways the cost model and the
# sparse/dense crossover need (scatter_update, scatter_add, the dense baseline), one count for the
# other ways; the full profile times every way at every count.
FULL = ("full",)
START, X, LR = 0, 1, 0.5  # LR * 1 = 0.5 is exact in every float dtype, so a step never rounds
SEED = 20


def test_sparse(measured_case: dict) -> None:
    """Every sparse variant, on every selected device, table size, dtype and count of rows; timed and verified."""
    assert measured_case["verified"]


def _unique_rows(s: Setup) -> np.ndarray:
    """k distinct rows spread over the table in no order, as a batch's ids are."""
    return np.random.default_rng(SEED).choice(s.table_shape[0], s.touched, replace=False)


def _repeated_rows(s: Setup) -> tuple[np.ndarray, np.ndarray]:
    """k indices naming about k/2 distinct rows (most twice), shuffled; and how many times each index's row occurs."""
    distinct = np.random.default_rng(SEED).choice(s.table_shape[0], (s.touched + 1) // 2, replace=False)
    order = np.random.default_rng(SEED + 1).permutation(s.touched)
    return distinct[order % distinct.size], order // distinct.size  # the second: 0 for a row's first index, 1 for its repeat


def _added_rows(s: Setup, indices: np.ndarray):
    """The table after n calls that each add X to every row `indices` names (a row named twice gains 2X)."""
    rows, counts = np.unique(indices, return_counts=True)
    return s.changes(rows, lambda n: repeated_add_rows(s, counts, n))


def repeated_add_rows(s: Setup, counts: np.ndarray, calls: int) -> np.ndarray:
    """Row values after `calls` calls adding counts[i] * X to row i, column by column as the dtype rounds."""
    return np.stack([s.adds(START, count * X)(calls) for count in counts])[:, None] * np.ones(WIDTH, dtype=s.dtype)


# --- writing rows -------------------------------------------------------------------------------
# A write leaves X whatever the call count, so a body that skips later calls is not caught by the
# value: the first call alone is timed and checked apart from the rest only by the harness's count.
# The adds below are what prove every call ran.

@family.case("scatter_update", "v.scatter_update(IndexedSlices(x, rows))", rows=ROWS)
def scatter_update(s: Setup):
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    update = tf.IndexedSlices(s.tensor(X, shape=(s.touched, WIDTH)), s.indices(rows))
    s.expect(v, s.changes(rows, lambda n: X))
    return lambda: v.scatter_update(update)


@family.case("scatter_nd_update", "v.scatter_nd_update(rows[:, None], x)", rows=("1", "10%"), profiles=FULL)
@family.case("scatter_nd_update", "v.scatter_nd_update(rows[:, None], x)", rows=("1%",))
def scatter_nd_update(s: Setup):
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    indices, x = s.indices(rows[:, None]), s.tensor(X, shape=(s.touched, WIDTH))
    s.expect(v, s.changes(rows, lambda n: X))
    return lambda: v.scatter_nd_update(indices, x)


@family.case("tensor_scatter_nd_update", "v.assign(tf.tensor_scatter_nd_update(v, rows[:, None], x))", rows=("1", "10%"), profiles=FULL)
@family.case("tensor_scatter_nd_update", "v.assign(tf.tensor_scatter_nd_update(v, rows[:, None], x))", rows=("1%",))
def tensor_scatter_then_assign(s: Setup):
    # The functional way, as code written for tensors does it: a new table with the rows replaced,
    # then assigned back whole.
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    indices, x = s.indices(rows[:, None]), s.tensor(X, shape=(s.touched, WIDTH))
    s.expect(v, s.changes(rows, lambda n: X))
    return lambda: v.assign(tf.tensor_scatter_nd_update(v, indices, x), read_value=False)


@family.case("slice assign", "v[i:i+k].assign(x) (contiguous rows: v[rows] takes no index list)", rows=("1", "10%"), profiles=FULL)
@family.case("slice assign", "v[i:i+k].assign(x) (contiguous rows: v[rows] takes no index list)", rows=("1%",))
def slice_assign_rows(s: Setup):
    # tf.Variable indexing takes integers and slices only (a list or tensor of rows raises TypeError),
    # so this is the one way to write k rows by indexing: k contiguous ones.
    v = s.table(START, WIDTH)
    first = s.table_shape[0] // 3
    x = s.tensor(X, shape=(s.touched, WIDTH))
    s.expect(v, s.changes(np.arange(first, first + s.touched), lambda n: X))
    return lambda: v[first : first + s.touched].assign(x)


# --- adding to rows -----------------------------------------------------------------------------

@family.case("scatter_add", "v.scatter_add(IndexedSlices(x, rows))", rows=ROWS)
def scatter_add(s: Setup):
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    update = tf.IndexedSlices(s.tensor(X, shape=(s.touched, WIDTH)), s.indices(rows))
    s.expect(v, _added_rows(s, rows))
    return lambda: v.scatter_add(update)


@family.case("scatter_nd_add", "v.scatter_nd_add(rows[:, None], x)", rows=("1", "10%"), profiles=FULL)
@family.case("scatter_nd_add", "v.scatter_nd_add(rows[:, None], x)", rows=("1%",))
def scatter_nd_add(s: Setup):
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    indices, x = s.indices(rows[:, None]), s.tensor(X, shape=(s.touched, WIDTH))
    s.expect(v, _added_rows(s, rows))
    return lambda: v.scatter_nd_add(indices, x)


@family.case("assign_add", "dense: v.assign_add(table of zeros but the k rows)", rows=ROWS)
def dense_assign_add(s: Setup):
    # The baseline sparse updates are held against: the whole table is read and written every call.
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    delta = np.zeros(s.table_shape, dtype=s.dtype)
    delta[rows] = X
    x = s.tensor(delta)
    s.expect(v, _added_rows(s, rows))
    return lambda: v.assign_add(x, read_value=False)


# --- repeated rows --------------------------------------------------------------------------------

@family.case("scatter_add", "v.scatter_add(IndexedSlices(x, rows)), rows repeated", rows=("1%",), profiles=FULL)
@family.case("scatter_add", "v.scatter_add(IndexedSlices(x, rows)), rows repeated", rows=("10%",))
def scatter_add_repeated(s: Setup):
    # scatter_add is defined with duplicates: a row named twice gains both updates.
    v = s.table(START, WIDTH)
    indices, _ = _repeated_rows(s)
    update = tf.IndexedSlices(s.tensor(X, shape=(s.touched, WIDTH)), s.indices(indices))
    s.expect(v, _added_rows(s, indices))
    return lambda: v.scatter_add(update)


@family.case("scatter_update", "v.scatter_update(IndexedSlices(x, rows)), rows repeated", rows=("1%",), profiles=FULL)
@family.case("scatter_update", "v.scatter_update(IndexedSlices(x, rows)), rows repeated", rows=("10%",))
def scatter_update_repeated(s: Setup):
    # With a row named twice, which of its two updates scatter_update leaves is undefined (and may
    # differ column by column). Defined, and checked: every other row still holds START, and every
    # element of a named row holds one of the values written to it (1 by its first index, 2 by its repeat).
    v = s.table(START, WIDTH)
    indices, repeat = _repeated_rows(s)
    written = (X + repeat)[:, None] * np.ones(WIDTH)
    update = tf.IndexedSlices(s.tensor(written.astype(s.dtype)), s.indices(indices))
    named = np.unique(indices)
    untouched = np.setdiff1d(np.arange(s.table_shape[0]), named)
    s.expect(lambda: v.numpy()[untouched], lambda n: np.full((untouched.size, WIDTH), START, s.dtype), label="rows not named")
    allowed = {row: set() for row in named}
    for row, value in zip(indices, X + repeat):
        allowed[row].add(value)
    # Each named row's elements, mapped to 1 where the value is one written to that row, else 0.
    def written_there():
        held = v.numpy()[named]
        return np.stack([np.isin(held[i], sorted(allowed[row])) for i, row in enumerate(named)]).astype(s.dtype)
    s.expect(written_there, lambda n: np.ones((named.size, WIDTH), s.dtype), label="named rows hold a value written to them")
    return lambda: v.scatter_update(update)


# --- embedding gradients --------------------------------------------------------------------------
# loss = sum(embedding_lookup(v, ids)): its gradient is an IndexedSlices of ones at the k ids, so
# each step moves those rows by -LR and leaves the rest at START.

def _embedding(s: Setup):
    v = s.table(START, WIDTH)
    rows = _unique_rows(s)
    ids = s.indices(rows)

    def gradient():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.nn.embedding_lookup(v, ids))
        return tape.gradient(loss, v)

    s.expect(v, s.changes(rows, s.adds(START, -LR)))
    return v, gradient


def _sparse_step(s: Setup):
    v, gradient = _embedding(s)

    def step():
        g = gradient()
        v.scatter_sub(tf.IndexedSlices(LR * g.values, g.indices))

    return step


def _fused_step(s: Setup):
    # TensorFlow has no ResourceSparseApplyGradientDescent; the proximal one with l1 = l2 = 0 is
    # plain SGD on the named rows, in one kernel.
    v, gradient = _embedding(s)
    lr, zero = s.tensor(LR, shape=(), name="lr"), s.tensor(0, shape=(), name="l1_l2")

    def step():
        g = gradient()
        tf.raw_ops.ResourceSparseApplyProximalGradientDescent(var=v.handle, alpha=lr, l1=zero, l2=zero, grad=g.values, indices=g.indices)

    return step


def _densified_step(s: Setup):
    # What code paths that call tf.convert_to_tensor on a gradient do silently: a table-sized zero
    # tensor with the k rows filled in, then a dense update of the whole table.
    v, gradient = _embedding(s)

    def step():
        v.assign_sub(LR * tf.convert_to_tensor(gradient()), read_value=False)

    return step


def _keras_step(s: Setup):
    v, gradient = _embedding(s)
    optimizer = tf.keras.optimizers.SGD(learning_rate=LR)
    optimizer.build([v])  # its variables exist before any trace: a traced step traces once

    def step():
        optimizer.apply_gradients([(gradient(), v)])

    return step


def _in_mode(s: Setup, step, mode: str):
    """The step as the mode runs it: eager, tf.function, or tf.function(jit_compile=True); a traced one must trace once."""
    if mode == "eager":
        return step
    traced = tf.function(step, jit_compile=mode == "xla")
    s.after_run(lambda: s.info.update(trace_count=traced.experimental_get_tracing_count()))
    s.expect(lambda: s.info["trace_count"], lambda n: 1, label="trace count")
    return traced


STEPS = {
    "sparse": ("tape + v.scatter_sub(IndexedSlices(lr * g.values, g.indices))", _sparse_step),
    "fused": ("tape + ResourceSparseApplyProximalGradientDescent (l1 = l2 = 0)", _fused_step),
    "densified": ("tape + v.assign_sub(lr * tf.convert_to_tensor(g)) (densified)", _densified_step),
    "keras": ("tape + keras SGD.apply_gradients", _keras_step),
}


def _register(way: str, mode: str) -> None:
    variant, make = STEPS[way]

    def build(s: Setup):
        return _in_mode(s, make(s), mode)

    build.__name__ = f"embedding_{way}" + ("" if mode == "eager" else f"_{mode}")
    # XLA has no kernel for the fused sparse apply: that case is skipped with TensorFlow's reason.
    quick = mode == "eager" or (mode == "function" and way in QUICK_TRACED)
    family.case("embedding step", variant, mode=mode, rows=("1", "10%") if quick else ROWS, profiles=FULL)(build)
    if quick:
        family.case("embedding step", variant, mode=mode, rows=("1%",))(build)


# A trace or an XLA compilation costs 0.2-0.6 s here: the quick profile traces only the densify pair.
QUICK_TRACED = ("sparse", "densified")
for _way in STEPS:
    for _mode in ("eager", "function", "xla"):
        _register(_way, _mode)

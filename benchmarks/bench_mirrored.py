"""Mirrored variables: updates under tf.distribute.MirroredStrategy on 1, 2 and all selected devices.

A manual assign_add here is a per-replica update followed by an aggregation across replicas; the
cases time it inside strategy.run under @tf.function and check the value on every replica. The
multi-worker family runs these same cases in worker processes under MultiWorkerMirroredStrategy
(`s.strategy()` gives whichever strategy the case runs under).
"""
from __future__ import annotations

import tensorflow as tf

from tfvarbench.measure import Family, Setup

family = Family("mirrored", dtypes=("float32", "float64"), replicas=(1, 2, "all"))

X, LR = 1, 0.5  # every aggregate below stays a small multiple of 0.5: exact in float32


def test_mirrored(measured_case: dict) -> None:
    """Every mirrored variant, on 1, 2 and all selected devices; timed and verified on every replica."""
    assert measured_case["verified"]


def _expect_on_every_replica(s: Setup, strategy, variable, after) -> None:
    for index, device in enumerate(s.devices):
        s.expect(lambda index=index: strategy.experimental_local_results(variable)[index], after, label=f"replica {index}", device=device)


def _assign_add(s: Setup, aggregation, per_call) -> object:
    strategy = s.strategy()
    with strategy.scope():
        v = tf.Variable(s.host(0), aggregation=aggregation)
    _expect_on_every_replica(s, strategy, v, lambda n: n * per_call(strategy.num_replicas_in_sync))
    return _run_assign_add(s, strategy, v)


def _run_assign_add(s: Setup, strategy, v):
    """A tf.function that runs v.assign_add(X) on every replica."""
    x = s.tensor(X)

    def replica_step() -> None:
        # tf.identity makes the increment a per-replica value, which an aggregated update needs.
        v.assign_add(tf.identity(x), read_value=False)

    return tf.function(lambda: strategy.run(replica_step))


@family.case("assign_add", "aggregation=SUM", mode="function")
def assign_add_sum(s: Setup):
    return _assign_add(s, tf.VariableAggregation.SUM, lambda replicas: replicas * X)  # k steps: k·r·x


@family.case("assign_add", "aggregation=MEAN", mode="function")
def assign_add_mean(s: Setup):
    return _assign_add(s, tf.VariableAggregation.MEAN, lambda replicas: X)


@family.case("assign_add", "aggregation=ONLY_FIRST_REPLICA", mode="function")
def assign_add_only_first_replica(s: Setup):
    return _assign_add(s, tf.VariableAggregation.ONLY_FIRST_REPLICA, lambda replicas: X)


def _sync_on_read(s: Setup):
    strategy = s.strategy()
    with strategy.scope():
        v = tf.Variable(s.host(0), synchronization=tf.VariableSynchronization.ON_READ, aggregation=tf.VariableAggregation.SUM)
    return strategy, v


@family.case("sync-on-read", "replica-local assign_add", mode="function")
def sync_on_read_update(s: Setup):
    strategy, v = _sync_on_read(s)
    _expect_on_every_replica(s, strategy, v, lambda n: n * X)  # each replica's own copy, no aggregation
    return _run_assign_add(s, strategy, v)


@family.case("sync-on-read", "cross-replica read (SUM)", mode="function")
def sync_on_read_read(s: Setup):
    strategy, v = _sync_on_read(s)
    _run_assign_add(s, strategy, v)()  # each replica's copy now holds X
    s.expect_result(lambda n: strategy.num_replicas_in_sync * X)  # the read sums the replicas' copies
    _expect_on_every_replica(s, strategy, v, lambda n: X)  # reading changes nothing
    return tf.function(lambda: v.read_value())


@family.case("full step", "per-replica tape gradient, all-reduce, manual update", mode="function")
def full_step(s: Setup):
    strategy = s.strategy()
    with strategy.scope():
        v = tf.Variable(s.host(0), aggregation=tf.VariableAggregation.MEAN)
    x = s.tensor(X)

    def replica_step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.identity(x) * v)
        gradient = tape.gradient(loss, v)
        mean = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN, gradient)
        v.assign_sub(LR * mean, read_value=False)

    _expect_on_every_replica(s, strategy, v, s.adds(0, -LR * X))
    return tf.function(lambda: strategy.run(replica_step))

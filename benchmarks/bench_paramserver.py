"""Parameter servers: variables held by ps tasks and updated over gRPC by functions a ClusterCoordinator schedules.

Each cluster (`1ps/1w`, `2ps/1w`, `1ps/2w` in the test id; `/1ps/2w` in the case name) is a
coordinator, its workers and parameter servers, each a process on 127.0.0.1 (tfvarbench.measure.cluster).
A remote case's call schedules one function per worker and waits in `coordinator.join()`, so the
round trip and the servers' work are inside the figure; its variables are read back from the
servers (every shard, on a ps task) after n calls. The same update made in the coordinator's own
process (its CPU:0, no server) is the local reference, and a TCP copy of the same bytes over
loopback is the limit the remote figures are held against. Parameter servers keep to the CPU;
workers get a GPU each as multi-worker ones do.

The Adam step is Keras 3's optimizer, built under the strategy so its slots live on the servers too,
applied in `strategy.run` (Keras 3 applies only in a replica's context) and checked slot by slot.
It runs with one worker: two workers' steps read and write the same slots at once, and what they
leave depends on how they interleave (it was off the sequential result by -1% to +2% here). A row
update gives each worker rows of its own, since two workers' scatter_add of the same rows race (_rows).

Runs in `--profile full` only, or when selected by name (`-k paramserver`): each cluster is three
or four TensorFlow processes to start, about 10-40 s of a 2-core machine per cluster and block,
more than the quick profile's budget allows.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from tfvarbench.measure import Family, Setup, Stepped, Unsupported, VerificationError
from tfvarbench.measure.strategies import cluster_size

family = Family("paramserver", dtypes=("float32",), clusters=((1, 1), (2, 1), (1, 2)), profiles=("full",))

X, LR, ROWS, DIM = 1, 0.5, 8, 64  # every value below is a small multiple of 0.5: exact in float32
MIN_SHARD = 256 << 10

PARTITIONERS: dict[str, Callable[[int], Any]] = {
    "whole": lambda ps: None,
    "FixedShardsPartitioner(2)": lambda ps: tf.distribute.experimental.partitioners.FixedShardsPartitioner(2),
    "MinSizePartitioner(256 KiB)": lambda ps: tf.distribute.experimental.partitioners.MinSizePartitioner(MIN_SHARD, max_shards=ps),
}


def test_paramserver(cluster_case: dict) -> None:
    """Every parameter-server update, timed in the cluster's coordinator and verified on the servers."""
    assert cluster_case["verified"]


def _shards(variable: Any) -> list[Any]:
    return list(variable.variables) if type(variable).__name__ == "ShardedVariable" else [variable]


def _shard_count(name: str, nbytes: int, ps: int, rank: int) -> int:
    """How many pieces `name` must have split a variable of `nbytes` into (a scalar is never split)."""
    if name == "whole" or rank == 0:
        return 1
    if name.startswith("Fixed"):
        return 2
    return max(1, min(ps, nbytes // MIN_SHARD))


def _remote(s: Setup, name: str) -> tuple[Any, Any, int, int]:
    ps, workers = cluster_size()
    strategy, coordinator = s.parameter_servers(name, PARTITIONERS[name](ps))
    s.info.update(bandwidth_limit="loopback", updates_per_call=workers)
    return strategy, coordinator, ps, workers


def _expect_on_servers(s: Setup, variable: Any, name: str, ps: int, after: Callable[[int], np.ndarray], rtol: float = 0.0) -> None:
    """Every shard read back from its server holds its rows of after(n); the split is the partitioner's."""
    shards = _shards(variable)
    want = _shard_count(name, s.bytes, ps, len(variable.shape))
    if len(shards) != want:
        raise VerificationError(f"{name} split {s.size} into {len(shards)} pieces, expected {want}")
    s.info["servers_holding"] = _tasks(shards)
    start = 0
    for index, shard in enumerate(shards):
        rows = shard.shape[0] if shard.shape.rank else None
        part = (lambda n, a=start, b=start + rows: after(n)[a:b]) if rows is not None else after
        _on_server(s, shard, f"shard {index}", part, rtol)
        start += rows or 0


def _tasks(variables: list[Any]) -> list[str]:
    """The parameter-server tasks that hold `variables`."""
    return sorted({variable.device.split("/task:")[1].split("/")[0] for variable in variables})


def _on_server(s: Setup, variable: Any, label: str, after: Callable[[int], Any], rtol: float = 0.0) -> None:
    """`variable` lives on a parameter server and, read back from it, holds after(n)."""
    if not variable.device.startswith("/job:ps/"):
        raise VerificationError(f"{label} of {s.size} lives on {variable.device!r}, not on a parameter server")
    s.expect(lambda: variable.read_value(), after, label=f"{label} on {variable.device.split('/device')[0]}", rtol=rtol, device="CPU:0")


def _schedule(coordinator: Any, steps: list[Any]) -> Callable[[], None]:
    """The steps (one per worker) scheduled, then joined: a call ends when every server applied every update."""

    def body() -> None:
        for step in steps:
            coordinator.schedule(step)
        coordinator.join()

    return body


def _local(s: Setup, steps: list[Any]) -> Callable[[], None]:
    """The same updates as a remote call makes (one per worker), in this process, on its CPU."""
    s.info.update(local_device="the coordinator's CPU:0", updates_per_call=len(steps))

    def body() -> None:
        for step in steps:
            step()

    return body


def _everywhere(s: Setup, step: float) -> Callable[[int], np.ndarray]:
    """after(n) for a variable of the case's shape, all of whose elements start at 0 and gain `step` a call.

    One element's value, broadcast: computed over a whole 16Mi array, it took most of a second a shard.
    """
    one = s.adds(0, step)
    return lambda calls: np.broadcast_to(one(calls), s.shape)


# --- assign_add of a remote variable ----------------------------------------------------------------
def _assign_add_remote(s: Setup, name: str):
    strategy, coordinator, ps, workers = _remote(s, name)
    with strategy.scope():
        v = tf.Variable(s.host(0))
    shape, dtype = s.shape, s.dtype

    @tf.function
    def step() -> None:
        with tf.device(None):  # computed where the worker puts it (its GPU, if it has one), not where it was traced
            v.assign_add(tf.fill(shape, tf.constant(X, dtype)), read_value=False)

    _expect_on_servers(s, v, name, ps, _everywhere(s, workers * X))
    return _schedule(coordinator, [step] * workers)


@family.case("assign_add", "remote, whole variable", mode="paramserver")
def assign_add_whole(s: Setup):
    return _assign_add_remote(s, "whole")


@family.case("assign_add", "remote, FixedShardsPartitioner(2)", mode="paramserver", min_size=1024)
def assign_add_fixed_shards(s: Setup):
    return _assign_add_remote(s, "FixedShardsPartitioner(2)")


@family.case("assign_add", "remote, MinSizePartitioner(256 KiB)", mode="paramserver", min_size=1024)
def assign_add_min_size(s: Setup):
    return _assign_add_remote(s, "MinSizePartitioner(256 KiB)")


@family.case("assign_add", "local: the coordinator's CPU", mode="function")
def assign_add_local(s: Setup):
    _, workers = cluster_size()
    v, x = s.variable(0), s.tensor(X)

    @tf.function
    def step() -> None:
        v.assign_add(x, read_value=False)

    s.expect(v, s.adds(0, workers * X))
    return _local(s, [step] * workers)


# --- an SGD step on remote variables ----------------------------------------------------------------
def _gradients(shards: list[Any], shape: tuple[int, ...], dtype: str) -> list[Any]:
    """The tape's gradients of sum(X * v) over the variable's pieces: X for every element."""
    x = tf.fill(shape, tf.constant(X, dtype))
    with tf.GradientTape() as tape:
        whole = tf.concat([tf.reshape(p, [-1]) for p in shards], 0) if len(shards) > 1 else shards[0]
        loss = tf.reduce_sum(tf.reshape(x, [-1]) * tf.reshape(whole, [-1]))
    return tape.gradient(loss, shards)


def _sgd_step(shards: list[Any], shape: tuple[int, ...], dtype: str) -> Any:
    @tf.function
    def step() -> None:
        with tf.device(None):
            for shard, gradient in zip(shards, _gradients(shards, shape, dtype)):
                shard.assign_sub(LR * gradient, read_value=False)

    return step


def _sgd_remote(s: Setup, name: str):
    strategy, coordinator, ps, workers = _remote(s, name)
    with strategy.scope():
        v = tf.Variable(s.host(0))
    _expect_on_servers(s, v, name, ps, _everywhere(s, -LR * X * workers))
    return _schedule(coordinator, [_sgd_step(_shards(v), s.shape, s.dtype)] * workers)


@family.case("gradient step", "SGD, tape + assign_sub(lr * g), remote, whole variable", mode="paramserver")
def sgd_whole(s: Setup):
    return _sgd_remote(s, "whole")


@family.case("gradient step", "SGD, tape + assign_sub(lr * g), remote, FixedShardsPartitioner(2)", mode="paramserver", min_size=1024)
def sgd_fixed_shards(s: Setup):
    return _sgd_remote(s, "FixedShardsPartitioner(2)")


@family.case("gradient step", "SGD, tape + assign_sub(lr * g), remote, MinSizePartitioner(256 KiB)", mode="paramserver", min_size=1024)
def sgd_min_size(s: Setup):
    return _sgd_remote(s, "MinSizePartitioner(256 KiB)")


@family.case("gradient step", "SGD, tape + assign_sub(lr * g), local: the coordinator's CPU", mode="function")
def sgd_local(s: Setup):
    _, workers = cluster_size()
    v = s.variable(0)
    s.expect(v, s.adds(0, -LR * X * workers))
    return _local(s, [_sgd_step([v], s.shape, s.dtype)] * workers)


# --- an Adam step on remote variables: Keras 3's optimizer, its slots on the servers too --------------
BETA_1, BETA_2, EPSILON = 0.5, 0.75, 1e-7  # the optimizer family's: they settle in a few dozen steps
RTOL = 1e-4  # Keras rounds each step's terms in float32, the reference only the states it keeps (the optimizer family's tolerance)


def _adam_reference(s: Setup) -> Stepped:
    """var, m and v after n steps of Adam at a constant gradient of X, as Keras 3 writes the rule.

    At a constant gradient the bias-corrected step is about lr whatever the betas: the check holds the
    count of steps, their size (epsilon's share included) and where the slots live; the betas show in
    m and v over their first few dozen steps only. The rule itself is checked in the optimizer family.
    """

    def step(state: dict, t: int) -> dict:
        m = state["m"] + (X - state["m"]) * (1 - BETA_1)
        v = state["v"] + (X**2 - state["v"]) * (1 - BETA_2)
        alpha = LR * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        return {"m": m, "v": v, "var": -alpha * m / (np.sqrt(v) + EPSILON)}

    return Stepped({name: np.zeros(1) for name in ("var", "m", "v")}, step, s.dtype, (1,))


def _adam(s: Setup, shards: list[Any], strategy: Any, workers: int) -> Any:
    """A Keras 3 Adam over `shards`, built (its slots made) under `strategy`, checked after every call's `workers` steps."""
    import keras

    with strategy.scope():
        optimizer = keras.optimizers.Adam(LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON)
        optimizer.build(shards)
    reference, steps = _adam_reference(s), (lambda n: n * workers)
    s.info.update(rule="Adam", slots_per_variable=2)

    def after(state: str, shape: tuple[int, ...]) -> Callable[[int], np.ndarray]:
        return lambda n: np.broadcast_to(reference.state(steps(n))[state].astype(s.dtype)[0], shape)

    pieces = {"var": shards}
    for state, suffix in (("m", "_momentum"), ("v", "_velocity")):
        pieces[state] = [var.value for var in optimizer.variables if var.path.endswith(suffix)]
        if len(pieces[state]) != len(shards):
            raise VerificationError(f"Adam made {len(pieces[state])} {state} slots for {len(shards)} pieces of {s.size}")
    return optimizer, pieces, after, steps


def _adam_step(strategy: Any, optimizer: Any, shards: list[Any], shape: tuple[int, ...], dtype: str) -> Any:
    def replica_step() -> None:  # Keras 3 applies in a replica's context, which strategy.run gives it
        optimizer.apply_gradients(zip(_gradients(shards, shape, dtype), shards))

    @tf.function
    def step() -> None:
        with tf.device(None):
            strategy.run(replica_step)

    return step


def _adam_remote(s: Setup, name: str):
    strategy, coordinator, ps, workers = _remote(s, name)
    if workers > 1:
        raise Unsupported("two workers' Adam steps read and write the same slots at once: what they leave depends on how they interleave, and no reference can check it")
    with strategy.scope():
        v = tf.Variable(s.host(0))
    optimizer, pieces, after, steps = _adam(s, _shards(v), strategy, workers)
    _expect_on_servers(s, v, name, ps, after("var", s.shape), rtol=RTOL)
    # The strategy places each new variable on the next server: a whole variable's slots can land on another.
    s.info["slots_and_iterations_held_by"] = _tasks([*pieces["m"], *pieces["v"], optimizer.iterations.value])
    for state in ("m", "v"):
        for index, slot in enumerate(pieces[state]):
            _on_server(s, slot, f"{state} of shard {index}", after(state, tuple(slot.shape)), rtol=RTOL)
    _on_server(s, optimizer.iterations.value, "iterations", steps)
    return _schedule(coordinator, [_adam_step(strategy, optimizer, pieces["var"], s.shape, s.dtype)] * workers)


@family.case("Adam step", "Keras 3 Adam, tape + apply_gradients, remote, whole variable", mode="paramserver")
def adam_whole(s: Setup):
    return _adam_remote(s, "whole")


@family.case("Adam step", "Keras 3 Adam, tape + apply_gradients, remote, FixedShardsPartitioner(2)", mode="paramserver", min_size=1024)
def adam_fixed_shards(s: Setup):
    return _adam_remote(s, "FixedShardsPartitioner(2)")


@family.case("Adam step", "Keras 3 Adam, tape + apply_gradients, local: the coordinator's CPU", mode="function")
def adam_local(s: Setup):
    _, workers = cluster_size()
    v = s.variable(0)
    strategy = tf.distribute.get_strategy()  # the default strategy: this process, no servers
    with tf.device(s.device):
        optimizer, pieces, after, steps = _adam(s, [v], strategy, workers)
    for state in ("var", "m", "v"):
        s.expect(pieces[state][0], after(state, s.shape), label=state, rtol=RTOL)
    s.expect(lambda: optimizer.iterations.value, steps, label="iterations")
    return _local(s, [_adam_step(strategy, optimizer, [v], s.shape, s.dtype)] * workers)


# --- a sparse row update of an embedding table ------------------------------------------------------
def _rows(s: Setup, workers: int) -> tuple[tuple[int, int], list[np.ndarray]]:
    """The table's shape and each worker's rows: ROWS apiece, none shared, all spread over the table (so over every shard).

    Rows of their own, since two workers' scatter_add of the same rows lose updates: for a float
    variable ResourceScatterAdd holds its lock shared (resource_variable_ops.cc), so concurrent adds
    race. With shared rows, 4 of the 24 remote row cases of `1ps/2w` in a full run here left a row one short.
    """
    shape = (s.elements // DIM, DIM)
    s.info.update(rows_updated=ROWS * workers, rows_per_worker=ROWS, row_elements=DIM,
                  bandwidth_limit="none: the update moves its rows, not the table")
    spread = np.linspace(0, shape[0] - 1, ROWS * workers).astype(np.int64)
    return shape, [spread[worker::workers] for worker in range(workers)]


def _rows_after(s: Setup, shape: tuple[int, int], rows: list[np.ndarray]) -> Callable[[int], np.ndarray]:
    def after(n: int) -> np.ndarray:
        table = np.zeros(shape, s.dtype)
        table[np.concatenate(rows)] = s.adds(0, X)(n)
        return table

    return after


def _scatter_step(v: Any, rows: np.ndarray, dtype: str) -> Any:
    @tf.function
    def step() -> None:
        with tf.device(None):
            values = tf.fill([ROWS, DIM], tf.constant(X, dtype))
            v.scatter_add(tf.IndexedSlices(values, tf.constant(rows)))

    return step


def _rows_remote(s: Setup, name: str):
    strategy, coordinator, ps, workers = _remote(s, name)
    shape, rows = _rows(s, workers)
    with strategy.scope():
        v = tf.Variable(np.zeros(shape, s.dtype))
    _expect_on_servers(s, v, name, ps, _rows_after(s, shape, rows))
    return _schedule(coordinator, [_scatter_step(v, own, s.dtype) for own in rows])


@family.case("sparse row update", f"scatter_add of {ROWS} rows of {DIM}, remote, whole table", mode="paramserver", min_size=1024)
def rows_whole(s: Setup):
    return _rows_remote(s, "whole")


@family.case("sparse row update", f"scatter_add of {ROWS} rows of {DIM}, remote, FixedShardsPartitioner(2)", mode="paramserver", min_size=1024)
def rows_fixed_shards(s: Setup):
    return _rows_remote(s, "FixedShardsPartitioner(2)")


@family.case("sparse row update", f"scatter_add of {ROWS} rows of {DIM}, local: the coordinator's CPU", mode="function", min_size=1024)
def rows_local(s: Setup):
    _, workers = cluster_size()
    shape, rows = _rows(s, workers)
    v = s.variable(np.zeros(shape, s.dtype))
    s.expect(v, _rows_after(s, shape, rows))
    return _local(s, [_scatter_step(v, own, s.dtype) for own in rows])


# --- the limit: the same bytes over loopback TCP ----------------------------------------------------
@family.case("loopback copy", "TCP on 127.0.0.1: send the bytes, 1-byte ack", mode="reference", min_size=1024)
def loopback_copy(s: Setup):
    listener = socket.create_server(("127.0.0.1", 0))
    sender = socket.create_connection(listener.getsockname())
    receiver, _ = listener.accept()
    for end in (sender, receiver):
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the ack is one byte: never held back
    source = np.arange(s.elements, dtype=s.dtype)
    target = np.empty_like(source)
    view = memoryview(target).cast("B")

    def receive() -> None:
        while True:
            got = 0
            while got < len(view):
                received = receiver.recv_into(view[got:], len(view) - got)
                if not received:  # the coordinator is going away
                    return
                got += received
            receiver.sendall(b"!")

    threading.Thread(target=receive, daemon=True).start()  # lives as long as the coordinator's process
    s.expect(lambda: target, lambda n: source, label="received copy")

    def body() -> None:
        sender.sendall(source)
        sender.recv(1)

    return body

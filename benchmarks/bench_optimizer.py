"""Optimizers as users run them: update rules with slots, Keras 3 against legacy and fused, many variables, mixed precision.

Each rule (SGD with momentum, Adam, AdamW, Adagrad, RMSprop) is run three ways: a Keras 3
optimizer (`keras.optimizers`), a legacy one (`tf_keras.optimizers.legacy`, the optional extra
`legacy`: without it those cases skip, naming the extra), and the fused raw op (ResourceApplyMomentum,
ResourceApplyAdam, ResourceApplyAdagradV2, ResourceApplyRMSProp; AdamW has none, and tf_keras no
legacy AdamW); each eager, in a tf.function and XLA-compiled (Keras 3 optimizers take no
`jit_compile` of their own: `Adam(jit_compile=True)` is refused as an unknown argument), over the
parameters held as 1 variable and as 100 variables.

Every gradient is a constant tensor, so every element follows its rule from its start, and a NumPy
reference of the same rule (tfvarbench.measure.reference.Stepped, stepped n times and rounded as the
dtype stores each state) gives the variable and every slot after the n calls. The hyperparameters
settle fast (beta_1 0.5, beta_2 0.75, rho 0.5, momentum 0.5), which keeps the reference cheap; the
rule is the same. A state may differ from its reference by TOLERANCE[dtype] of how far it moved,
plus 8 ulps of its value (each implementation rounds in its own order).

Quick profile (1Ki, float32, 8 cases, to keep the quick suite in its budget): Adam as Keras 3 eager,
in a tf.function and XLA-compiled; the fused Adam (ResourceApplyAdam) eager and in a tf.function; the
mixed_float16 LossScaleOptimizer step; assign(v + x) against assign_add(x). Everything else (every
other rule, the legacy optimizers, the fused XLA step, 1Mi, and Adam in float16 and bfloat16 at 1Mi)
is in --profile full; 100 variables and the other rules' float16 and bfloat16 in --profile full+.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from tfvarbench.measure import Family, Setup, Stepped, repeated_add, tiled

family = Family(
    "optimizer",
    sizes={"quick": ("1Ki",), "full": ("1Ki", "1Mi")},
    dtypes={"quick": ("float32",), "full": ("float32", "float16", "bfloat16")},
)

LR, MOMENTUM, BETA_1, BETA_2, RHO, EPSILON = 0.01, 0.5, 0.5, 0.75, 0.5, 1e-7
ACCUMULATOR, WEIGHT_DECAY = 0.1, 0.5
# Four distinct elements, tiled over every variable: each moves away from zero, so none crosses it.
START = np.array([0.5, -1.25, 2.0, -0.75])
GRADIENT = np.array([-0.5, 0.25, -1.0, 0.125])
TOLERANCE = {"float32": 1e-4, "float16": 3e-2, "bfloat16": 6e-2}
ULPS = {"float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}
MANY = 100


def test_optimizer(measured_case: dict) -> None:
    """Every optimizer variant, on every selected device, size and dtype; timed and verified."""
    assert measured_case["verified"]


# --- the rules, as NumPy references: slots after step t, and under "var" what the step adds ---------
def _momentum(state: dict, t: int, way: str) -> dict:
    m = MOMENTUM * state["momentum"] - LR * GRADIENT  # Keras's convention; the fused op's accum is -m / lr
    return {"momentum": m, "var": m}


def _adam(state: dict, t: int, way: str) -> dict:
    m = state["m"] + (GRADIENT - state["m"]) * (1 - BETA_1)
    v = state["v"] + (GRADIENT**2 - state["v"]) * (1 - BETA_2)
    alpha = LR * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
    return {"m": m, "v": v, "var": -alpha * m / (np.sqrt(v) + EPSILON)}


def _adamw(state: dict, t: int, way: str) -> dict:
    step = _adam(state, t, way)
    step["var"] = step["var"] - state["var"] * WEIGHT_DECAY * LR  # decoupled decay, from the value before the step
    return step


def _adagrad(state: dict, t: int, way: str) -> dict:
    a = state["accumulator"] + GRADIENT**2
    denominator = np.sqrt(a + EPSILON) if way == "keras3" else np.sqrt(a) + EPSILON  # ResourceApplyAdagradV2: outside
    return {"accumulator": a, "var": -LR * GRADIENT / denominator}


def _rmsprop(state: dict, t: int, way: str) -> dict:
    ms = RHO * state["rms"] + (1 - RHO) * GRADIENT**2
    denominator = np.sqrt(ms) + EPSILON if way == "legacy" else np.sqrt(ms + EPSILON)  # legacy without momentum: outside
    increment = LR * GRADIENT / denominator
    return {"rms": ms, "mom": increment, "var": -increment}  # mom: the fused op's momentum slot (momentum 0)


@dataclass(frozen=True)
class Rule:
    """An update rule: its reference, its slots (reference name: start), and how each implementation makes it."""

    name: str
    reference: Callable[[dict, int, str], dict]
    slots: dict[str, float]
    keras_class: str
    options: dict[str, Any]
    keras_slots: dict[str, str]  # reference name -> Keras 3's slot suffix
    legacy_slots: dict[str, str] | None = None  # reference name -> legacy get_slot name; None: no legacy optimizer
    fused: str | None = None  # the raw op
    checked: tuple[str, ...] = field(default=())  # reference states the fused op's slots are (default: slots)


RULES = {
    "momentum": Rule("SGD momentum", _momentum, {"momentum": 0.0}, "SGD", {"momentum": MOMENTUM},
                     {"momentum": "momentum"}, {"momentum": "momentum"}, "ResourceApplyMomentum"),
    "adam": Rule("Adam", _adam, {"m": 0.0, "v": 0.0}, "Adam", {"beta_1": BETA_1, "beta_2": BETA_2, "epsilon": EPSILON},
                 {"m": "momentum", "v": "velocity"}, {"m": "m", "v": "v"}, "ResourceApplyAdam"),
    "adamw": Rule("AdamW", _adamw, {"m": 0.0, "v": 0.0}, "AdamW",
                  {"weight_decay": WEIGHT_DECAY, "beta_1": BETA_1, "beta_2": BETA_2, "epsilon": EPSILON},
                  {"m": "momentum", "v": "velocity"}),
    "adagrad": Rule("Adagrad", _adagrad, {"accumulator": ACCUMULATOR}, "Adagrad",
                    {"initial_accumulator_value": ACCUMULATOR, "epsilon": EPSILON},
                    {"accumulator": "accumulator"}, {"accumulator": "accumulator"}, "ResourceApplyAdagradV2"),
    "rmsprop": Rule("RMSprop", _rmsprop, {"rms": 0.0, "mom": 0.0}, "RMSprop", {"rho": RHO, "epsilon": EPSILON},
                    {"rms": "velocity"}, {"rms": "rms"}, "ResourceApplyRMSProp"),
}


# --- state and checks -----------------------------------------------------------------------------
@dataclass
class _Params:
    """A case's parameters split over its variables, their constant gradients, and the reference they follow."""

    variables: list
    gradients: list
    reference: Stepped


def _params(s: Setup, rule: Rule, way: str, count: int) -> _Params:
    lengths = [len(chunk) for chunk in np.array_split(np.arange(s.elements), count)]
    variables = [s.variable(tiled(START.astype(s.dtype), n), name=f"v{i}") for i, n in enumerate(lengths)]
    gradients = [s.tensor(tiled(GRADIENT.astype(s.dtype), n), name=f"g{i}") for i, n in enumerate(lengths)]
    reference = Stepped({"var": START, **{k: np.full(START.shape, v) for k, v in rule.slots.items()}},
                        lambda state, t: rule.reference(state, t, way), s.dtype, (s.elements,))
    s.info.update(variables=count, rule=rule.name)
    return _Params(variables, gradients, reference)


def _expect(s: Setup, subject: Any, after: Callable[[int], np.ndarray], start: Any, label: str) -> None:
    """subject holds after(n), within TOLERANCE of how far it moved from `start`, plus 8 ulps of its value."""
    tolerance, ulp = TOLERANCE[s.dtype], ULPS[s.dtype]

    def atol(calls: int) -> float:
        want = np.asarray(after(calls), dtype=np.float64)
        return tolerance * float(np.max(np.abs(want - np.asarray(start, dtype=np.float64)))) + 8 * ulp * float(np.max(np.abs(want)))

    s.expect(subject, after, label=label, atol=atol)


def _expect_all(s: Setup, p: _Params, slot_of: Callable[[int, str], Any], names: dict[str, Any]) -> None:
    """Every variable and, for each reference name in `names` (-> transform or None), its slot."""
    for i, var in enumerate(p.variables):
        shape = tuple(var.shape)
        _expect(s, var, p.reference.after("var", shape=shape), tiled(START, shape), f"v{i}")
        for name, transform in names.items():
            first = p.reference.start[name]
            start = tiled(transform(first) if transform else first, shape)
            _expect(s, (lambda i=i, name=name: slot_of(i, name)), p.reference.after(name, transform, shape), start, f"v{i} {name}")


def _traced(s: Setup, body: Callable[[], Any], mode: str, traces: int = 1) -> Callable[[], Any]:
    """The body as the mode runs it; a traced one is checked to have traced `traces` times."""
    if mode == "eager":
        return body
    function = tf.function(body, jit_compile=(mode == "xla"))
    s.after_run(lambda: s.info.update(trace_count=function.experimental_get_tracing_count()))
    s.expect(lambda: s.info["trace_count"], lambda n: traces, label="trace count")
    return function


def _iterations(s: Setup, iterations: Callable[[], Any]) -> None:
    s.expect(iterations, lambda n: n, label="iterations")


# --- the three implementations --------------------------------------------------------------------
def keras3(rule: Rule, mode: str, count: int) -> Callable[[Setup], Callable[[], Any]]:
    def build(s: Setup) -> Callable[[], Any]:
        import keras

        p = _params(s, rule, "keras3", count)
        with tf.device(s.device):
            optimizer = getattr(keras.optimizers, rule.keras_class)(LR, **rule.options)
            optimizer.build(p.variables)
        pairs = list(zip(p.gradients, p.variables))

        def slot_of(i: int, name: str) -> Any:
            suffix = "_" + rule.keras_slots[name]
            return [v.value for v in optimizer.variables if v.path.endswith(suffix)][i]

        _expect_all(s, p, slot_of, {name: None for name in rule.keras_slots})
        _iterations(s, lambda: optimizer.iterations.value)  # a Keras variable; its tf.Variable has the device
        return _traced(s, lambda: optimizer.apply_gradients(pairs), mode)

    return build


def legacy(rule: Rule, mode: str, count: int) -> Callable[[Setup], Callable[[], Any]]:
    def build(s: Setup) -> Callable[[], Any]:
        tf_keras = s.needs("tf_keras", "legacy")
        p = _params(s, rule, "legacy", count)
        optimizer = getattr(tf_keras.optimizers.legacy, rule.keras_class)(LR, **rule.options)
        pairs = list(zip(p.gradients, p.variables))
        assert rule.legacy_slots is not None
        _expect_all(s, p, lambda i, name: optimizer.get_slot(p.variables[i], rule.legacy_slots[name]), {n: None for n in rule.legacy_slots})
        _iterations(s, lambda: optimizer.iterations)

        def step() -> None:  # traced, a legacy apply_gradients returns an Operation, which a tf.function may not return
            optimizer.apply_gradients(pairs)

        # Its slots are made by the first apply, inside the first trace when traced (under the case's device
        # either way); a trace that made variables is traced again, so a legacy optimizer traces twice.
        return _traced(s, step, mode, traces=2)

    return build


def fused(rule: Rule, mode: str, count: int) -> Callable[[Setup], Callable[[], Any]]:
    def build(s: Setup) -> Callable[[], Any]:
        p = _params(s, rule, "fused", count)
        slot_names = [name for name in rule.slots]
        slots = [{name: s.variable(np.full(tuple(v.shape), rule.slots[name]).astype(s.dtype), name=f"{name}{i}")
                  for name in slot_names} for i, v in enumerate(p.variables)]
        h = {name: s.tensor(value, shape=()) for name, value in
             {"lr": LR, "momentum": MOMENTUM, "beta1": BETA_1, "beta2": BETA_2, "rho": RHO, "epsilon": EPSILON, "zero": 0}.items()}
        step = s.variable(0, shape=(), name="step", dtype="float32")  # what a legacy optimizer's `iterations` is for
        s.expect(step, lambda n: n, label="step")
        op = getattr(tf.raw_ops, rule.fused)
        transforms = {"momentum": lambda m: -m / LR} if rule.fused == "ResourceApplyMomentum" else {}
        _expect_all(s, p, lambda i, name: slots[i][name], {name: transforms.get(name) for name in slot_names})

        def apply(var: Any, slot: dict, grad: Any, powers: tuple) -> Any:
            if rule.fused == "ResourceApplyMomentum":
                return op(var=var.handle, accum=slot["momentum"].handle, lr=h["lr"], grad=grad, momentum=h["momentum"])
            if rule.fused == "ResourceApplyAdam":
                return op(var=var.handle, m=slot["m"].handle, v=slot["v"].handle, beta1_power=powers[0], beta2_power=powers[1],
                          lr=h["lr"], beta1=h["beta1"], beta2=h["beta2"], epsilon=h["epsilon"], grad=grad)
            if rule.fused == "ResourceApplyAdagradV2":
                return op(var=var.handle, accum=slot["accumulator"].handle, lr=h["lr"], epsilon=h["epsilon"], grad=grad)
            return op(var=var.handle, ms=slot["rms"].handle, mom=slot["mom"].handle, lr=h["lr"], rho=h["rho"],
                      momentum=h["zero"], epsilon=h["epsilon"], grad=grad)

        def body() -> None:
            t = step.assign_add(1.0)
            powers = (tf.cast(tf.pow(BETA_1, t), s.dtype), tf.cast(tf.pow(BETA_2, t), s.dtype))
            for var, slot, grad in zip(p.variables, slots, p.gradients):
                apply(var, slot, grad, powers)

        return _traced(s, body, mode)

    return build


WAYS = {"keras3": ("Keras 3", keras3), "legacy": ("tf_keras legacy", legacy), "fused": ("fused raw op", fused)}
# (rule, way, mode, variables) kept in the quick profile; the rest of the grid is --profile full.
# The quick profile's share of the suite's budget is about 20 s: 13 cases took 44-54 s here, so quick keeps
# Keras 3 in every mode and the fused op eager and traced (Keras 3's eager step over 100 variables took 0.45 s, its trace 17 s).
QUICK = {("adam", "keras3", mode, 1) for mode in ("eager", "function", "xla")} | {("adam", "fused", mode, 1) for mode in ("eager", "function")}


def _register() -> None:
    for key, rule in RULES.items():
        for way, (label, make) in WAYS.items():
            if (way == "legacy" and rule.legacy_slots is None) or (way == "fused" and rule.fused is None):
                continue
            for mode in ("eager", "function", "xla"):
                for count in (1, MANY):
                    variant = f"{label}{f' ({rule.fused})' if way == 'fused' else ''}, {count} variable{'s' if count > 1 else ''}"
                    build = make(rule, mode, count)
                    build.__name__ = f"{key}_{way}_{mode}_{count}"
                    quick = (key, way, mode, count) in QUICK
                    # AdamW's decay is its own rounded assign_sub in Keras: in bfloat16 that second rounding moves
                    # the point where the variable stops, which the reference (one rounding a step) does not model.
                    dtypes = ("float32", "float16") if key == "adamw" else None
                    family.case(f"{rule.name} step", variant, mode=mode, dtypes=dtypes, profiles=None if quick else ("full",))(build)


_register()


# --- mixed precision: a mixed_float16 Dense layer, its loss scaled by LossScaleOptimizer --------------
BATCH, GROWTH = 4, 2000


@family.case("mixed-precision step", "mixed_float16 Dense + LossScaleOptimizer(Adam), tape included", dtypes=("float32",))
def adam_mixed_float16(s: Setup):
    import keras

    side = int(np.sqrt(s.elements))
    x_host = np.resize(np.array([1, 0, -1, 1, 1, -1]) / 4, (BATCH, side))
    with tf.device(s.device):
        layer = keras.layers.Dense(side, dtype="mixed_float16", kernel_initializer="ones", bias_initializer="zeros")
        layer.build((BATCH, side))
        optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(LR, **RULES["adam"].options), dynamic_growth_steps=GROWTH)
        optimizer.build(layer.trainable_variables)
    x = s.tensor(x_host.astype("float16"), name="x")

    def body() -> None:
        with tf.GradientTape() as tape:
            # The mean keeps the scaled float16 gradients finite for 6 doublings of the scale (12000 steps).
            loss = optimizer.scale_loss(tf.reduce_mean(tf.cast(layer(x), "float32")))
        grads = tape.gradient(loss, layer.trainable_variables)
        optimizer.apply_gradients(zip(grads, layer.trainable_variables))

    count = BATCH * side
    gradients = {"kernel": np.repeat((x_host.sum(axis=0) / count)[:, None], side, axis=1), "bias": np.full(side, BATCH / count)}
    for variable, (name, grad) in zip(layer.trainable_variables, gradients.items()):
        start = np.ones(grad.shape) if name == "kernel" else np.zeros(grad.shape)

        def step(state: dict, t: int, grad: np.ndarray = grad) -> dict:
            m = state["m"] + (grad - state["m"]) * (1 - BETA_1)
            v = state["v"] + (grad**2 - state["v"]) * (1 - BETA_2)
            alpha = LR * np.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
            return {"m": m, "v": v, "var": -alpha * m / (np.sqrt(v) + EPSILON)}

        reference = Stepped({"var": start, "m": np.zeros(grad.shape), "v": np.zeros(grad.shape)}, step, "float32", grad.shape)
        _expect(s, variable.value, reference.after("var"), start, name)
    s.expect(lambda: optimizer.dynamic_scale.value, lambda n: 2.0**15 * 2.0 ** (n // GROWTH), label="loss scale")
    s.expect(lambda: optimizer.step_counter.value, lambda n: n % GROWTH, label="loss-scale step counter")
    s.info.update(rule="Adam", policy="mixed_float16")
    return body


# --- assign(v + x) against assign_add(x) (tensorflow/tensorflow#11514: which is faster depends on the threads) ---
@family.case("add to a variable", "v.assign(v + x)", dtypes=("float32",))
def assign_sum(s: Setup):
    v, x = s.variable(0), s.tensor(1)
    s.expect(v, lambda n: repeated_add(0, 1, n, s.dtype))
    return lambda: v.assign(v + x, read_value=False)


@family.case("add to a variable", "v.assign_add(x)", dtypes=("float32",))
def assign_add(s: Setup):
    v, x = s.variable(0), s.tensor(1)
    s.expect(v, lambda n: repeated_add(0, 1, n, s.dtype))
    return lambda: v.assign_add(x, read_value=False)

"""What a variant gets to build its case (`Setup`), and the checks every case must pass after timing.

Everything a variant creates through `Setup.variable` or `Setup.tensor` is placed on the case's
device and its placement is checked; everything declared with `expect` is compared with the value
it must hold after the body ran n times. A case that fails a check raises VerificationError: its
figure would be a lie.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..runs import SIZES
from .cases import Profile, rows_touched
from .reference import repeated_add

__all__ = ["Setup", "Unsupported", "VerificationError", "index_dtype"]


class VerificationError(AssertionError):
    """A case left the wrong state, or ran on the wrong device: its figure would be a lie."""


class Unsupported(Exception):
    """This op cannot run here (no kernel for the dtype on the device, a package not installed): skipped, not failed."""


def index_dtype(device: str) -> str:
    """Row indices for a device's kernels: int64 on a GPU, where an int32 tensor is kept in host memory
    (TensorFlow's int32 Identity kernel on GPUs is registered with HostMemory), so every call would copy it."""
    return "int64" if device.startswith("GPU") else "int32"


def _agrees(got: np.ndarray, want: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether every element of `got` is within tolerance of `want`, compared as float64 (NaN never agrees).

    With no tolerance that is plain equality, which NumPy checks in one pass: isclose on a 16Mi
    state made float64 copies and temporaries, and took a second a case on the full profile.
    """
    if rtol == 0 and atol == 0:
        return bool(np.all(got == want))
    return bool(np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=rtol, atol=atol))


@dataclass
class _Expectation:
    label: str
    get: Callable[[], Any]
    after: Callable[[int], Any]
    rtol: float
    atol: float | Callable[[int], float]
    device: str | None


class Setup:
    """What a variant gets: the device, dtype and size of its case, and helpers that place and check.

    Everything a variant creates through `variable` or `tensor` is placed on the case's device and
    its placement is checked after timing; everything declared with `expect` is compared with the
    value it must hold after the body ran n times.
    """

    def __init__(self, device: str, dtype: str, size: str, profile: Profile, rows: str | None = None) -> None:
        # A replicated case runs on a group written "CPU:0+CPU:1": its first device is its home.
        self.devices = device.split("+")
        self.device = self.devices[0]
        self.replicas = len(self.devices)
        self.dtype = dtype
        self.size = size
        self.elements = SIZES[size]
        self.shape: tuple[int, ...] = () if size == "scalar" else (self.elements,)
        self.profile = profile
        self.bytes = self.elements * np.dtype(dtype).itemsize
        self.rows_label = rows  # rows a call touches ("1", "1%"), for a case on a table (see `table`)
        self.touched = 0
        self.table_shape: tuple[int, int] = (0, 0)
        self.info: dict[str, Any] = {}
        self._expectations: list[_Expectation] = []
        self._placed: list[tuple[str, Any]] = []
        self._after_run: list[Callable[[], None]] = []

    # --- making state -------------------------------------------------------------------------
    def needs(self, package: str, extra: str) -> Any:
        """Import an optional package the case runs; when it is absent the case is skipped, naming the extra that installs it."""
        import importlib

        try:
            return importlib.import_module(package)
        except ImportError:
            raise Unsupported(f"{package} is not installed: pip install -e \".[{extra}]\"") from None

    def host(self, fill: Any, shape: Sequence[int] | None = None, dtype: str | None = None) -> np.ndarray:
        """A NumPy array in host memory, filled with `fill`."""
        return np.full(self.shape if shape is None else tuple(shape), fill, dtype=dtype or self.dtype)

    def variable(self, fill: Any, shape: Sequence[int] | None = None, name: str = "v", dtype: str | None = None) -> Any:
        """A tf.Variable on the case's device, filled with `fill` (or holding an array given as `fill`)."""
        import tensorflow as tf

        value = fill if isinstance(fill, np.ndarray) else self.host(fill, shape, dtype)
        with tf.device(self.device):
            var = tf.Variable(value, name=name)
        self._placed.append((name, var))
        return var

    def tensor(self, fill: Any, shape: Sequence[int] | None = None, name: str = "x", dtype: str | None = None) -> Any:
        """A constant tensor on the case's device."""
        import tensorflow as tf

        value = fill if isinstance(fill, np.ndarray) else self.host(fill, shape, dtype)
        with tf.device(self.device):
            const = tf.identity(tf.constant(value))  # identity pins the copy to the device
        self._placed.append((name, const))
        return const

    def table(self, fill: Any, width: int, name: str = "table") -> Any:
        """A variable of rows x `width` (the case's size in elements), and the rows a call touches (`touched`).

        A case on a table is measured by the rows it touches: `bytes` becomes those rows' bytes (the
        record's `rows` field is their count), so cost models fit time against rows touched.
        """
        table_rows = self.elements // width
        if table_rows < 1 or table_rows * width != self.elements:
            raise ValueError(f"a {self.size} table cannot have rows of {width}")
        self.touched = rows_touched(self.rows_label or "1", table_rows)
        self.bytes = self.touched * width * np.dtype(self.dtype).itemsize
        self.table_shape = (table_rows, width)
        self.info.update(rows=self.touched, table=f"{table_rows}x{width}")
        return self.variable(fill, shape=(table_rows, width), name=name)

    def indices(self, values: Any, name: str = "rows") -> Any:
        """Row indices as a tensor on the case's device, in the index dtype its kernels read there (`index_dtype`)."""
        self.info["index_dtype"] = index_dtype(self.device)
        return self.tensor(np.asarray(values), name=name, dtype=self.info["index_dtype"])

    def strategy(self) -> Any:
        """The tf.distribute strategy this case runs under, its replica and worker counts recorded.

        In a worker process started by the multi-worker harness, that process's
        MultiWorkerMirroredStrategy; otherwise a MirroredStrategy over the case's devices.
        """
        from . import strategies

        strategy = strategies.worker_strategy() or strategies.local_strategy(self.devices)
        self.info.update(replicas=strategy.num_replicas_in_sync, devices="+".join(self.devices))
        if strategies.worker_count():
            self.info["workers"] = strategies.worker_count()
        return strategy

    def parameter_servers(self, partitioner_name: str = "whole", partitioner: Any = None) -> tuple[Any, Any]:
        """(ParameterServerStrategy, ClusterCoordinator) of a coordinator process's cluster (measure.cluster), split by `partitioner`."""
        from . import strategies  # it records how variables were split, and that the servers hold them on their CPUs
        return strategies.parameter_servers(partitioner_name, partitioner, record=self.info)

    # --- declaring what must hold -------------------------------------------------------------
    def expect(
        self,
        subject: Any,
        after: Callable[[int], Any],
        label: str | None = None,
        rtol: float = 0.0,
        atol: float | Callable[[int], float] = 0.0,
        device: str | None = None,
    ) -> None:
        """After the body ran n times, `subject` (a variable, or a callable returning a tensor) holds after(n).

        It must live on `device` (default: the case's device), as a replica's copy lives on its own.
        `atol` may depend on n (atol(n)): how far a state may drift from its reference can grow with the steps.
        """
        get = subject if callable(subject) and not hasattr(subject, "numpy") else (lambda: subject)
        name = label or getattr(subject, "name", "value").split(":")[0]
        self._expectations.append(_Expectation(name, get, after, rtol, atol, device or self.device))

    def expect_result(self, after: Callable[[int], Any], rtol: float = 0.0, atol: float = 0.0) -> None:
        """The body's return value (from its last call) holds after(n) and lives on the device."""
        self._expectations.append(_Expectation("result", lambda: self._result, after, rtol, atol, self.device))

    def after_run(self, action: Callable[[], None]) -> None:
        """Run `action` after timing, before verification (e.g. to record a trace count in `info`)."""
        self._after_run.append(action)

    def adds(self, start: Any, step: Any) -> Callable[[int], np.ndarray]:
        """after(n) for a state that starts at `start` and gains `step` per call, in this dtype."""
        return lambda calls: repeated_add(start, step, calls, self.dtype)

    def changes(self, rows: Any, row_after: Callable[[int], Any], start: Any = 0) -> Callable[[int], np.ndarray]:
        """after(n) for the table (`table`): `rows` hold row_after(n), every other row still holds `start`."""

        def after(calls: int) -> np.ndarray:
            value = np.full(self.table_shape, start, dtype=self.dtype)
            value[np.asarray(rows)] = row_after(calls)
            return value

        return after

    # --- used by the harness ------------------------------------------------------------------
    _result: Any = None

    @property
    def result(self) -> Any:
        """The body's last return value, available to `expect` callables at verification."""
        return self._result

    def verify(self, calls: int, result: Any) -> dict[str, int]:
        """Check placement, dtype, shape and values of everything declared; raise VerificationError.

        Returns what was checked, for the record: the values compared, the placements checked, and after how many calls.
        """
        self._result = result
        for action in self._after_run:
            action()
        from .devices import same_device

        where = f"on {self.device} ({self.size}, {self.dtype})"
        for name, placed in self._placed:
            if not same_device(getattr(placed, "device", ""), self.device):
                raise VerificationError(f"{name} {where} was placed on {placed.device!r}")
        if not self._expectations:
            raise VerificationError(f"case {where} declared nothing to verify")
        for expectation in self._expectations:
            actual = expectation.get()
            if actual is None:
                raise VerificationError(f"{expectation.label} {where}: the body returned nothing to check")
            device = getattr(actual, "device", "")
            # Only TensorFlow values have a placement to check (NumPy 2 arrays answer .device == "cpu").
            if expectation.device and hasattr(actual, "numpy") and not same_device(device, expectation.device):
                raise VerificationError(f"{expectation.label} {where} is on {device!r}")
            got = np.asarray(actual.numpy() if hasattr(actual, "numpy") else actual)
            want = np.asarray(expectation.after(calls))
            if want.dtype.kind in "fiub" and got.dtype != np.dtype(self.dtype) and want.dtype == np.dtype(self.dtype):
                raise VerificationError(f"{expectation.label} {where} has dtype {got.dtype}, expected {self.dtype}")
            if want.shape != got.shape and want.ndim != 0:
                raise VerificationError(f"{expectation.label} {where} has shape {got.shape}, expected {want.shape}")
            want = np.broadcast_to(want, got.shape)
            atol = expectation.atol(calls) if callable(expectation.atol) else expectation.atol
            if not _agrees(got, want, expectation.rtol, atol):
                diff = np.flatnonzero(~np.isclose(got.astype(np.float64), want.astype(np.float64), rtol=expectation.rtol, atol=atol))
                first = int(diff[0])
                at = f"row {first // got.shape[1]}, column {first % got.shape[1]}" if got.ndim == 2 else f"element {first}"
                raise VerificationError(
                    f"{expectation.label} {where} after {calls} calls holds {got.flat[first].item()!r} at {at},"
                    f" expected {want.flat[first].item()!r} ({diff.size} of {got.size} elements differ)"
                )
        return {"values": len(self._expectations), "placements": len(self._placed), "calls": calls}



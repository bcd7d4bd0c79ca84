"""What a benchmark case is: a family of variants, its grid under a profile (measure/profiles.py), and its placements.

A variant is one function that takes a `Setup` (tfvarbench.measure.setup), makes its variables and
inputs through it, declares what state the timed body must leave after n calls, and returns the
body. The harness does the rest: placement, timing, verification and the record saved with the run.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..runs import SIZES
from .hardware import HardwareError, replica_groups, worker_devices
from .profiles import PROFILES, Omission, Profile

__all__ = ["PROFILES", "Builder", "Case", "Family", "Omission", "Profile", "rows_touched"]

# A variant: takes the case's Setup, returns the body to time.
Builder = Callable[[Any], Callable[[], Any]]


def rows_touched(label: str, table_rows: int) -> int:
    """The rows a call touches: a count ("1") or a share of the table's rows ("1%", "10%"), at least one."""
    if label.endswith("%"):
        return max(1, table_rows * int(label[:-1]) // 100)
    return min(int(label), table_rows)


def _rows_slug(label: str) -> str:
    """A label as a test name may hold it: "1" -> "1row", "10%" -> "10pct"."""
    return f"{label[:-1]}pct" if label.endswith("%") else f"{label}row{'s' if label != '1' else ''}"


@dataclass(frozen=True)
class Case:
    """One variant of an op family: its name, the op and variant in the user's words, and its builder."""

    family: str
    name: str
    op: str
    variant: str
    mode: str
    build: Builder = field(compare=False, repr=False)
    dtypes: tuple[str, ...] | None = None
    min_size: int = 1
    sizes: tuple[str, ...] | None = None
    rows: str | None = None  # rows of a table touched per call ("1", "1%"), for a variant on a table
    profiles: tuple[str, ...] | None = None  # the profiles that run it (None: every one)

    def runs_with(self, dtype: str, size: str) -> bool:
        in_sizes = self.sizes is None or size in self.sizes
        return (self.dtypes is None or dtype in self.dtypes) and SIZES[size] >= self.min_size and in_sizes

    def __str__(self) -> str:
        return self.name


class Family:
    """An op family: a module-level registry of variants. `@family.case(...)` adds one.

    `sizes` and `dtypes` replace the profile's grid for this family (a reference workload has one
    fixed size), `min_size` drops the profile's sizes below it (a table of rows); `host_only` runs
    it once, on the first CPU, because it measures the host, not a device;
    `in_workers` runs it once, in worker processes, on the chief worker's device; `clusters`, as
    (parameter servers, workers) pairs, runs it in a parameter-server cluster of each size, its
    coordinator in a process of its own (measure.cluster), labelled with the chief worker's device.
    `profiles` names the only profiles it runs in, unless selected by name (plugin.params). `sizes`
    and `dtypes` may instead map a profile's name to its own grid ({"quick": ("1Ki",), "full": ("1Ki",
    "1Mi")}), so a large family can keep its quick grid small.
    """

    def __init__(
        self,
        name: str,
        dtypes: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        sizes: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
        host_only: bool = False,
        replicas: Sequence[int | str] | None = None,
        in_workers: bool = False,
        clusters: Sequence[tuple[int, int]] | None = None,
        profiles: Sequence[str] | None = None,
        min_size: int = 1,
    ) -> None:
        self.name = name
        self.min_size = min_size
        self.dtypes = tuple(dtypes) if dtypes and not isinstance(dtypes, Mapping) else None
        self.sizes = tuple(sizes) if sizes and not isinstance(sizes, Mapping) else None
        self.grids = {"dtypes": dict(dtypes) if isinstance(dtypes, Mapping) else {}, "sizes": dict(sizes) if isinstance(sizes, Mapping) else {}}
        self.host_only = host_only
        self.replicas = tuple(replicas) if replicas else None
        self.in_workers = in_workers or bool(clusters)
        self.clusters = tuple(clusters) if clusters else None
        self.profiles = tuple(profiles) if profiles else None
        self.cases: list[Case] = []

    def grid(self, profile: Profile) -> list[tuple[Case, str, str]]:
        """(case, size, dtype) for every combination this family runs under `profile`."""
        sizes = self._own("sizes", profile) or self.sizes or profile.sizes
        dtypes = profile.dtypes if self.dtypes is None else [d for d in profile.dtypes if d in self.dtypes] or [self.dtypes[0]]
        dtypes = self._own("dtypes", profile) or dtypes
        return [
            (case, size, dtype) for case in self.cases if case.profiles is None or profile.among(case.profiles)
            for size in sizes for dtype in dtypes if case.runs_with(dtype, size) and profile.runs(case.family, size, dtype, case.name)
        ]

    def _own(self, kind: str, profile: Profile) -> Sequence[str] | None:
        """This family's own grid of `kind` under `profile`, or under the profile it completes (full's, in full+)."""
        grid = self.grids[kind]
        return grid.get(profile.name) or next((grid[name] for name in grid if name in PROFILES and PROFILES[name].whole == profile.name), None)

    def devices(self, selected: Sequence[str], present: Sequence[str] | None = None, workers: int = 2) -> list[tuple[str, str | None]]:
        """(device or device group, reason to skip or None) for every placement this family runs on.

        A replicated family runs on groups of 1, 2, ... devices of one kind ("all" = every selected
        device of that kind), written "CPU:0+CPU:1" or "GPU:0+GPU:1"; a group beyond the selection
        is skipped, naming the option that provides it (hardware.replica_groups; `present` is every
        device of the machine). A family in workers runs where the chief worker times: the first
        selected GPU, one GPU per worker, or CPU:0 when no GPU is selected.
        """
        if self.in_workers:
            try:
                # A cluster too big for the GPUs is skipped alone, when it is started (measure.cluster).
                chief = worker_devices(1 if self.clusters else workers, [name for name in selected if name.startswith("GPU:")])[0]
            except HardwareError as error:
                return [(f"{workers} workers", str(error))]
            return [(chief["gpu"] or chief["device"], None)]
        if self.host_only:
            cpus = [name for name in selected if name.startswith("CPU:")]
            return [(cpus[0] if cpus else "CPU:0", None)]
        if not self.replicas:
            return [(name, None) for name in selected]
        return replica_groups(selected, self.replicas, present)

    def case(
        self,
        op: str,
        variant: str = "",
        mode: str = "eager",
        dtypes: Sequence[str] | None = None,
        min_size: int = 1,
        sizes: Sequence[str] | None = None,
        rows: Sequence[str] | None = None,
        profiles: Sequence[str] | None = None,
    ) -> Callable[[Builder], Builder]:
        """Register the decorated builder as a variant of this family.

        `dtypes` and `sizes` narrow the grid for this variant (call overhead needs only a scalar);
        `min_size` drops sizes too small for it (a slice of a scalar). `rows` makes one case per
        count of table rows touched per call ("1", "1%", "10%"), named `<builder>_1row`,
        `<builder>_1pct`: the builder reads its count from `Setup.table`. `profiles` limits it to those
        profiles (a quick run times a subset of the full grid); the same builder may be registered
        again for others, e.g. at more `rows`.
        """

        def register(build: Builder) -> Builder:
            allowed = tuple(dtypes) if dtypes else self.dtypes
            only = tuple(sizes) if sizes else None
            for label in rows or (None,):
                name = build.__name__ if label is None else f"{build.__name__}_{_rows_slug(label)}"
                if any(existing.name == name for existing in self.cases):
                    raise ValueError(f"{self.name}: two variants are named {name}")
                self.cases.append(Case(
                    self.name, name, op, variant, mode, build, allowed, max(min_size, self.min_size), only, label, tuple(profiles) if profiles else None
                ))
            return build

        return register

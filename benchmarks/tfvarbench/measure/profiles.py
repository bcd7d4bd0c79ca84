"""The profiles: a size/dtype grid and a time budget each, and what a profile leaves out to keep to its time.

`quick` is a laptop minute or two, `full` the picture of a machine in 20 minutes on two cores,
`full+` the whole grid. A family may give a profile its own grid (measure/cases.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

__all__ = ["PROFILES", "Omission", "Profile"]


@dataclass(frozen=True)
class Omission:
    """Cases a profile leaves out to keep to its time: at `sizes`, in `dtypes`, of `families` (all of each when empty), except `but` families.

    `variants` narrows it to the variants whose names match one of its patterns (fnmatch: "*_100"),
    which `what` names in the user's words ("over 100 variables").
    """

    sizes: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    but: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    what: str = ""

    def covers(self, family: str, size: str, dtype: str, variant: str = "") -> bool:
        chosen = (not self.families or family in self.families) and family not in self.but
        chosen = chosen and (not self.variants or any(fnmatchcase(variant, pattern) for pattern in self.variants))
        return chosen and (not self.sizes or size in self.sizes) and (not self.dtypes or dtype in self.dtypes)

    def __str__(self) -> str:
        where = ", ".join(self.families) if self.families else "every family" + (f" but {', '.join(self.but)}" if self.but else "")
        where += f" {self.what or 'variants ' + ', '.join(self.variants)}" if self.variants else ""
        return where + (f" at {', '.join(self.sizes)}" if self.sizes else "") + (f" in {', '.join(self.dtypes)}" if self.dtypes else "")


@dataclass(frozen=True)
class Profile:
    """A size/dtype grid and a time budget: `quick` for a laptop minute or two, `full` for the picture, `full+` for the whole grid.

    A run times every case `blocks` times, for `case_s` each, one block per fresh Python process
    (measure/blocks.py): a case's speed depends on the process and the minute, which only blocks
    see, and comparisons use the blocks' spread (analysis/regress.py).
    """

    name: str
    sizes: tuple[str, ...]
    dtypes: tuple[str, ...]
    round_s: float
    case_s: float
    min_rounds: int
    blocks: int
    leaves_out: tuple[Omission, ...] = ()
    whole: str | None = None  # the profile that runs what this one leaves out

    def runs(self, family: str, size: str, dtype: str, variant: str = "") -> bool:
        return not any(omission.covers(family, size, dtype, variant) for omission in self.leaves_out)

    def among(self, names: Sequence[str]) -> bool:
        """Whether this profile is one of `names`, counting a whole profile (full+) as the one it completes (full)."""
        return self.name in names or any(name in PROFILES and PROFILES[name].whole == self.name for name in names)

    def left_out(self) -> str | None:
        """What this profile leaves out and how to run it, in a sentence; None when it runs its whole grid."""
        if not self.leaves_out:
            return None
        return f"--profile {self.name} leaves out {'; '.join(map(str, self.leaves_out))}: --profile {self.whole} runs them too"


_ALL_SIZES = ("scalar", "1Ki", "64Ki", "1Mi", "16Mi")
_ALL_DTYPES = ("float32", "float16", "float64", "int32")
# Ten passes of 10 ms rounds (asv's sample time) in three blocks: the quick profile's statistics, at twice its rounds.
_FULL_TIMING = dict(round_s=0.01, case_s=0.1, min_rounds=10, blocks=3)
_HALF_FLOATS = ("float16", "bfloat16")

PROFILES: dict[str, Profile] = {
    "quick": Profile("quick", ("scalar", "1Ki", "1Mi"), ("float32",), round_s=0.005, case_s=0.05, min_rounds=10, blocks=3),
    # The picture in 20 minutes on two cores (docs/timing.md, "The full profile's budget"): every family,
    # variant and size in float32; assignment's other dtypes at scalar, 1Ki and 1Mi (enough for a cost
    # model); multiworker up to 1Mi (at 16Mi a case took tens of seconds over loopback gRPC); optimizer
    # over one variable (100 took 73% of its time: a Keras 3 trace over 100 took 2.5-4 s, an eager step
    # 0.3 s), and Adam's float16 and bfloat16 at 1Mi. A new family is float32-only unless named in `but`.
    "full": Profile(
        "full", _ALL_SIZES, _ALL_DTYPES, **_FULL_TIMING,  # type: ignore[arg-type]
        leaves_out=(
            Omission(dtypes=_ALL_DTYPES[1:], but=("assignment", "optimizer")),  # mixed precision is what the optimizer family is about
            Omission(("64Ki", "16Mi"), _ALL_DTYPES[1:], families=("assignment",)),
            Omission(("16Mi",), families=("multiworker",)),
            Omission(families=("optimizer",), variants=("*_100",), what="over 100 variables"),
            Omission(dtypes=_HALF_FLOATS, families=("optimizer",), variants=("momentum_*", "adamw_*", "adagrad_*", "rmsprop_*"), what="rules but Adam"),
            Omission(("1Ki",), _HALF_FLOATS, families=("optimizer",)),
        ),
        whole="full+",
    ),
    "full+": Profile("full+", _ALL_SIZES, _ALL_DTYPES, **_FULL_TIMING),  # type: ignore[arg-type]
}

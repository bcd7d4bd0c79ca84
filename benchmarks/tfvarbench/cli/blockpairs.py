"""The blocks of a `tfvarbench ab` job: what runs a side, who goes first in each pair, and running the pairs.

Each block is one fresh process (`pytest benchmarks --blocks 1 --pin`) in a session of its own, its
output in logs/, its run in baseline/ or current/. A block that fails stops the job with one line
naming the side and the block; every block saved before it stays.
"""
from __future__ import annotations

import os
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..processes import TURNS, Child, ChildFailed, TurnEnds, start
from ..runs import RunError, load_run
from .usage import BadInput

__all__ = ["MIN_PAIRS", "Design", "Side", "order", "run_pairs", "side_core"]

# One pair has no spread to judge by, and the verdict's signed-rank test needs five to reach 0.05 (all
# five one way: 1/32); an even count lets each side lead as often as the other, so a steady drift
# over the job cancels (with A B | B A | A B the second block of two pairs in three gains it).
MIN_PAIRS = 6


@dataclass(frozen=True)
class Design:
    """How a job runs its pairs: how many (None: as many as `budget` seconds allow), how a pair's blocks
    share the machine (`how`: turns, alternate or duet), who leads each pair, and the pytest
    arguments every block gets."""

    pairs: int | None
    budget: float
    how: str
    order: str
    seed: int
    pytest_args: tuple[str, ...]


@dataclass
class Side:
    """What runs one side's blocks: an interpreter, extra environment, and the checkout it runs in."""

    name: str
    python: str
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    harness: Path | None = None  # benchmarks/ holding the tfvarbench that times this side (None: the checkout's own)
    blocks: list[Path] = field(default_factory=list)

    def command(self, pytest_args: list[str], out: Path) -> list[str]:
        preload = ["-p", "tfvarbench.plugin"] if self.harness is not None else []
        return [self.python, "-m", "pytest", *preload, "benchmarks", *pytest_args, "--blocks", "1", "-q",
                "-p", "no:cacheprovider", "--benchmark-json", str(out)]

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0"), **self.env}
        if self.harness is not None:  # imported first (-p), so the checkout's own conftest finds it loaded
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.harness), env.get("PYTHONPATH")]))
        return env


def order(pairs: int, how: str, seed: int) -> list[tuple[str, str]]:
    """Who goes first in each pair: A B | B A | A B ... so each side leads as often as the other, or a seeded coin toss."""
    toss = random.Random(seed)
    sides = ("baseline", "current")
    first = [index % 2 if how == "abba" else toss.randrange(2) for index in range(pairs)]
    return [(sides[lead], sides[1 - lead]) for lead in first]


def _start(side: Side, pytest_args: tuple[str, ...], out: Path, index: int, core: int | None, running: list[Child],
           turns: TurnEnds | None = None) -> Path:
    """Start the side's block `index` (on `core`, when given; taking turns through `turns`, when given); return where it saves its run."""
    saved = out / side.name / f"block-{index:02d}.json"
    log = out / "logs" / f"{side.name}-{index:02d}.log"
    args = [*pytest_args] if any(arg in ("--pin", "--no-pin") for arg in pytest_args) else [*pytest_args, "--pin"]
    env = side.environment() | ({TURNS: turns.encode()} if turns else {})
    try:  # --pin then keeps the block on the core it starts on
        start(f"{side.name} block {index}", side.command(args, saved), log, env=env, cwd=side.folder, core=core,
              pass_fds=(turns.wait, turns.hand) if turns else (), into=running)
    except ChildFailed as error:
        raise BadInput(str(error)) from None
    return saved


def _finish(side: Side, code: int, saved: Path, index: int, out: Path) -> None:
    """Keep the block's saved run, or stop the job with one line naming the side and the block."""
    log = out / "logs" / f"{side.name}-{index:02d}.log"
    if code != 0 or not saved.is_file():
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        last = lines[-1] if lines else "no output" + (f" (no space left on the disk of {out})" if shutil.disk_usage(out).free < 65536 else "")
        raise BadInput(f"{side.name} block {index} failed (exit {code}; its log: {log}): {last}")
    try:
        load_run(saved)
    except RunError as error:
        raise BadInput(f"{side.name} block {index} saved no usable run: {error}") from None
    side.blocks.append(saved)


def _wait(running: list[Child]) -> list[int]:
    """Wait for every block started (all of a wave, even when one failed first)."""
    codes = [child.wait() for child in running]
    running.clear()
    return codes


Block = tuple[Side, int, "int | None"]  # a side, its pair's index, the core it runs on (None: wherever --pin puts it)


def _wave(blocks: list[Block], design: Design, out: Path, running: list[Child], turns: bool) -> None:
    """Run blocks at once and keep their runs; with `turns`, each two in a row are a pair taking turns on their core (turns.py)."""
    saved, pipes = [], []
    try:
        for position, (side, index, core) in enumerate(blocks):
            if turns and position % 2 == 0:  # one pipe a block, its turns arrive on; the leader's holds its first turn
                pipes = [os.pipe(), os.pipe()]
                os.write(pipes[0][1], b"t")
            # Its pipe, the other's, whether it goes first, and the pair's file of iterations a round (both time a case alike).
            lead, shared = ("first", "second")[position % 2], out / "logs" / f"iterations-{index:02d}.json"
            ends = TurnEnds(pipes[position % 2][0], pipes[1 - position % 2][1], lead, shared) if turns else None
            saved.append(_start(side, design.pytest_args, out, index, core, running, ends))
            if turns and position % 2 == 1:  # both blocks hold their ends now: when one exits, the other reads an empty pipe
                held, pipes = pipes, []
                _close(held)
    finally:  # a block that could not start: the pipes of its pair are closed all the same
        _close(pipes)
    for (side, index, _), code, path in zip(blocks, _wait(running), saved):
        _finish(side, code, path, index, out)


def _close(pipes: list[tuple[int, int]]) -> None:
    for descriptor in (end for pipe in pipes for end in pipe):
        os.close(descriptor)


def _waves(design: Design, cores: list[int]) -> int:
    """Pairs run at once: one a core when taking turns, else one."""
    return len(cores) if design.how == "turns" else 1


def run_pairs(sides: list[Side], design: Design, out: Path, running: list[Child]) -> None:
    """Run the job's pairs of blocks, keeping each side's saved blocks in `side.blocks`; `running` holds the blocks running now."""
    by_name = {side.name: side for side in sides}
    wanted = design.pairs or MIN_PAIRS
    plan = order(wanted if design.pairs else 1000, design.order, design.seed)
    started, done, cores = time.monotonic(), 0, sorted(os.sched_getaffinity(0))
    while done < wanted or (design.pairs is None and done % 2 == 1) or (design.pairs is None and _fits(started, done, design.budget)):
        at_once = min(_waves(design, cores), (design.pairs or done + _waves(design, cores)) - done)
        indices = range(done + 1, done + at_once + 1)
        for index, core in zip(indices, cores):
            lead, follow = plan[index - 1]
            how = {"turns": f" taking turns on core {core}", "duet": " at once"}.get(design.how, "")
            print(f"pair {index}{f' of {design.pairs}' if design.pairs else ''}: {lead} then {follow}{how}", flush=True)
        if design.how == "alternate":
            for side in plan[done]:
                _wave([(by_name[side], done + 1, None)], design, out, running, turns=False)
        elif design.how == "duet":  # cores swap each pair, so neither side keeps the better core
            _wave([(by_name[side], done + 1, side_core(side, done + 1, cores)) for side in plan[done]], design, out, running, turns=False)
        else:  # each pair on a core of its own, its two blocks taking turns there
            _wave([(by_name[side], index, core) for index, core in zip(indices, cores) for side in plan[index - 1]], design, out, running, turns=True)
        done += at_once


def side_core(side: str, index: int, cores: list[int]) -> int:
    """The core a side's block of pair `index` (from 1) runs on in a duet: the baseline's first, second, first, ...

    By side, not by who leads: with A B | B A a swap by leader would keep each side on one core
    all job long (a job here read 14% between the two cores as a change).
    """
    return cores[(index + (side == "current")) % 2]


def _fits(started: float, done: int, budget: float) -> bool:
    """Whether two more pairs (an even count) are expected to end within the budget, at the pace of the pairs so far."""
    elapsed = time.monotonic() - started
    return elapsed + 2 * elapsed / done <= budget

"""A run in blocks: every block is the whole selection of cases, timed in a fresh Python process.

Why: on a shared machine the same case in two processes can differ by 15-40% while rounds within
one process agree within a few percent (memory placement, thread placement and neighbours differ
per process and per minute). asv repeats each benchmark in separate processes for the same reason.
A run of N blocks therefore holds N independent samples of that variation, and `compare` uses their
spread: two runs of this kind can be compared without mistaking process luck for a regression.

The parent pytest process collects as usual, then runs block k as `pytest <same arguments>
--tfvarbench-block k` in a child, one after another. Each child runs only its block's items and
writes (a) its pytest-benchmark JSON and (b) its test reports, which the parent replays through its
own hooks, so pass/fail, -x and the exit status behave as in one process. The parent merges the
children's JSON into the one saved run (block k's cases tagged `block: k`).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..processes import ITERATIONS, Child, ChildFailed, start
from ..runs import atomic_write
from .progress import Estimate, Follower, ProgressLine
from .stream import ReportWriter, replay

__all__ = ["BlockFailed", "block_name", "child_command", "merge_saved", "run_blocks", "ReportWriter", "write_json"]


class BlockFailed(RuntimeError):
    """A block's process ended without reporting its tests (a crash, a usage error)."""


def child_command(args: Sequence[str], block: int, folder: Path, threads: int | None = None) -> list[str]:
    """The pytest command line of block `block` (at `threads` threads, in a run over several counts): the user's own arguments, then the child's.

    The user's --benchmark-json is left out: pytest-benchmark opens that file for writing (and
    truncates it) while parsing the command line, and only the parent writes it, with the merged
    run. Saving options are switched off in the child itself (the parent saves the merged run). The
    cache stays on, so --lf and --sw select in the child what they selected in the parent.
    """
    own = ["--tfvarbench-threads", str(threads)] if threads is not None else []
    return [
        sys.executable, "-m", "pytest", *_of_block(_without_json(args), block),
        "--tfvarbench-block", str(block), *own,
        "--tfvarbench-out", str(folder),
        "--benchmark-json", str(folder / f"{block_name(block, threads)}.json"),
    ]


def block_name(block: int, threads: int | None = None) -> str:
    """The stem of a block's files in the run's folder: block-2, or block-2-threads1 in a run over several counts."""
    return f"block-{block}" if threads is None else f"block-{block}-threads{threads}"


def _of_block(args: Sequence[str], block: int) -> list[str]:
    """`args` without the test ids of other blocks' tests (`...-block3]`): a block's process makes only its own block's tests, so it would not find them."""
    return [arg for arg in args if not ((found := _BLOCK_ID.search(arg)) and int(found.group(1)) != block)]


_BLOCK_ID = re.compile(r"::.*\[.*-block(\d+)(?:-threads\d+)?\]$")  # a run over thread counts ends ids in -threadsN


def _without_json(args: Sequence[str]) -> list[str]:
    """`args` without any --benchmark-json PATH or --benchmark-json=PATH."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--benchmark-json":
            skip = True
        elif not arg.startswith("--benchmark-json="):
            kept.append(arg)
    return kept


def write_json(target: Any, data: dict[str, Any]) -> None:
    """Write `data` where --benchmark-json points, whole or not at all.

    pytest-benchmark hands the option over as an open file (5.2 and older: argparse.FileType, already
    truncated) or as a path (5.3 and newer). A regular file is written under a temporary name beside
    it, then renamed over it, so a reader never sees half a run; anything else (a pipe, /dev/stdout)
    is written straight through.
    """
    text = json.dumps(data, indent=1).encode()
    if isinstance(target, (str, os.PathLike)):
        path = Path(target)
    else:
        name = getattr(target, "name", None)
        path = Path(name) if isinstance(name, str) else None
        if path is None or not path.is_file():
            target.write(text)
            target.close()
            return
        target.close()
    if path.exists() and not path.is_file():
        with path.open("wb") as out:
            out.write(text)
        return
    atomic_write(path, text)


class _Terminated(BaseException):
    """SIGTERM reached the parent (a timeout, a cancelled CI job)."""


class _Hung(Exception):
    """A block ran past --block-timeout."""


def _shared_iterations(folder: Path, threads: int | None) -> dict[str, str]:
    """The file in which the run's first block leaves each case's calibrated iterations for the later blocks.

    A block then skips calibrating (a full block spent about 6% of its cases' time on it), and every
    block times a case with the same rounds, as pyperf's workers do: calibrated apart, one case's
    counts differed by 30% from process to process, and a round of more iterations was faster per
    call (measure/iterations.py). A count of threads is a case of its own, so it has a file of its own.
    """
    return {ITERATIONS: str(folder / f"iterations{'' if threads is None else f'-threads{threads}'}.json")}


# How often the parent looks at a block's stream to update its progress line.
POLL_S = 0.5


def _terminated(signum: int, frame: Any) -> None:
    raise _Terminated


def _wait(child: Child, follow: Follower | None = None, line: ProgressLine | None = None, timeout_s: float | None = None) -> int:
    """Wait for the child, showing progress; on Ctrl-C or SIGTERM in the parent, or past `timeout_s`, stop the child first, then give up."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while True:
            try:
                return child.wait(timeout=POLL_S if follow or deadline else None)
            except subprocess.TimeoutExpired:
                pass
            if deadline is not None and time.monotonic() > deadline:
                raise _Hung
            if follow is not None and line is not None:
                follow.read()
                line.show(follow.estimate.line())
    except BaseException:
        child.stop()  # as Ctrl-C would: its finalizers stop its worker groups
        raise


def run_blocks(
    session: Any, blocks: Sequence[int | tuple[int, int | None]], total: int, folder: Path, write: Any,
    progress: tuple[Estimate, ProgressLine] | None = None, timeout_s: float | None = None,
) -> list[Path]:
    """Run the given blocks (of `total`; or (block, thread count) pairs) in fresh processes; return the JSON files of those that saved one.

    `write` prints one line to the terminal. With `progress`, the line shows each block's progress
    and the run's time left while it runs, and the estimate keeps each block's wall time. Raises
    BlockFailed when a child ended without running the tests it was given, ran past `timeout_s`
    (it is stopped as Ctrl-C would stop it), or when the session stopped early (-x, --maxfail):
    either way the run is missing blocks.
    """
    args = list(session.config.invocation_params.args)
    cwd = session.config.invocation_params.dir
    saved = []
    for entry in blocks:
        block, threads = entry if isinstance(entry, tuple) else (entry, None)
        name = block_name(block, threads)
        log = folder / f"{name}.log"
        write(f"block {block} of {total}, in a fresh process" + (f" with {threads} threads" if threads is not None else ""))
        if progress is not None:
            progress[0].start(block)
        # A fixed hash seed: dict and set layouts, and so the order of work they drive, repeat from block to block.
        env = {**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0"), **_shared_iterations(folder, threads)}
        previous = signal.signal(signal.SIGTERM, _terminated)  # before the start: a SIGTERM held through it stops the child too
        try:
            child = start(f"block {block}", child_command(args, block, folder, threads), log, env=env, cwd=cwd)
            follow = Follower(folder / f"{name}.reports", progress[0]) if progress else None
            code = _wait(child, follow, progress[1] if progress else None, timeout_s)
        except ChildFailed as error:
            raise BlockFailed(str(error)) from None
        except _Terminated:
            raise SystemExit(128 + signal.SIGTERM) from None
        except _Hung:
            raise BlockFailed(f"block {block} still running after {timeout_s:g} s (--block-timeout), stopped; its log ends:\n{child.tail(20)}") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
            if progress is not None:
                progress[1].end()
                progress[0].finish()
        if progress is not None:
            write(progress[0].finished_line())
        finished = replay(session, folder / f"{name}.reports")
        # 5: the child selected no test; the parent only starts blocks that hold selected tests,
        # so that means the child saw a different selection (a plugin, the cache): not a run.
        # Killed (code < 0): by the OOM killer, a user, a CI runner's limit.
        if code not in (0, 1) or (finished == 0 and code != 0):
            raise BlockFailed(f"{child.ended()} after {finished} tests; its log ends:\n{child.tail(20)}")
        if session.shouldfail or session.shouldstop:
            raise BlockFailed(f"the run stopped in block {block} of {total} (-x or --maxfail)")
        result = folder / f"{name}.json"
        if result.exists() and result.stat().st_size:
            saved.append(result)
    return saved


def merge_saved(paths: Sequence[Path]) -> dict[str, Any] | None:
    """The blocks' pytest-benchmark JSON as one run: the first block's machine and commit, every block's cases."""
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    runs = [run for run in runs if run.get("benchmarks")]
    if not runs:
        return None
    merged = dict(runs[0])
    merged["benchmarks"] = [bench for run in runs for bench in run["benchmarks"]]
    guard = [entry for run in runs for entry in run.get("machine_info", {}).get("tfvarbench", {}).get("guard") or []]
    merged["machine_info"] = {**merged["machine_info"], "tfvarbench": {**merged["machine_info"].get("tfvarbench", {}), "guard": guard}}
    return merged

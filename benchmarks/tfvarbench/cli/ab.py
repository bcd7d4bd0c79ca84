"""`tfvarbench ab`: time a baseline and a current side in one job, block by block, and judge each case from pairs of neighbouring blocks.

A block is one fresh process that times every selected case once (`pytest benchmarks --blocks 1`).
By default the two blocks of a pair run at once on one core and take turns, round by round
(measure/turns.py), with one calibration: round k of a case on one side is timed milliseconds from
round k on the other, so the machine's changes of speed from second to second, which hide a 5%
change when whole runs or blocks are compared, reach both sides alike; with two cores, two pairs
run at once, one a core. `--design alternate` runs one block at a time (A B B A ...), `--design
duet` a pair's blocks at once on a core each.
The verdict is `compare`'s, paired block by block and, for blocks that took
turns, round by round (analysis/regress.py, pairs.py). Exit 0: no case got slower; 1: one did; 2: bad input, or a block failed.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from ..analysis.regress import compare_runs, machine_differences
from ..analysis.verdict import JOB_ALPHA, case_alpha
from ..processes import Child
from ..render.compare import markdown, terminal
from ..runs import atomic_write, case_name, load_run
from .blockpairs import MIN_PAIRS, Design, Side, run_pairs
from .outputs import check_outputs
from .thresholds import thresholds_of, warn_unmatched
from .usage import BadInput, add_subcommand, check_threshold
from .venvs import tensorflow_venv

__all__ = ["add_parser", "run"]

# Options ab sets on every block itself: a side's block is exactly one fresh process, saved where ab reads it.
OWN_OPTIONS = ("--blocks", "--benchmark-json", "--benchmark-save", "--benchmark-autosave", "--results", "--benchmark-storage")
# With no --pairs, pairs are started while the job is expected to end within this many seconds, and
# never fewer than MIN_PAIRS: under three quick runs' worth here (a quick run took 142 s, 3 blocks).
BUDGET_S = 400.0
DESIGNS = ("turns", "alternate", "duet")
# Left out of a job unless asked for (--with-multiworker, or its name in the pytest arguments): its
# rounds are timed in worker processes, outside the turns, and in a job here its 18 cases could see
# a median change of 179% while they took a third of each block's time, which the other cases
# spend better on more pairs.
WITHOUT = ("multiworker", "benchmarks/bench_multiworker.py")
# Taking turns, a job here sees about 2% on a steady case (docs/regression.md); the anchors gate at 2% (Perfherder) to 10%.
THRESHOLD = 0.02


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "ab", "time a baseline and a current side in one job, block by block, and flag cases that got slower",
        __doc__.split("\n\n")[1] + "\n\nEverything after -- goes to pytest on both sides (-k, --logical-cpus, --profile, ...). Example:\n"
        "  tfvarbench ab --baseline-env PYTHONPATH=tests/plugins --baseline-env PYTEST_PLUGINS=slowdown \\\n"
        "    --baseline-env TFVARBENCH_SLOW_OP=assign_add:0 --current-env PYTHONPATH=tests/plugins \\\n"
        "    --current-env PYTEST_PLUGINS=slowdown --current-env TFVARBENCH_SLOW_OP=assign_add:0.05 --out ab -- -k assign --logical-cpus 2",
        "0 no case got slower; 1 a case got slower", "a block that failed (one line names the side and the block)",
    )
    for name in ("baseline", "current"):
        parser.add_argument(f"--{name}-python", metavar="PATH", help=f"interpreter that runs the {name}'s blocks (default: this one)")
        parser.add_argument(f"--{name}-env", action="append", default=[], metavar="NAME=VALUE", help=f"environment variable for the {name}'s blocks (repeatable)")
        parser.add_argument(f"--{name}-tf", metavar="VERSION", help=f"run the {name} with this TensorFlow release, in a virtual environment built once in --venv-cache")
        parser.add_argument(f"--{name}-dir", metavar="DIR", default=".", help=f"checkout whose benchmarks/ the {name} runs (default: .)")
    parser.add_argument("--harness", choices=("current", "own"), default="current",
                        help="which tfvarbench times both sides: the current side's (default), or each checkout its own")
    parser.add_argument("--pairs", type=int, metavar="N", help=f"pairs of blocks (default: as many as --budget allows, an even number, at least {MIN_PAIRS})")
    parser.add_argument("--budget", type=float, default=BUDGET_S, metavar="SECONDS", help=f"time the job may take when --pairs is not given (default {BUDGET_S:g})")
    parser.add_argument("--design", choices=DESIGNS, default="turns",
                        help="turns (default): a pair's two blocks run at once on one core and take turns round by round, a pair on each core;"
                        " alternate: A B B A ... one block at a time; duet: a pair's blocks at once, each on a core of its own")
    parser.add_argument("--with-multiworker", action="store_true",
                        help="time the multi-worker family too (left out unless the pytest arguments name it: see WITHOUT)")
    # The profile's own by default: 30 passes a block here gave a pair spread of 1.8% against 2.2-2.6% with
    # ten, but half the pairs in the same time, so no smaller a detectable change (docs/regression.md).
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="timed passes each block makes, every case a round each (default: the profile's, 10 in quick)")
    parser.add_argument("--order", choices=("abba", "random"), default="abba", help="who goes first in each pair: A B B A ... (default) or a coin toss")
    parser.add_argument("--seed", type=int, default=0, help="seed of --order random (default 0)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD,
                        help=f"relative change a regression must exceed (default {THRESHOLD}: a case moved half of it can be flagged)")
    parser.add_argument("--alpha", type=float, default=JOB_ALPHA,
                        help=f"chance of a false alarm anywhere in the job (default {JOB_ALPHA}); each case and direction is tested at ALPHA / (2 x cases)")
    parser.add_argument("--config", help="pyproject.toml with [tool.tfvarbench.thresholds] (default: ./pyproject.toml, if there is one)")
    parser.add_argument("--venv-cache", metavar="DIR", default=str(Path.home() / ".cache" / "tfvarbench" / "venvs"),
                        help="where --baseline-tf/--current-tf environments are built and reused (default: ~/.cache/tfvarbench/venvs)")
    parser.add_argument("--out", required=True, metavar="DIR", help="new folder: baseline/ and current/ (each block a saved run), logs/, comparison.md, comparison.json")
    parser.add_argument("pytest_args", nargs="*", metavar="-- PYTEST-ARGS", help="passed to pytest on both sides")
    parser.set_defaults(run=run)


def _env(values: list[str], flag: str) -> dict[str, str]:
    found = {}
    for value in values:
        name, equals, setting = value.partition("=")
        if not equals or not name:
            raise BadInput(f"{flag} {value!r}: must be NAME=VALUE")
        found[name] = setting
    return found


def _sides(args: argparse.Namespace) -> list[Side]:
    sides = []
    for name in ("baseline", "current"):
        folder = Path(getattr(args, f"{name}_dir")).resolve()
        if not (folder / "benchmarks").is_dir():
            raise BadInput(f"--{name}-dir {folder}: holds no benchmarks/ folder")
        python, version = getattr(args, f"{name}_python"), getattr(args, f"{name}_tf")
        if python and version:
            raise BadInput(f"--{name}-python and --{name}-tf: give one of them")
        if python and not os.access(python, os.X_OK):
            raise BadInput(f"--{name}-python {python}: not an executable file")
        sides.append(Side(name, python or sys.executable, folder, _env(getattr(args, f"{name}_env"), f"--{name}-env")))
    harness = sides[1].folder / "benchmarks"
    for side in sides:
        if args.harness == "current" and side.folder != sides[1].folder:
            side.harness = harness
    for side, version in zip(sides, (args.baseline_tf, args.current_tf)):
        if version:  # built last: every other input was checked first
            side.python = tensorflow_venv(version, side.folder, Path(args.venv_cache))
    return sides


def _design(args: argparse.Namespace) -> Design:
    """The job's design from its options, every one checked; the pytest arguments with what ab adds to them."""
    for option in OWN_OPTIONS:
        if any(arg == option or arg.startswith(option + "=") for arg in args.pytest_args):
            raise BadInput(f"{option}: ab sets it on each block itself; leave it out of the pytest arguments")
    if args.pairs is not None and args.pairs < 2:
        raise BadInput(f"--pairs {args.pairs}: must be at least 2 (one pair has no spread to judge by)")
    if not args.budget > 0:
        raise BadInput(f"--budget {args.budget}: must be a positive number of seconds")
    check_threshold("--threshold", args.threshold)
    if not 0 < args.alpha < 0.5:
        raise BadInput(f"--alpha {args.alpha}: must be between 0 and 0.5")
    if args.design == "duet" and len(os.sched_getaffinity(0)) < 2:
        raise BadInput("--design duet: needs two cores this process may use, one a side")
    # Blocks are saved into --out as they finish, so it must be new or empty (nothing of the user's is in the way).
    check_outputs(folders={"--out": args.out})
    if args.rounds is not None and args.rounds < 2:
        raise BadInput(f"--rounds {args.rounds}: must be at least 2")
    pytest_args = list(args.pytest_args)
    if args.rounds is not None and not any(arg.split("=", 1)[0] == "--benchmark-min-rounds" for arg in pytest_args):  # the user's own floor wins
        pytest_args += ["--benchmark-min-rounds", str(args.rounds)]
    if not args.with_multiworker and not any(WITHOUT[0] in arg for arg in pytest_args):
        pytest_args += ["--ignore", WITHOUT[1]]
        print(f"ab leaves out the {WITHOUT[0]} family (--with-multiworker, or -k {WITHOUT[0]}, times it too)", flush=True)
    return Design(args.pairs, args.budget, args.design, args.order, args.seed, tuple(pytest_args))


def _judge(sides: list[Side], threshold: float, job_alpha: float, out: Path, config: Path | None, thresholds: dict[str, float]) -> int:
    """The verdict on the pairs of blocks (analysis/), on the terminal and in comparison.md and .json (render/)."""
    baseline, current = ([load_run(path) for path in side.blocks] for side in sides)
    differences, notes = machine_differences(baseline, current)
    pairs = [(index, index) for index in range(len(baseline))]
    alpha = case_alpha(job_alpha, len({case_name(case) for run in current for case in run.cases}))
    comparison = compare_runs(baseline, current, threshold, alpha, thresholds=thresholds, pairs=pairs)
    comparison.notes = notes + comparison.notes + [f"sides differ: {difference}" for difference in differences]
    warn_unmatched("ab", config, thresholds, comparison)
    print(terminal(comparison))
    atomic_write(out / "comparison.md", markdown(comparison))
    atomic_write(out / "comparison.json", json.dumps(comparison.as_dict(), indent=1) + "\n")
    print(f"comparison: {out / 'comparison.md'}, {out / 'comparison.json'}; the blocks: {out / 'baseline'}, {out / 'current'}")
    return 1 if comparison.regressions else 0


def run(args: argparse.Namespace) -> int:
    design, out = _design(args), Path(args.out)
    config, thresholds = thresholds_of(args.config, "ab")  # a bad config is said before minutes of blocks, not after
    sides = _sides(args)
    for folder in ("baseline", "current", "logs"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    running: list[Child] = []
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run_pairs(sides, design, out, running)
    except KeyboardInterrupt:
        for child in running:  # each block leads a session of its own: Ctrl-C reached only this process
            child.stop()
        sys.stderr.write(f"tfvarbench ab: interrupted; the blocks saved so far are in {out}\n")
        return 130
    finally:
        for child in running:
            child.stop()
        signal.signal(signal.SIGTERM, previous)
    return _judge(sides, args.threshold, args.alpha, out, config, thresholds)

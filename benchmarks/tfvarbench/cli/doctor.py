"""`tfvarbench doctor`: what this machine offers the suite (TensorFlow build, devices, replica groups, workers).

Unlike the other subcommands it starts TensorFlow, so it imports the measurement package only
when it runs: `tfvarbench report` and `compare` must stay free of TensorFlow.
"""
from __future__ import annotations

import argparse
from typing import Any

from .usage import BadInput, add_subcommand

DESCRIPTION = """\
Start TensorFlow as a benchmark run with these options would (memory growth, the CPU split,
soft placement off) and say what it got: the build, each device with its sync cost and whether
it reports memory peaks, the replica groups of the mirrored family, where the multi-worker
family's workers would run, and whether 127.0.0.1 ports can be bound. Ends with the command to
run next when the suite can run as asked."""


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "doctor", "check what this machine offers the suite, starting TensorFlow as a run would", DESCRIPTION,
        "0 the suite can run as asked", "a machine that cannot run it as asked",
    )
    parser.add_argument("--devices", default="all", help="as for pytest benchmarks (default: all)")
    parser.add_argument("--logical-cpus", type=int, default=1, metavar="N", help="as for pytest benchmarks (default: 1)")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="as for pytest benchmarks (default: 2)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """The report on stdout; 0 when the suite can run as asked, else 2 and one stderr line per problem."""
    from ..measure.limits import count_problem

    problem = count_problem(args.logical_cpus, args.workers)
    if problem:  # said before TensorFlow starts: building a thousand devices takes minutes
        raise BadInput(problem)
    from ..measure.doctor import run as diagnose_and_print

    return diagnose_and_print(args)

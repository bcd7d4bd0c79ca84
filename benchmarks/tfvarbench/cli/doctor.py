"""`tfvarbench doctor`: what this machine offers the suite (TensorFlow build, devices, replica groups, workers).

Unlike the other subcommands it starts TensorFlow, so it imports the measurement package only
when it runs: `tfvarbench report` and `compare` must stay free of TensorFlow.
"""
from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("doctor", help="check what this machine offers the suite, starting TensorFlow as a run would")
    parser.add_argument("--devices", default="all", help="as for pytest benchmarks (default: all)")
    parser.add_argument("--logical-cpus", type=int, default=1, metavar="N", help="as for pytest benchmarks (default: 1)")
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="as for pytest benchmarks (default: 2)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """The report on stdout; 0 when the suite can run as asked, else 2 and one stderr line per problem."""
    from ..measure.doctor import run as diagnose_and_print

    return diagnose_and_print(args)

"""The `tfvarbench` command: subcommands that read saved runs and write reports, and `doctor`.

Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args) -> int`.
Bad input is one line on stderr naming the input and the problem, and exit status 2.
Only `doctor` starts TensorFlow, and it imports it only when it runs.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from ..runs import RunError
from . import compare, doctor, history, interleave, readme, report
from .usage import BadInput, Parser

__all__ = ["BadInput", "main"]

# In the order `tfvarbench --help` lists them.
SUBCOMMANDS = (report, compare, history, interleave, readme, doctor)


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(prog="tfvarbench", description="Reports from saved tfvarbench runs, and a check of this machine.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (BadInput, RunError) as error:
        sys.stderr.write(f"tfvarbench {args.command}: {error}\n")
        return 2

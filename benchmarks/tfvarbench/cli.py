"""The `tfvarbench` command: subcommands that read saved runs and write reports.

Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args) -> int`.
Bad input is one line on stderr naming the input and the problem, and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from .results import RunError

__all__ = ["BadInput", "main"]

# Subcommand modules, in the order `tfvarbench --help` lists them.
SUBCOMMANDS = ("tfvarbench.cmd_report", "tfvarbench.cmd_compare", "tfvarbench.cmd_history", "tfvarbench.cmd_interleave")


class BadInput(Exception):
    """An input the user can fix: reported as one line and exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="tfvarbench", description="Reports from saved tfvarbench runs.")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in SUBCOMMANDS:
        import_module(name).add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (BadInput, RunError) as error:
        sys.stderr.write(f"tfvarbench {args.command}: {error}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

"""What every subcommand shares: bad input is one line naming the input and the problem, exit status 2.

Options are checked here in one way for every subcommand: a threshold is a fraction, a count is
at least its least value, and each subcommand's --help says what it does and its exit statuses.
"""
from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Callable
from typing import Any

__all__ = ["BadInput", "Parser", "add_subcommand", "check_at_least", "check_threshold", "warner"]


class BadInput(Exception):
    """An input the user can fix: reported as one line and exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


def add_subcommand(subparsers: Any, name: str, summary: str, description: str, exits: str, also_2: str = "") -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does (`description`) and how it exits.

    `exits` is what its 0 (and 1) mean; every subcommand exits 2 on bad input (and on `also_2`) and 130 on Ctrl-C.
    """
    bad = "bad input or an output that cannot be written" + (f", or {also_2}" if also_2 else "")
    epilog = f"exit status: {exits}; 2 {bad}, each problem one line on stderr; 130 interrupted (Ctrl-C)."
    return subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog=textwrap.fill(epilog, width=96),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def check_threshold(flag: str, value: float) -> None:
    """A relative change as a fraction, as compare has always taken it: above 0, below 10 (nan is neither)."""
    if not (math.isfinite(value) and 0 < value < 10):
        raise BadInput(f"{flag} {value}: must be a fraction such as 0.1")


def check_at_least(flag: str, value: int, least: int = 1) -> None:
    if value < least:
        raise BadInput(f"{flag} {value}: must be at least {least}")


def warner(command: str) -> Callable[[str], None]:
    """A warning of `tfvarbench COMMAND` on stderr, one line each: the command goes on."""
    return lambda text: sys.stderr.write(f"tfvarbench {command}: warning: {text}\n")

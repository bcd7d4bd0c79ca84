"""What every subcommand shares: bad input is one line naming the input and the problem, exit status 2."""
from __future__ import annotations

import argparse
import sys

__all__ = ["BadInput", "Parser"]


class BadInput(Exception):
    """An input the user can fix: reported as one line and exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)

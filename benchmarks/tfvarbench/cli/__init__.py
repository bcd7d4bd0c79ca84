"""The `tfvarbench` command: subcommands that read saved runs and write reports, and `doctor`.

Each subcommand lives in its own module with `add_parser(subparsers)` and `run(args) -> int`.
Bad input is one line on stderr naming the input and the problem, and exit status 2; so is a
file system refusing a write: exit 1 is `compare`'s "a case got slower", and CI must never read a
crash as a regression. Ctrl-C is one line, `interrupted`, and exit status 130.
Only `doctor` starts TensorFlow, and it imports it only when it runs.
"""
from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .usage import BadInput, Parser

__all__ = ["BadInput", "main"]

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
# Each a module of this package, in the order `tfvarbench --help` lists them.
SUBCOMMANDS = ("report", "compare", "ab", "history", "interleave", "readme", "doctor")


def _build() -> Parser:
    import importlib

    parser = Parser(
        prog="tfvarbench",
        description="Reports from saved tfvarbench runs, and a check of this machine. `tfvarbench SUBCOMMAND --help` says more of each.",
        epilog="exit status: 0 done; 1 `compare` found a case that got slower; 2 bad input, or an output that cannot be"
        " written (one line says which); 130 interrupted (Ctrl-C)",
    )
    parser.add_argument("--version", action="store_true", help="print the version and the subcommands")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=Parser)
    for name in SUBCOMMANDS:  # imported here, not at the top, so that a Ctrl-C while they load is one line too
        importlib.import_module(f"{__name__}.{name}").add_parser(subparsers)
    return parser


def _terminated(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # a SIGTERM (a CI timeout) cleans up as Ctrl-C does


def main(argv: Sequence[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminated) if _main_thread() else None
    words = [word for word in (sys.argv[1:] if argv is None else argv) if not word.startswith("-")]
    command = f"tfvarbench {words[0]}" if words and words[0] in SUBCOMMANDS else "tfvarbench"
    try:
        parser = _build()
        args = parser.parse_args(argv)
        if args.version:
            sys.stdout.write(f"tfvarbench {__version__}\n\n{parser.format_help()}")
            return 0
        if args.command is None:
            sys.stderr.write(f"tfvarbench: name a subcommand\n\n{parser.format_help()}")
            return 2
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        if _main_thread():  # interrupted once is enough: a second Ctrl-C must not cut the line or the clean exit short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sys.stderr.write(f"{command}: interrupted\n")
        return INTERRUPTED
    except BadInput as error:
        sys.stderr.write(f"{command}: {error}\n")
        return 2
    except OSError as error:  # the file system refused: a full disk, a path that changed under the command
        where = f"{error.filename}: " if error.filename else ""
        sys.stderr.write(f"{command}: {where}{error.strerror or error}\n")
        return 2
    except ValueError as error:
        from ..runs import RunError  # loaded by then: every subcommand module imports it

        if not isinstance(error, RunError):
            raise
        sys.stderr.write(f"{command}: {error}\n")
        return 2
    finally:
        if previous is not None and signal.getsignal(signal.SIGTERM) is _terminated:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()

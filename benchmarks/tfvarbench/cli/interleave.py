"""`tfvarbench interleave`: run a baseline and a current command alternately, so machine drift hits both alike.

Each command runs the suite and saves its run into the folder given by `{results}` in the command
(for example `pytest benchmarks --results {results}` in two checkouts, or two tox environments).
Afterwards `tfvarbench compare OUT/baseline OUT/current` pools each side's runs.
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
from pathlib import Path
from typing import Any

from ..runs import RunError, load_runs
from .outputs import check_outputs
from .usage import BadInput, add_subcommand, check_at_least

DESCRIPTION = """\
Run a baseline and a current benchmark command alternately, B C C B B C ... (--repeats runs of
each), so that a machine warming up or drifting hits both sides alike.

How the commands are run: each is handed as typed to the shell (/bin/sh -c), from the current
folder, after {results} is replaced by the folder its run must be saved in (OUT/baseline/01,
OUT/current/01, ...). That folder name is shell-quoted already, so write {results} bare, never
inside quotes. Quote each whole command once, for the shell you type tfvarbench into:
  tfvarbench interleave --out ab \\
    --baseline 'cd ../main && pytest benchmarks --results {results}' \\
    --current 'pytest benchmarks --results {results}'
Each run must exit 0 and save at least one run (JSON) into its folder, and everything it saves
as JSON must be a saved run. Then: tfvarbench compare OUT/baseline OUT/current."""


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "interleave", "run baseline and current benchmark commands alternately", DESCRIPTION,
        "0 every run saved", "a command that fails, saves no run, or saves JSON that is not a run",
    )
    parser.add_argument("--baseline", required=True, metavar="CMD", help="command that saves a baseline run into {results}")
    parser.add_argument("--current", required=True, metavar="CMD", help="command that saves a current run into {results}")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (default 3), in the order B C C B B C ...")
    parser.add_argument("--out", required=True, help="folder that receives baseline/ and current/ (new or empty)")
    parser.set_defaults(run=run)


def _order(repeats: int) -> list[str]:
    """B C C B B C ...: each side goes first as often as the other, so a warming machine favours neither."""
    pairs = [("baseline", "current") if index % 2 == 0 else ("current", "baseline") for index in range(repeats)]
    return [side for pair in pairs for side in pair]


def _check_command(side: str, command: str) -> None:
    if "{results}" not in command:
        raise BadInput(f"--{side}: the command must contain {{results}}, where it saves its run")
    if any(quoted in command for quoted in ("'{results}'", '"{results}"')):
        raise BadInput(f"--{side}: {{results}} is in quotes, but tfvarbench quotes the folder itself: write {{results}} bare")


def _saved(side: str, run_number: int, folder: Path) -> None:
    """Refuse a run that saved nothing, or saved JSON that is not a run, by the file's name."""
    if not any(folder.rglob("*.json")):
        raise BadInput(f"--{side} command saved no run into {folder}")
    try:
        load_runs([folder])
    except RunError as error:
        raise BadInput(f"--{side} command, run {run_number}, saved something that is not a run: {error}") from None


def _remove_empty(folder: Path, up_to: Path) -> None:
    """Remove `folder` and its parents up to `up_to` while they are empty: an interrupted run leaves no trace."""
    while folder != up_to.parent and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def run(args: argparse.Namespace) -> int:
    check_at_least("--repeats", args.repeats)
    for side in ("baseline", "current"):
        _check_command(side, getattr(args, side))
    check_outputs(folders={"--out": args.out})
    out = Path(args.out)
    existed = out.exists()
    counts = {"baseline": 0, "current": 0}
    for side in _order(args.repeats):
        counts[side] += 1
        folder = out / side / f"{counts[side]:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        command = getattr(args, side).replace("{results}", shlex.quote(str(folder)))
        print(f"[{side} {counts[side]}/{args.repeats}] {command}", flush=True)
        try:
            finished = subprocess.run(command, shell=True)
        except BaseException:  # Ctrl-C: the command got it too; its empty folder goes
            _remove_empty(folder, out if not existed else out / side)
            raise
        if finished.returncode != 0:
            raise BadInput(f"--{side} command exited {finished.returncode} on run {counts[side]}: {command}")
        _saved(side, counts[side], folder)
    print(f"compare with: tfvarbench compare {out / 'baseline'} {out / 'current'}")
    return 0

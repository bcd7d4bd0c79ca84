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

from .usage import BadInput


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("interleave", help="run baseline and current benchmark commands alternately")
    parser.add_argument("--baseline", required=True, metavar="CMD", help="command that saves a baseline run into {results}")
    parser.add_argument("--current", required=True, metavar="CMD", help="command that saves a current run into {results}")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (default 3), in the order B C C B B C ...")
    parser.add_argument("--out", required=True, help="folder that receives baseline/ and current/")
    parser.set_defaults(run=run)


def _order(repeats: int) -> list[str]:
    """B C C B B C ...: each side goes first as often as the other, so a warming machine favours neither."""
    pairs = [("baseline", "current") if index % 2 == 0 else ("current", "baseline") for index in range(repeats)]
    return [side for pair in pairs for side in pair]


def run(args: argparse.Namespace) -> int:
    if args.repeats < 1:
        raise BadInput(f"--repeats {args.repeats}: must be at least 1")
    for side in ("baseline", "current"):
        if "{results}" not in getattr(args, side):
            raise BadInput(f"--{side}: the command must contain {{results}}, where it saves its run")
    out = Path(args.out)
    counts = {"baseline": 0, "current": 0}
    for side in _order(args.repeats):
        counts[side] += 1
        folder = out / side / f"{counts[side]:02d}"
        if folder.exists() and any(folder.iterdir()):
            raise BadInput(f"{folder}: already holds a run; choose a new --out")
        folder.mkdir(parents=True, exist_ok=True)
        command = getattr(args, side).replace("{results}", shlex.quote(str(folder)))
        print(f"[{side} {counts[side]}/{args.repeats}] {command}", flush=True)
        finished = subprocess.run(command, shell=True)
        if finished.returncode != 0:
            raise BadInput(f"--{side} command exited {finished.returncode} on run {counts[side]}: {command}")
        if not any(folder.rglob("*.json")):
            raise BadInput(f"--{side} command saved no run into {folder}")
    print(f"compare with: tfvarbench compare {out / 'baseline'} {out / 'current'}")
    return 0

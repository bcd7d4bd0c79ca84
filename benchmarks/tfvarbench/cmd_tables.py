"""`tfvarbench tables RUN --out DIR`: rebuild a run's per-device tables, comparison and CSV offline."""
from __future__ import annotations

import argparse
from typing import Any

from .results import load_runs
from .tables import write_run_tables


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("tables", help="per-device tables, comparison.md and results.csv of saved runs")
    parser.add_argument("runs", nargs="+", help="saved run JSON files or directories of them")
    parser.add_argument("--out", required=True, help="directory to write (replaced whole, or left untouched on error)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    runs = load_runs(args.runs)
    for path in write_run_tables(runs, args.out):
        print(path)
    return 0

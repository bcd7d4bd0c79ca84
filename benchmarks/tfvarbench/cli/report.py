"""`tfvarbench report RUN... --out DIR`: a device comparison report from runs of one or several machines."""
from __future__ import annotations

import argparse
from typing import Any

from ..render.report import PICKS, write_report
from ..runs import load_runs
from .outputs import check_outputs
from .usage import add_subcommand, warner

DESCRIPTION = """\
Merge saved runs, from one machine or several, into a report folder: summary.md (what to use on
this machine), a table per device, the device comparison, the fastest device per case, cost
models, effective bandwidth, results.csv, plots, and one self-contained index.html. --out is
new, empty, or an earlier tfvarbench report: only the files that report wrote are replaced, any
other file in it is kept; a symlinked --out is written where the link points."""


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "report", "merge saved runs into per-device tables, comparison, cost models, plots and one HTML page",
        DESCRIPTION, "0 written",
    )
    parser.add_argument("runs", nargs="+", help="saved run JSON files or directories of them")
    parser.add_argument("--out", required=True, help="report folder (new, empty, or an earlier tfvarbench report)")
    parser.add_argument("--pick", choices=PICKS, default="newest", help="repeated runs of a case on a device: newest run, or pooled rounds (default: newest)")
    parser.add_argument("--reference", default=None, metavar="LABEL", help="device the comparison divides by (default: the first CPU)")
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_outputs(inputs=args.runs, folders={"--out": args.out}, kind="report")
    runs = load_runs(args.runs, warner("report"))
    report = write_report(runs, args.out, pick=args.pick, reference=args.reference, plots=not args.no_plots)
    files = len(report.files) + len(report.images)
    print(f"report of {len(runs)} run(s): {args.out}/index.html ({files} files)")
    return 0

"""`tfvarbench history DIR --out OUT`: a CSV of every case's median run by run, a PNG trend per case, and its steps."""
from __future__ import annotations

import argparse
import re
from typing import Any

from ..analysis.history import find_steps, order_runs, series
from ..render.document import markdown
from ..render.history import series_csv, steps_section, trend_png
from ..runs import load_runs, write_folder
from .outputs import check_outputs
from .usage import add_subcommand, check_at_least, check_threshold, warner

DESCRIPTION = """\
Order saved runs by commit (then start time) and write, into --out: history.csv (every case's
median run by run), a PNG trend per case, and steps.md, the sustained steps found: a change past
--threshold that lasts at least --min-run runs (a single outlier never does). --out is new, empty,
or an earlier tfvarbench history: only the files that history wrote are replaced, any other file
in it is kept."""


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "history", "trends and sustained steps across saved runs, in commit order", DESCRIPTION, "0 written"
    )
    parser.add_argument("runs", nargs="+", help="directories of saved runs (or run files)")
    parser.add_argument("--out", required=True, help="folder to write (new, empty, or an earlier tfvarbench history)")
    parser.add_argument("--threshold", type=float, default=0.10, help="smallest relative step reported (default 0.10)")
    parser.add_argument("--min-run", type=int, default=3, help="runs a change must last to be a step (default 3)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    check_threshold("--threshold", args.threshold)
    check_at_least("--min-run", args.min_run)
    check_outputs(inputs=args.runs, folders={"--out": args.out}, kind="history")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = order_runs(load_runs(args.runs, warner("history")))
    table = series(runs)
    figure = plt.figure(figsize=(5, 3))
    steps = {}
    files: dict[str, str | bytes] = {"history.csv": series_csv(runs, table)}
    try:
        for name, values in table.items():
            steps[name] = find_steps(values, args.threshold, args.min_run)
            files[f"trend-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.png"] = trend_png(name, values, steps[name], figure)
    finally:
        plt.close(figure)
    files["steps.md"] = steps_md = markdown([steps_section(runs, steps)])
    write_folder(args.out, files, kind="history")
    print(steps_md, end="")
    print(f"history of {len(runs)} runs, {len(table)} cases: {args.out}/")
    return 0

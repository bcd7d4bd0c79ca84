"""`tfvarbench history DIR --out OUT`: a CSV of every case's median run by run, a PNG trend per case, and its steps."""
from __future__ import annotations

import argparse
import re
from typing import Any

from ..analysis.history import find_steps, order_runs, series
from ..render.document import markdown
from ..render.history import series_csv, steps_section, trend_png
from ..render.report import MARKER, check_out
from ..runs import RunError, atomic_dir, load_runs


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("history", help="trends and sustained steps across saved runs, in commit order")
    parser.add_argument("runs", nargs="+", help="directories of saved runs (or run files)")
    parser.add_argument("--out", required=True, help="directory to write (new, empty, or an earlier tfvarbench report)")
    parser.add_argument("--threshold", type=float, default=0.10, help="smallest relative step reported (default 0.10)")
    parser.add_argument("--min-run", type=int, default=3, help="runs a change must last to be a step (default 3)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if args.min_run < 1:
        raise RunError(f"--min-run {args.min_run}: must be at least 1")
    out = Path(args.out)
    check_out(out)
    runs = order_runs(load_runs(args.runs))
    table = series(runs)
    figure = plt.figure(figsize=(5, 3))
    steps = {}
    with atomic_dir(out) as staging:
        (staging / "history.csv").write_text(series_csv(runs, table), encoding="utf-8")
        (staging / MARKER).write_text("tfvarbench history\n", encoding="utf-8")
        for name, values in table.items():
            steps[name] = find_steps(values, args.threshold, args.min_run)
            (staging / f"trend-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.png").write_bytes(trend_png(name, values, steps[name], figure))
        steps_md = markdown([steps_section(runs, steps)])
        (staging / "steps.md").write_text(steps_md, encoding="utf-8")
    plt.close(figure)
    print(steps_md, end="")
    print(f"history of {len(runs)} runs, {len(table)} cases: {out}/")
    return 0

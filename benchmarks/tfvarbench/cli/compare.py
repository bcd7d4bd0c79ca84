"""`tfvarbench compare BASELINE CURRENT`: did anything get slower? Exit 0 no, 1 yes, 2 bad input."""
from __future__ import annotations

import argparse
import json
from typing import Any

from ..analysis.regress import compare_runs, machine_differences
from ..analysis.verdict import ALPHA
from ..render.compare import markdown, terminal
from ..runs import atomic_write, load_runs, same_run
from .outputs import check_outputs
from .thresholds import thresholds_of, warn_unmatched
from .usage import BadInput, add_subcommand, check_threshold, warner

DESCRIPTION = """\
Compare two saved runs (or two folders of runs, each side's pooled) case by case and flag the
cases that got slower: each block of a run is a fresh process and one piece of evidence, and a
case is slower when its blocks say so beyond its threshold. Prints the table; --markdown and
--json also write it. Per-case thresholds by glob come from [tool.tfvarbench.thresholds] in
--config (./pyproject.toml when it exists)."""


def add_parser(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "compare", "flag cases that got slower, judged by their blocks (fresh processes), with what each could detect",
        DESCRIPTION, "0 no case got slower; 1 a case got slower",
    )
    parser.add_argument("baseline", help="saved run JSON, or a directory of runs (their blocks are pooled)")
    parser.add_argument("current", help="saved run JSON, or a directory of runs")
    parser.add_argument("--threshold", type=float, default=0.10, help="relative change a regression must exceed (default 0.10)")
    parser.add_argument("--alpha", type=float, default=ALPHA, help=f"false-alarm level per case and direction, of the t-test on log block medians (default {ALPHA})")
    parser.add_argument("--normalise", action="store_true", help="divide each case by its run's CPU yardstick (cancels a uniformly faster or slower machine)")
    parser.add_argument("--allow-machine-change", action="store_true", help="compare runs from different machines anyway")
    parser.add_argument("--config", default=None, help="pyproject.toml with [tool.tfvarbench.thresholds] (default: ./pyproject.toml if there is one)")
    parser.add_argument("--markdown", metavar="FILE", help="also write a Markdown table (regressions first), e.g. for a PR comment")
    parser.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")
    parser.set_defaults(run=run)



def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 0.5:
        raise BadInput(f"--alpha {args.alpha}: must be between 0 and 0.5")
    check_threshold("--threshold", args.threshold)
    check_outputs(inputs=[args.baseline, args.current], files={"--markdown": args.markdown, "--json": args.json})
    config, thresholds = thresholds_of(args.config, "compare")
    baseline, current = load_runs([args.baseline], warner("compare")), load_runs([args.current], warner("compare"))
    both = [run for run in current if any(same_run(run, earlier) for earlier in baseline)]
    if both:
        what = "are the same runs" if len(both) == len(baseline) == len(current) else f"both hold the run {both[0].path}"
        raise BadInput(f"{args.baseline} and {args.current} {what}: a run compared with itself shows no change; compare two different runs")
    differences, notes = machine_differences(baseline, current)
    if differences and not args.allow_machine_change:
        raise BadInput(f"runs from different machines ({'; '.join(differences)}); pass --allow-machine-change to compare anyway")
    comparison = compare_runs(baseline, current, args.threshold, args.alpha, thresholds, normalise=args.normalise)
    warn_unmatched("compare", config, thresholds, comparison)
    comparison.notes = notes + comparison.notes + [f"machine change allowed: {d}" for d in differences]
    print(terminal(comparison))
    if args.markdown:
        atomic_write(args.markdown, markdown(comparison))
    if args.json:
        atomic_write(args.json, json.dumps(comparison.as_dict(), indent=1) + "\n")
    return 1 if comparison.regressions else 0

"""`tfvarbench compare BASELINE CURRENT`: did anything get slower? Exit 0 no, 1 yes, 2 bad input."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..analysis.regress import Comparison, compare_runs, machine_differences
from ..analysis.sides import read_config, unmatched_globs
from ..analysis.verdict import ALPHA
from ..render.compare import markdown, terminal
from ..runs import atomic_write, load_runs
from .outputs import check_outputs
from .usage import BadInput, add_subcommand, check_threshold

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


def show(comparison: Comparison) -> None:
    """The comparison on the terminal: notes, a row per case (regressions first), how sizes moved, the summary."""
    print(terminal(comparison))


def _config(given: str | None) -> Path | None:
    """The config to read: one named must be a file; without a name, ./pyproject.toml if there is one."""
    if given is None:
        default = Path("pyproject.toml")
        return default if default.is_file() else None
    path = Path(given)
    if not path.exists():
        raise BadInput(f"--config {given}: no such file")
    if not path.is_file():
        raise BadInput(f"--config {given}: not a file; name a pyproject.toml")
    return path


def thresholds_of(given: str | None, command: str) -> tuple[Path | None, dict[str, float]]:
    """The config read and its per-case thresholds; its warnings said first, so a comparison that then fails still shows them."""
    config = _config(given)
    thresholds, warnings = read_config(config)
    for warning in warnings:
        sys.stderr.write(f"tfvarbench {command}: warning: {warning}\n")
    return config, thresholds


def warn_unmatched(command: str, config: Path | None, thresholds: dict[str, float], comparison: Comparison) -> None:
    """A warning for each threshold glob that matches no case of the comparison (misspelt, most likely)."""
    names = [row.name for row in comparison.rows] + list(comparison.only_baseline) + list(comparison.only_current)
    for glob in unmatched_globs(thresholds, names):
        sys.stderr.write(f"tfvarbench {command}: warning: {config}: threshold {glob!r} matches no case of these runs; is it misspelt?\n")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 0.5:
        raise BadInput(f"--alpha {args.alpha}: must be between 0 and 0.5")
    check_threshold("--threshold", args.threshold)
    check_outputs(inputs=[args.baseline, args.current], files={"--markdown": args.markdown, "--json": args.json})
    config, thresholds = thresholds_of(args.config, "compare")
    baseline, current = load_runs([args.baseline]), load_runs([args.current])
    differences, notes = machine_differences(baseline, current)
    if differences and not args.allow_machine_change:
        raise BadInput(f"runs from different machines ({'; '.join(differences)}); pass --allow-machine-change to compare anyway")
    comparison = compare_runs(baseline, current, args.threshold, args.alpha, thresholds, normalise=args.normalise)
    warn_unmatched("compare", config, thresholds, comparison)
    comparison.notes = notes + comparison.notes + [f"machine change allowed: {d}" for d in differences]
    show(comparison)
    if args.markdown:
        atomic_write(args.markdown, markdown(comparison))
    if args.json:
        atomic_write(args.json, json.dumps(comparison.as_dict(), indent=1) + "\n")
    return 1 if comparison.regressions else 0

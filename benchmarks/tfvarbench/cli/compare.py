"""`tfvarbench compare BASELINE CURRENT`: did anything get slower? Exit 0 no, 1 yes, 2 bad input."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ..analysis.regress import Comparison, compare_runs, load_thresholds, machine_differences
from ..render.units import format_seconds
from ..runs import atomic_write, load_runs
from .usage import BadInput


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("compare", help="flag cases that got slower, with a significance test on the raw rounds")
    parser.add_argument("baseline", help="saved run JSON, or a directory of runs (their rounds are pooled)")
    parser.add_argument("current", help="saved run JSON, or a directory of runs")
    parser.add_argument("--threshold", type=float, default=0.10, help="relative change a regression must exceed (default 0.10)")
    parser.add_argument("--alpha", type=float, default=0.01, help="significance level of the Mann-Whitney U test (default 0.01)")
    parser.add_argument("--normalise", action="store_true", help="divide each case by its run's CPU yardstick (cancels a uniformly faster or slower machine)")
    parser.add_argument("--allow-machine-change", action="store_true", help="compare runs from different machines anyway")
    parser.add_argument("--config", default="pyproject.toml", help="pyproject.toml with [tool.tfvarbench.thresholds] (default: ./pyproject.toml)")
    parser.add_argument("--markdown", metavar="FILE", help="also write a Markdown table (regressions first), e.g. for a PR comment")
    parser.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")
    parser.set_defaults(run=run)


def _time(value: float, normalised: bool) -> str:
    return f"{value:.4g}×" if normalised else format_seconds(value)


def _table(comparison: Comparison, fmt: str) -> str:
    rows = [
        [row.verdict, row.name, _time(row.baseline_s, comparison.normalised), _time(row.current_s, comparison.normalised),
         f"{row.ratio:.3f}", f"{row.p_value:.2g}", f"{100 * row.threshold:.0f}%", f"{row.baseline_blocks}/{row.current_blocks}"]
        for row in comparison.sorted_rows()
    ]
    headers = ["verdict", "case", "baseline", "current", "ratio", "p", "threshold", "blocks"]
    return tabulate(rows, headers=headers, tablefmt=fmt)


def _summary(comparison: Comparison) -> str:
    counts = {verdict: sum(row.verdict == verdict for row in comparison.rows) for verdict in ("slower", "faster", "changed but not significant", "unchanged")}
    return ", ".join(f"{count} {verdict}" for verdict, count in counts.items())


def markdown(comparison: Comparison) -> str:
    lines = [
        f"## tfvarbench: {len(comparison.regressions)} regression(s)\n",
        f"{_summary(comparison)}. A case is slower when every current block (a fresh process) lies past every "
        "baseline block by its threshold and the Mann-Whitney U test on its rounds is significant; "
        "`blocks` counts them (baseline/current)." + (" Times are in units of the run's CPU yardstick." if comparison.normalised else "") + "\n",
        *[f"> {note}\n" for note in comparison.notes],
        _table(comparison, "github"),
    ]
    if comparison.only_baseline or comparison.only_current:
        lines.append("\n\nOnly in baseline: " + (", ".join(comparison.only_baseline) or "none"))
        lines.append("\nOnly in current: " + (", ".join(comparison.only_current) or "none"))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if not 0 < args.alpha < 1:
        raise BadInput(f"--alpha {args.alpha}: must be between 0 and 1")
    if not 0 < args.threshold < 10:
        raise BadInput(f"--threshold {args.threshold}: must be a fraction such as 0.1")
    baseline, current = load_runs([args.baseline]), load_runs([args.current])
    differences, notes = machine_differences(baseline, current)
    if differences and not args.allow_machine_change:
        raise BadInput(f"runs from different machines ({'; '.join(differences)}); pass --allow-machine-change to compare anyway")
    comparison = compare_runs(
        baseline, current, args.threshold, args.alpha, load_thresholds(Path(args.config)), normalise=args.normalise
    )
    comparison.notes = notes + [f"machine change allowed: {d}" for d in differences]
    for note in comparison.notes:
        print(note)
    print(_table(comparison, "simple"))
    if comparison.only_baseline or comparison.only_current:
        print(f"only in baseline: {len(comparison.only_baseline)}, only in current: {len(comparison.only_current)}")
    print(f"{_summary(comparison)}")
    if args.markdown:
        atomic_write(args.markdown, markdown(comparison))
    if args.json:
        atomic_write(args.json, json.dumps(comparison.as_dict(), indent=1) + "\n")
    return 1 if comparison.regressions else 0

"""A comparison in words: the table of cases (regressions first), how each size moved, the summary; for the terminal and Markdown."""
from __future__ import annotations

import statistics

from tabulate import tabulate

from ..analysis.regress import VERDICTS, Comparison, Row
from .units import format_seconds

__all__ = ["markdown", "terminal"]


def _time(value: float, normalised: bool) -> str:
    return f"{value:.4g}×" if normalised else format_seconds(value)


def _detectable(row: Row) -> str:
    text = f"{100 * row.detectable:.1f}%"
    if row.detectable <= row.threshold:
        return text
    if row.blocks_needed is not None:  # this case could not have seen a change of its threshold's size
        return text + f" (> threshold: {row.blocks_needed} {'pairs of runs' if row.paired else 'blocks a run'} would do)"
    return text + f" (> threshold: its runs drift {100 * row.drift:.1f}% apart; more blocks will not do, more runs a side will)"


def _table(comparison: Comparison, fmt: str) -> str:
    rows = [
        [row.verdict + (f" (held back: {row.held_back})" if row.held_back else ""), row.name, _time(row.baseline_s, comparison.normalised), _time(row.current_s, comparison.normalised),
         f"{row.ratio:.3f}", f"{row.p_value:.2g}", f"{100 * row.threshold:.0f}%", _detectable(row), f"{row.baseline_blocks}/{row.current_blocks}"]
        for row in comparison.sorted_rows()
    ]
    headers = ["verdict", "case", "baseline", "current", "ratio", "p", "threshold", "detectable", "blocks"]
    return tabulate(rows, headers=headers, tablefmt=fmt)


def _moved(comparison: Comparison) -> str:
    """How each size's cases moved together: their median ratio, and how far runs drifted apart beyond their blocks (unpaired)."""
    if comparison.paired:  # a pair's runs ran next to each other: its spread carries the drift, nothing is added to any case
        sizes = "; ".join(f"{drift.size} {100 * (drift.shift - 1):+.1f}% ({drift.cases} cases)" for drift in comparison.drifts)
        return f"moved together, by size (median change; each case judged on its own change, no drift added in pairs): {sizes}"
    sizes = "; ".join(f"{drift.size} {100 * (drift.shift - 1):+.1f}% (drift {100 * drift.omega:.1f}%, {drift.cases} cases)" for drift in comparison.drifts)
    return f"moved together, by size (median change; each case judged on its own change): {sizes}"


def _summary(comparison: Comparison) -> str:
    counts = ", ".join(f"{sum(row.verdict == verdict for row in comparison.rows)} {verdict}" for verdict in VERDICTS)
    median = statistics.median(row.detectable for row in comparison.rows)
    how = ("runs compared in pairs, round by round (their blocks took turns)" if comparison.took_turns
           else "runs compared in pairs (they ran alternately)" if comparison.paired else "runs compared side against side")
    return f"{counts}; {100 * comparison.detecting(0.10):.0f}% of cases can detect a 10% change (median detectable change {100 * median:.1f}%); {how}"


def markdown(comparison: Comparison) -> str:
    lines = [
        f"## tfvarbench: {len(comparison.regressions)} regression(s)\n",
        f"{_summary(comparison)}. A block is a fresh process and its median one piece of evidence: a case is slower when "
        "a one-sided t-test on its log block medians (their spread moderated toward that of its family's cases of its size, "
        "plus, for runs not paired in time, how far runs of its size drifted apart) gives p < alpha, a rank test agrees "
        "(paired: the signed-rank test over its pairs), and it moved at least half its threshold; `detectable` is the smallest change it could have caught (4 times in 5), `blocks` counts them "
        "(baseline/current); a `noisy` case could not have seen a change of its threshold's size."
        + (" Times are in units of the run's CPU yardstick." if comparison.normalised else "") + "\n",
        f"{_moved(comparison)}.\n",
        *[f"> {note}\n" for note in comparison.notes],
        _table(comparison, "github"),
    ]
    if comparison.only_baseline or comparison.only_current:
        lines.append("\n\nOnly in baseline: " + (", ".join(comparison.only_baseline) or "none"))
        lines.append("\nOnly in current: " + (", ".join(comparison.only_current) or "none"))
    return "\n".join(lines) + "\n"


def terminal(comparison: Comparison) -> str:
    """The comparison as the terminal shows it: notes, a row per case (regressions first), how sizes moved, the summary."""
    lines = [*comparison.notes, _table(comparison, "simple")]
    if comparison.only_baseline or comparison.only_current:
        lines.append(f"only in baseline: {len(comparison.only_baseline)}, only in current: {len(comparison.only_current)}")
    return "\n".join([*lines, _moved(comparison), _summary(comparison)])

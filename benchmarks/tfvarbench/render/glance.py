"""What to use on this machine, shown: a table per job (its chart beside it on the page: jobchart.py), crossovers, traps, the end-of-run lines.

Every figure comes from the `Answer` (`answer.py`); nothing here ranks or decides. The sections
render to summary.md, the page and the README alike (`document.markdown`, `html.page`).
"""
from __future__ import annotations

from collections.abc import Sequence

from ..analysis.answer import Answer, Cell, DeviceGroup, JobTable, Overtake, Row, TrapFigure
from ..analysis.crossovers import RowCrossover
from ..analysis.guard import GuardCheck
from .document import Section, markdown as document_markdown
from .guard import guard_sentence
from .tables import UNRELIABLE_WORDS
from .units import format_bytes, format_ratio, format_seconds

__all__ = ["TITLE", "chart_name", "markdown", "row_in", "sections", "short"]

TITLE = "What to use on this machine"

# Why a trap costs, in a few words, shown beside its factors (a trap without a note is shown without one).
TRAP_NOTES: dict[str, str] = {
    "python_float_retrace": "a new Python float each call retraces the function",
    "reduce_retracing": "reduce_retracing=True does not stop Python floats retracing",
    "host_round_trip": "the value goes to the host and back",
    "read_value": "the default reads the value back; pass read_value=False when it is not used",
    "densify": "tf.convert_to_tensor(g) makes the IndexedSlices gradient a whole table of zeros but k rows",
    "repeated_rows": "the same k updates naming about k/2 rows, each repeat summed",
    "assign_sum": "v + x reads the value into a new tensor before assign writes it back",
    "eager_optimizer": "an eager step dispatches every slot update from Python",
    "keras3_over_legacy": "the Keras 3 optimizer against tf_keras's legacy one (keras-team/keras#18279)",
    "keras3_over_fused": "Keras 3 composes the rule from ops where ResourceApplyAdam is one kernel",
    "many_variables": "the same parameters as 100 variables: a cost per variable",
}


def _group(replicas: int | None, workers: int | None, ps: int | None = None, threads: int | None = None) -> str:
    parts = ([f"{ps} ps"] if ps else []) + ([f"{workers} worker{'s' if workers != 1 else ''}"] if workers else [])
    parts += [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((replicas, "replica"), (threads, "thread")) if n]
    return ", ".join(parts)


def _title(table: JobTable, many_dtypes: bool) -> str:
    group = _group(table.replicas, table.workers, table.ps, table.threads)
    extra = ([table.dtype] if many_dtypes else []) + ([group] if group else [])
    extra += [f"{table.table} table, rows touched a call"] if table.table else []
    return table.job.title + (f" ({', '.join(extra)})" if extra else "")


def chart_name(table: JobTable) -> str:
    """The file of the table's chart: one per job, dtype and replica/worker/parameter-server/thread count."""
    counts = ((table.replicas, "r"), (table.ps, "ps"), (table.workers, "w"), (table.threads, "t"))
    parts = [table.job.key, table.dtype] + [f"{n}{suffix}" for n, suffix in counts if n]
    parts += [table.table] if table.table else []
    return "glance-" + "-".join(parts) + ".png"


def _cell(cell: Cell | None) -> tuple[str, str]:
    """A cell's text and its mark: the fastest, a tie with it, or a factor."""
    if cell is None:
        return "–", ""
    time = format_seconds(cell.median_s)
    if cell.fastest:
        return f"{time} fastest", "fastest"
    if cell.tied:
        return f"{time} {format_ratio(cell.factor)} tie", "tied"
    return f"{time} {format_ratio(cell.factor)}", ""


def _row_label(row: Row) -> str:
    return f"{row.label} (common idiom)" if row.common else row.label


def _table(table: JobTable, many_dtypes: bool) -> Section:
    """Rows are ways, columns sizes (per group of tied devices when the devices differ)."""
    groups = table.groups
    columns = [(group, size) for group in groups for size in table.sizes]
    headers = ("way", *((size if len(groups) == 1 else f"{group.devices[0]} {size}") for group, size in columns))
    rows, marks = [], []
    for index, row in enumerate(groups[0].rows):
        cells = [_cell(row_in(group, row).cells.get(size) if row_in(group, row) else None) for group, size in columns]
        rows.append((_row_label(row), *(text for text, _ in cells)))
        marks.append(("common" if row.common else "", *(mark for _, mark in cells)))
    baseline = groups[0].baseline
    if baseline is not None:  # shown beside the ways, never ranked: it does not do the job
        cells = [group.baseline.cells.get(size) if group.baseline else None for group, size in columns]
        rows.append((f"{baseline.label} (baseline)", *(format_seconds(c.median_s) if c else "–" for c in cells)))
        marks.append(("baseline", *("" for _ in columns)))
    text = _devices_line(groups) + (f" The baseline is {table.job.baseline_note}." if baseline is not None else "")
    gaps = [f"`{gap.way}` at {gap.size}: {gap.device} {format_ratio(gap.ratio)} {gap.against}'s time" for gap in table.gaps]
    return Section(_title(table, many_dtypes), 2, text, headers, tuple(rows),
                   bullets=(*gaps, *(_dense_words(x) for x in table.dense), *(_overtake_words(o) for o in table.overtakes)), marks=tuple(marks),
                   chart=chart_name(table))


def row_in(group: DeviceGroup, row: Row) -> Row | None:
    """The row of `group` for the same way as `row` (None: the group did not measure it)."""
    return next((mine for mine in group.rows if mine.identity == row.identity), None)


def _devices_line(groups: Sequence[DeviceGroup]) -> str:
    if len(groups) == 1:
        devices = groups[0].devices
        return f"{', '.join(devices)}: tied (figures of {devices[0]})." if len(devices) > 1 else f"On {devices[0]}."
    said = [f"{', '.join(g.devices)}: tied (columns {g.devices[0]})" for g in groups if len(g.devices) > 1]
    return "The devices differ (where, beyond noise: under the table); " + ("; ".join(said) + "." if said else "a column group per device.")


def _dense_words(x: RowCrossover) -> str:
    """A dense/sparse crossover from the cost model, in rows touched a call."""
    span = f"{x.low_rows}–{x.high_rows} rows"
    if x.faster is None:
        return f"on {x.device}, `{x.way}` and `{x.against}` are within 5% throughout {span} (cost model)"
    winner, loser = (x.against, x.way) if x.faster == "against" else (x.way, x.against)
    if x.at_rows is None:
        return f"on {x.device}, `{winner}` is faster than `{loser}` throughout {span} (cost model)"
    return f"on {x.device}, `{winner}` is faster than `{loser}` from about {x.at_rows:.0f} rows a call on (cost model, measured {span})"


def _overtake_words(o: Overtake) -> str:
    model = f" (cost model: from {format_bytes(o.at_bytes)} on)" if o.at_bytes is not None else ""
    model = f" (cost model: from about {o.at_rows:.0f} rows a call on)" if o.at_rows is not None else model
    if o.before:
        return f"on {o.where}, `{o.faster}` overtakes `{o.slower}` between {o.before} and {o.after}{model}"
    return f"`{o.where}`: {o.faster} overtakes {o.slower}{model}"


def _sizes(sizes: Sequence[str]) -> str:
    return f"{sizes[0]} to {sizes[-1]}" if len(sizes) > 2 else ", ".join(sizes)


def _trap_where(trap: TrapFigure) -> str:
    where = f"{trap.rows} row{'s' if trap.rows != 1 else ''} of {trap.size}" if trap.rows else trap.size
    return where + (f" at {trap.threads} thread{'s' if trap.threads != 1 else ''}" if trap.threads else "")


def _trap_lines(traps: Sequence[TrapFigure]) -> list[str]:
    """One line per trap: its factor at every size, per group of devices whose figures tie."""
    by_trap: dict[tuple[str, str, str], list[TrapFigure]] = {}
    for trap in traps:
        by_trap.setdefault((trap.key, trap.slow, trap.fast), []).append(trap)
    lines = []
    for (key, slow, fast), figures in by_trap.items():
        by_devices: dict[tuple[str, ...], list[str]] = {}
        for trap in figures:
            by_devices.setdefault(trap.devices, []).append(f"{_trap_where(trap)} {format_ratio(trap.ratio)}")
        notes = [TRAP_NOTES.get(key, "")] + [f"{t.trace_count} traces in {t.calls} calls" for t in figures[:1] if (t.trace_count or 0) > 1]
        said = "; ".join(f"{', '.join(devices)}: {', '.join(parts)}" for devices, parts in by_devices.items())
        lines.append(f"`{slow}` instead of `{fast}`" + (f" ({'; '.join(filter(None, notes))})" if any(notes) else "") + f": {said}")
    return lines


def sections(result: Answer, checks: Sequence[GuardCheck] = ()) -> list[Section]:
    """The summary page: a table per job first, then the traps, then how to read them (with the run's figure check)."""
    many_dtypes = len({table.dtype for table in result.tables}) > 1
    floor = f"{100 * result.tie_floor:.0f}%"
    out = [Section(TITLE, 1, "Median time per call and its factor to the fastest way at that size; "
                   "a tie is within noise of the fastest. How to read them: at the end.")]
    out.extend(_table(table, many_dtypes) for table in result.tables)
    if result.traps:
        out.append(Section("Traps", 2, "Idioms that cost more than the way they should be written, with their factors.",
                           bullets=tuple(_trap_lines(result.traps))))
    out.append(Section("How to read these tables", 2, (
        f"A way is slower than the fastest only when its time over the fastest's lies more than {floor} past 1 with 95% "
        "confidence, judged pair by pair: round by round where a block timed both in the same passes, else block by block "
        "(each block a fresh process); anything less is a tie, not a loss. Devices none of whose figures in a table differ "
        "that way are one column group, shown with the first device's figures. The common idiom is what most code writes. "
        "A trap is listed only where the idiom is slower than its fix by that rule, and a crossover only where one way or "
        "device is slower than another at one measured size and faster at another, by that rule. "
        + UNRELIABLE_WORDS + (
            " A job on a table has a column per count of rows touched a call, and lists from the cost model where its "
            "dense way and each sparse way trade places, in rows." if any(t.table for t in result.tables) else "") + guard_sentence(checks))))
    return out


def markdown(result: Answer) -> str:
    """The summary as Markdown (summary.md); the page renders the same sections."""
    return document_markdown(sections(result))


def _job_lines(result: Answer) -> list[tuple[tuple[str, str], str]]:
    """Per job, its fastest way where it beats the common idiom most: (the pair of ways, the line)."""
    found: dict[str, dict[tuple[str, str, str], list[tuple[float, str, tuple[str, ...]]]]] = {}
    for table in result.tables:
        group_words = ", ".join(filter(None, [_group(table.replicas, table.workers, table.ps, table.threads), f"{table.table} table" if table.table else ""]))
        for group in table.groups:
            common = next((row for row in group.rows if row.common), None)
            for size, cell in (common.cells.items() if common else ()):
                if not cell.tied:
                    best = next(row for row in group.rows if size in row.cells and row.cells[size].fastest)
                    wins = found.setdefault(table.job.title, {}).setdefault((best.label, common.label, group_words), [])
                    wins.append((cell.factor, size, group.devices))
    lines = []
    for title, pairs in found.items():
        (best, common, group_words), wins = max(pairs.items(), key=lambda item: max(f for f, _, _ in item[1]))
        factors = sorted(factor for factor, _, _ in wins)
        ratio = format_ratio(factors[-1]) if len(factors) == 1 else f"{format_ratio(factors[0])[:-1]}-{format_ratio(factors[-1])}"
        where = ", ".join(filter(None, [_sizes(list(dict.fromkeys(size for _, size, _ in wins))), group_words]))
        devices = ", ".join(dict.fromkeys(d for _, _, ds in wins for d in ds))
        lines.append(((best, common), f"{title.lower()}: {best}, {ratio} faster than the common {common} ({where}; {devices})"))
    return lines


def short(result: Answer, max_lines: int = 8) -> list[str]:
    """The end-of-run lines: each trap that costs something, then each job whose fastest way is not its common idiom.

    One line each, devices merged; a job line that a trap already says (the same two ways) is left out.
    When there are more than `max_lines`, the last line says how many more the report has.
    """
    traps = list(result.traps)
    lines, pairs = [], set()
    for key in dict.fromkeys((t.key, t.slow, t.fast) for t in traps):
        mine = [t for t in traps if (t.key, t.slow, t.fast) == key]
        worst = max(mine, key=lambda t: t.ratio)
        devices = ", ".join(dict.fromkeys(d for t in mine for d in t.devices))
        sizes = _sizes(list(dict.fromkeys(_trap_where(t) for t in mine)))
        lines.append(f"trap: {key[1]}, up to {format_ratio(worst.ratio)} slower than {key[2]} ({sizes}; {devices})")
        pairs.add((key[2], key[1]))
    lines += [line for pair, line in _job_lines(result) if pair not in pairs]
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [f"... {len(lines) - max_lines + 1} more in the report ({TITLE})"]
    return lines

